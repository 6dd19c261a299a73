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
#include <map>
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
  using Chunks = std::map<std::string, Chunk>;

  void on_entry(std::string_view key, const Inode* inode) override;
  void on_chunk_record(std::string_view id, const ChunkRecord* record) override;

  // Takes in up to `limit` more entries of `ns`; true once the whole
  // namespace has been walked.
  Result<bool> load_page(const Namespace& ns, size_t limit);
  bool loaded() const { return loaded_; }

  const Chunk* find(const std::string& id) const;
  const Chunks& chunks() const { return chunks_; }
  // The chunks recorded on `worker` (as keys of chunks()).
  size_t count_on(const std::string& worker) const;
  std::vector<std::string> chunks_on(const std::string& worker) const;
  // Chunks whose own record (replicas, corrupt list, file, replication)
  // changed or appeared since the last call; a change to another chunk of
  // the same file does not count.
  std::vector<std::string> take_changed();

 private:
  void set_file(std::string_view key, const Inode* inode, bool with_corrupt);
  void forget(const std::string& id);
  void link(const std::string& worker, const std::string* id);
  void unlink(const std::string& worker, const std::string* id);

  // Ordered, so a sweep can walk it a piece at a time and resume by key;
  // nodes are stable, so the per-worker sets point at the keys.
  Chunks chunks_;
  std::unordered_map<std::string, std::vector<std::string>> files_;  // entry key -> chunk ids
  std::unordered_map<std::string, std::unordered_set<const std::string*>> workers_;
  std::unordered_set<std::string> changed_;
  std::string cursor_;  // the last entry key load_page took in
  bool loaded_ = false;
};

}  // namespace dfs
