// The leader's picture of where every committed chunk lives: for each chunk,
// the file entry that holds it, its replication and its recorded replicas
// (good and corrupt); for each worker, the chunks recorded on it. It is what
// repair starts from when a worker dies.
//
// Leader memory only, never replicated: built when a master starts to lead,
// by walking the namespace a page at a time (load_page), and kept in step
// from then on by the namespace itself, which tells it of every entry and
// chunk record each applied command changes (NamespaceListener). A page and
// a change both set a file's chunks to what the store holds at that moment,
// so they may arrive in any order.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "master/namespace.h"

namespace dfs {

class ReplicaMap : public NamespaceListener {
 public:
  struct Chunk {
    std::string entry;  // the key of the file's entry (be64 parent + name)
    uint32_t replication = 0;
    std::vector<std::string> replicas;  // as the log records them
    std::vector<std::string> corrupt;   // replicas found corrupt or missing
    // When the leader learned of its current record: an inventory listed
    // before then may rightly lack a new replica.
    std::chrono::steady_clock::time_point changed_at;
  };
  using Chunks = std::unordered_map<std::string, Chunk>;
  // Where a sweep over every chunk stands (see sweep()).
  struct SweepPosition {
    size_t bucket = 0;
    size_t buckets = 0;  // the table's size when the sweep began
  };

  void on_entry(std::string_view key, const Inode* inode) override;
  void on_chunk_record(std::string_view id, const ChunkRecord* record) override;

  // Takes in more entries of `ns`, about `budget` chunks' worth (an entry
  // counts as one more); true once the whole namespace has been walked.
  // What the walk takes in is not reported by take_changed(): whoever waits
  // for the walk looks at everything once it is done.
  Result<bool> load_page(const Namespace& ns, size_t budget);
  bool loaded() const { return loaded_; }

  const Chunk* find(const std::string& id) const;
  const Chunks& chunks() const { return chunks_; }
  // Calls fn(id) for about `budget` chunks from `*pos` on and moves `*pos`
  // past them; true once every chunk has been passed. A chunk added during
  // the sweep may be missed (its change is reported by take_changed()), and
  // if the table grew, the sweep starts over, so none present throughout is
  // missed. fn must not change the map.
  template <typename Fn>
  bool sweep(SweepPosition* pos, size_t budget, Fn&& fn) const {
    if (pos->buckets != chunks_.bucket_count()) *pos = {0, chunks_.bucket_count()};
    size_t seen = 0;
    for (; pos->bucket < pos->buckets && seen < budget; ++pos->bucket) {
      for (auto it = chunks_.begin(pos->bucket); it != chunks_.end(pos->bucket); ++it, ++seen) {
        fn(it->first);
      }
    }
    return pos->bucket >= pos->buckets;
  }
  // The chunks recorded on `worker` (as keys of chunks()).
  size_t count_on(const std::string& worker) const;
  std::vector<std::string> chunks_on(const std::string& worker) const;
  // Calls fn(id, chunk) for every chunk recorded on `worker`, in no order,
  // until fn returns false. fn must not change the map.
  template <typename Fn>
  void for_each_on(const std::string& worker, Fn&& fn) const {
    auto it = workers_.find(worker);
    if (it == workers_.end()) return;
    for (const Chunks::value_type* c : it->second) {
      if (!fn(c->first, c->second)) return;
    }
  }
  // Chunks whose own record (replicas, corrupt list, file, replication)
  // changed or appeared through an applied change since the last call; a
  // change to another chunk of the same file does not count, nor does what
  // the walk loads.
  std::vector<std::string> take_changed();

 private:
  // `walked`: from the walk (corrupt lists read with it; not reported as changed).
  void set_file(std::string_view key, const Inode* inode, bool walked);
  void forget(const std::string& id);
  void link(const std::string& worker, const Chunks::value_type* chunk);
  void unlink(const std::string& worker, const Chunks::value_type* chunk);

  // Nodes are stable, so the per-worker sets point at them; a sweep walks
  // the table bucket by bucket.
  Chunks chunks_;
  std::unordered_map<std::string, std::vector<std::string>> files_;  // entry key -> chunk ids
  std::unordered_map<std::string, std::unordered_set<const Chunks::value_type*>> workers_;
  std::unordered_set<std::string> changed_;
  std::string cursor_;  // the last entry key load_page took in
  bool loaded_ = false;
};

}  // namespace dfs
