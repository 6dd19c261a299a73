// The metadata state machine: the namespace, the workers' addresses and the
// garbage list, kept in RocksDB. Every change is a command (codec/commands.h)
// applied in log order; applying the same commands in the same order gives the
// same state on every replica. Queries read the current state.
//
// Not thread-safe: the master's service thread owns it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "codec/commands.h"
#include "master/meta_store.h"

namespace dfs {

// What the inodes column family stores for each directory entry.
struct Inode {
  uint64_t id = 0;
  uint8_t kind = static_cast<uint8_t>(EntryKind::kFile);
  uint64_t size = 0;
  int64_t mtime_ms = 0;
  uint32_t replication = 0;
  uint64_t chunk_size = 0;
  std::vector<ChunkInfo> chunks;
  MSGPACK_DEFINE_MAP(id, kind, size, mtime_ms, replication, chunk_size, chunks);
  bool is_dir() const { return kind == static_cast<uint8_t>(EntryKind::kDirectory); }
  Status validate() const { return Status::ok(); }
};

// What the chunks column family stores for each chunk a file references.
struct ChunkRecord {
  std::vector<std::string> corrupt;  // replicas a reader found corrupt
  MSGPACK_DEFINE_MAP(corrupt);
  Status validate() const { return Status::ok(); }
};

class Namespace {
 public:
  static Result<std::unique_ptr<Namespace>> open(const std::string& dir);

  // Applies one command at log position `index` (> applied_index()). A
  // command that cannot apply (no such parent, already exists...) returns
  // its error and changes nothing but the applied index.
  Status apply(uint64_t index, MsgType type, std::string_view body);
  uint64_t applied_index() const { return applied_index_; }

  // The entry at `path` (the root included), with a file's chunks.
  Result<Inode> lookup(const std::string& path) const;
  // Entries of directory `path` whose names start with `prefix` and sort
  // after `start_after`, at most `limit`; *more says whether any remain.
  Result<std::vector<EntryInfo>> list(const std::string& path, const std::string& prefix,
                                      const std::string& start_after, size_t limit,
                                      bool* more) const;

  std::vector<WorkerAddr> workers() const;
  // Chunks to delete, by worker, at most `limit` per worker.
  std::map<std::string, std::vector<std::string>> garbage(size_t limit) const;
  uint64_t garbage_count() const;
  // Whether a committed file references chunk `id`.
  bool references_chunk(const std::string& id) const;
  // Sets each chunk's `corrupt` list from the chunks index.
  void fill_corrupt(Inode* inode) const;
  // Calls fn(path, inode) for the file at `path` or every file under the
  // directory at `path`, until fn returns false.
  Status for_each_file(const std::string& path,
                       const std::function<bool(const std::string&, const Inode&)>& fn) const;
  uint64_t file_count() const { return files_; }
  uint64_t directory_count() const { return dirs_; }

 private:
  explicit Namespace(std::unique_ptr<MetaStore> store);
  Status load_counters();

  struct Located {
    uint64_t parent = 0;
    std::string name;
    Inode inode;
  };
  Result<Located> locate(const std::string& path) const;
  // The directory inode at `path`: kNotFound / kNotADirectory otherwise.
  Result<uint64_t> directory_id(const std::string& path) const;
  Result<std::optional<Inode>> child(uint64_t parent, const std::string& name) const;

  // Each returns the error of a command that cannot apply, writing into batch.
  Status apply_mkdir(const MkdirCmd& cmd, rocksdb::WriteBatch* batch);
  Status apply_commit(const CommitFileCmd& cmd, rocksdb::WriteBatch* batch);
  Status apply_delete(const DeleteCmd& cmd, rocksdb::WriteBatch* batch);
  Status apply_rename(const RenameCmd& cmd, rocksdb::WriteBatch* batch);
  Status apply_gc_done(const GcDoneCmd& cmd, rocksdb::WriteBatch* batch);
  Status apply_add_garbage(const AddGarbageCmd& cmd, rocksdb::WriteBatch* batch);
  Status apply_mark_bad(const MarkReplicaBadCmd& cmd, rocksdb::WriteBatch* batch);
  Result<ChunkRecord> chunk_record(const std::string& id) const;

  void put_entry(rocksdb::WriteBatch* batch, uint64_t parent, const std::string& name,
                 const Inode& inode);
  // Marks the chunks' replicas for deletion; they are no longer referenced.
  void add_garbage(rocksdb::WriteBatch* batch, const std::vector<ChunkInfo>& chunks);
  // Deletes the subtree under directory `dir` into batch, counting removals.
  Status delete_children(rocksdb::WriteBatch* batch, uint64_t dir, uint64_t* files, uint64_t* dirs);

  std::unique_ptr<MetaStore> store_;
  uint64_t applied_index_ = 0;
  uint64_t next_inode_ = 2;  // 1 is the root
  uint64_t files_ = 0;
  uint64_t dirs_ = 0;
};

}  // namespace dfs
