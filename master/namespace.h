// The metadata state machine: the namespace, the workers' addresses, the
// garbage list, uploads in progress and the exactly-once table, kept in
// RocksDB. Every change is a log entry (a Command, codec/commands.h) applied
// in log order, and every rule that decides whether a command succeeds is
// checked here, at apply time, against the state as of that entry: applying
// the same log gives the same state and the same answers on every replica.
// Queries read the current state.
//
// Tree commands are in namespace.cc, uploads in namespace_uploads.cc.
// Not thread-safe: the master's service thread owns it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "codec/commands.h"
#include "master/meta_store.h"
#include "master/sessions.h"
#include "master/upload_table.h"

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
  // Unset in entries stored before permissions: they read as admin's,
  // 0755 for directories and 0644 for files (codec/permissions.h).
  std::string owner;
  std::string group;
  uint32_t mode = kModeUnset;
  std::string etag;  // the content's MD5 when its writer gave one
  DFS_MSGPACK_MAP(id, kind, size, mtime_ms, replication, chunk_size, chunks, owner, group, mode,
                  etag);
  bool is_dir() const { return kind == static_cast<uint8_t>(EntryKind::kDirectory); }
  Ownership ownership() const { return Ownership{owner, group, mode, is_dir()}; }
  Status validate() const { return Status::ok(); }
};

// What the chunks column family stores for each chunk a file references.
struct ChunkRecord {
  std::vector<std::string> corrupt;  // replicas a reader found corrupt
  DFS_MSGPACK_MAP(corrupt);
  Status validate() const { return Status::ok(); }
};

// What applying one command gave: the answer for the client who asked (a
// status, and a reply body when it succeeded) and what the leader should do
// about it. Equal on every replica for the same log.
struct Outcome {
  Status status;
  MsgType reply_type = MsgType::kOkReply;
  std::string reply_body;  // encoded reply_type; empty means OkReply
  // For the leader only: an event to publish, and placements (worker, bytes)
  // that will never be written and can be forgotten now.
  std::optional<ClusterEvent> event;
  std::vector<std::pair<std::string, uint64_t>> released;
};

// A garbage record for chunk `id` on `workers` (size and checksum unknown,
// and irrelevant for deletion).
ChunkInfo garbage_chunk(const std::string& id, std::vector<std::string> workers);

// A master of the group as operators want it (MemberChangeCmd): `wanted`
// is "voter" or "removed". Stored in the meta column family under
// "member/" + be64(id).
struct MemberRecord {
  std::string api;  // host:port
  std::string wanted;
  DFS_MSGPACK_MAP(api, wanted);
  Status validate() const { return Status::ok(); }
};

// A worker as the state machine stores it: its address, and whether it is
// being decommissioned. Stored under the worker's id; read back as a
// WorkerAddr where only the address matters.
struct WorkerRecord {
  std::string id;
  std::string endpoint;
  std::string pipeline;
  bool draining = false;
  std::string key;  // the CURVE public key it last registered with
  DFS_MSGPACK_MAP(id, endpoint, pipeline, draining, key);
  Status validate() const { return Status::ok(); }
};

// Told, after each applied entry is written, of every file or directory
// entry and every chunk record it changed: what the leader's picture of the
// replicas (master/replica_map.h) is kept up to date from.
class NamespaceListener {
 public:
  virtual ~NamespaceListener() = default;
  // The entry stored under `key` (be64 parent inode + name) is now `inode`,
  // or gone (nullptr).
  virtual void on_entry(std::string_view key, const Inode* inode) = 0;
  // Chunk `id`'s record is now `record`, or gone (nullptr: no file
  // references the chunk).
  virtual void on_chunk_record(std::string_view id, const ChunkRecord* record) = 0;
};

class Namespace {
 public:
  // With `sync_writes` every applied entry is fsynced; without, nothing is
  // logged twice: applied entries reach the disk with RocksDB's flushes, and
  // a crash loses the newest ones for the durable Raft log to replay (a
  // snapshot's checkpoint flushes first, so the log keeps everything after
  // what is on disk).
  static Result<std::unique_ptr<Namespace>> open(const std::string& dir, bool sync_writes = true);

  // Applies log entry `index` (> applied_index()): `data` is an encoded
  // Command. A command that cannot apply (no such parent, already exists...)
  // answers its error and changes nothing but the applied index and the
  // client's exactly-once record; an entry that does not decode answers
  // kProtocol, the same on every replica. An I/O error or stored state that
  // fails its checks aborts the process: skipping an entry is how replicas
  // diverge.
  Outcome apply_entry(uint64_t index, std::string_view data);
  Outcome apply(uint64_t index, const Command& cmd);
  // A command with no client and no time, at `index`: for tests and tools.
  Status apply(uint64_t index, MsgType type, std::string_view body);
  uint64_t applied_index() const { return applied_index_; }

  const UploadTable& uploads() const { return uploads_; }
  // Uploads in progress that `who` may see (UploadsRequest).
  Result<UploadsReply> list_uploads(const Caller& who, const UploadsRequest& req) const;
  // The answer already given to a request with this session, if it applied
  // (or was overtaken by a newer one of the same client): a retry gets it
  // without being planned again.
  // Only `who`'s own sessions are answered.
  std::optional<Outcome> answered(const RequestSession& session, const Caller& who) const;
  uint64_t upload_count() const { return counters_.uploads; }
  // The masters operators added or removed, by id (the founders, named by
  // flags, appear only once changed).
  const std::map<uint64_t, MemberRecord>& members() const { return members_; }
  // SHA-256 over the whole stored state (replicas that applied the same log
  // have the same digest).
  std::string digest() const { return store_->digest(); }
  // The whole state as of applied_index(), copied into `dir` (a snapshot).
  Status checkpoint(const std::string& dir) { return store_->checkpoint(dir); }

  // The entry at `path` (the root included), with a file's chunks.
  Result<Inode> lookup(const std::string& path) const;
  // The same, if `who` may search every directory above it and has `want`
  // (kMay* bits, or 0) on it: kPermissionDenied otherwise.
  Result<Inode> accessible(const Caller& who, const std::string& path, uint8_t want) const;
  // What list and stat show of an entry.
  static EntryInfo entry_info(const std::string& name, const Inode& inode);
  // Entries of directory `path` whose names start with `prefix` and sort
  // after `start_after`, at most `limit`; *more says whether any remain.
  Result<std::vector<EntryInfo>> list(const std::string& path, const std::string& prefix,
                                      const std::string& start_after, size_t limit,
                                      bool* more) const;

  std::vector<WorkerAddr> workers() const;
  std::optional<WorkerAddr> worker(const std::string& id) const;
  // Workers being decommissioned (WorkerDrainCmd), kept in memory.
  const std::set<std::string>& draining() const { return draining_; }
  // The keyring's changes made through the log (KeyAddCmd, KeyRevokeCmd),
  // versioned by the index of the latest.
  const KeyringUpdate& log_keys() const { return log_keys_; }
  bool is_draining(const std::string& id) const { return draining_.count(id) > 0; }
  // Whether an upload was last active before `upload_cutoff_ms`, or a
  // client's exactly-once record before `session_cutoff_ms`.
  bool has_expired(int64_t upload_cutoff_ms, int64_t session_cutoff_ms,
                   int64_t lease_cutoff_ms = 0) const;
  // Chunks to delete, by worker, at most `limit` per worker.
  std::map<std::string, std::vector<std::string>> garbage(size_t limit) const;
  uint64_t garbage_count() const;
  // The entry stored under (parent inode, name), if any.
  Result<std::optional<Inode>> entry(uint64_t parent, const std::string& name) const {
    return child(parent, name);
  }
  // Calls fn(key, inode) for entries (files and directories) whose keys
  // sort after `after`, in key order, until the costs fn returns (at least 1
  // each) reach `budget`. Returns the last key visited, or "" when no entry
  // is left: a caller walks the whole namespace a page at a time.
  Result<std::string> scan_entries(
      const std::string& after, size_t budget,
      const std::function<size_t(std::string_view, const Inode&)>& fn) const;
  // Whether chunk `chunk_id` on `worker` waits to be deleted there.
  bool garbage_pending(const std::string& worker, const std::string& chunk_id) const;
  // `listener` (or nullptr) hears of every change from now on.
  void set_listener(NamespaceListener* listener) { listener_ = listener; }
  // Whether a committed file references chunk `id`.
  bool references_chunk(const std::string& id) const;
  // Sets each chunk's `corrupt` list from the chunks index.
  void fill_corrupt(Inode* inode) const;
  // Calls fn(path, inode) for the file at `path` or every file under the
  // directory at `path`, until fn returns false.
  Status for_each_file(const std::string& path,
                       const std::function<bool(const std::string&, const Inode&)>& fn) const;
  uint64_t file_count() const { return counters_.files; }
  uint64_t directory_count() const { return counters_.dirs; }

 private:
  Namespace(std::unique_ptr<MetaStore> store, bool sync_writes);
  Status load_counters();
  void save_counters(rocksdb::WriteBatch* batch, uint64_t index);
  // Runs the command into batch; the caller keeps the batch only on success.
  Outcome run(const Command& cmd, rocksdb::WriteBatch* batch);
  Status load_root();

  struct Located {
    uint64_t parent = 0;
    std::string name;
    Inode inode;
  };
  // Walks `path` from the root, or from its parent when that directory's id
  // is remembered from an earlier walk.
  Result<Located> locate(const std::string& path) const;
  // The directory inode at `path`: kNotFound / kNotADirectory otherwise.
  Result<uint64_t> directory_id(const std::string& path) const;
  Result<std::optional<Inode>> child(uint64_t parent, const std::string& name) const;

  // Each returns the error of a command that cannot apply, writing into batch.
  Status apply_mkdir(const MkdirCmd& cmd, const Caller& who, rocksdb::WriteBatch* batch);
  Status apply_commit(const CommitFileCmd& cmd, const Caller& who, rocksdb::WriteBatch* batch);
  Status apply_delete(const DeleteCmd& cmd, const Caller& who, rocksdb::WriteBatch* batch);
  Status apply_rename(const RenameCmd& cmd, const Caller& who, rocksdb::WriteBatch* batch);
  Status apply_set_attr(const SetAttrCmd& cmd, const Caller& who, rocksdb::WriteBatch* batch);
  Status apply_gc_done(const GcDoneCmd& cmd, rocksdb::WriteBatch* batch);
  Status apply_add_garbage(const AddGarbageCmd& cmd, rocksdb::WriteBatch* batch);
  Status apply_mark_bad(const MarkReplicaBadCmd& cmd, const Caller& who, rocksdb::WriteBatch* batch,
                        Outcome* out);
  Status apply_collect_orphans(const CollectOrphansCmd& cmd, rocksdb::WriteBatch* batch);
  // Repairs (namespace_replicas.cc).
  Status apply_replica_added(const ReplicaAddedCmd& cmd, rocksdb::WriteBatch* batch, Outcome* out);
  Status apply_replica_dropped(const ReplicaDroppedCmd& cmd, rocksdb::WriteBatch* batch,
                               Outcome* out);
  // The file at (parent, name) and its chunk `chunk_id`: kNotFound when the
  // entry is gone, is not a file, or no longer holds the chunk.
  // Removes `workers` from the chunk's corrupt marks, writing the record
  // back only if that changed it.
  void forget_corrupt(const std::string& chunk_id, ChunkRecord* record,
                      const std::vector<std::string>& workers, rocksdb::WriteBatch* batch);
  Result<Inode> file_with_chunk(uint64_t parent, const std::string& name,
                                const std::string& chunk_id, size_t* position) const;
  Result<ChunkRecord> chunk_record(const std::string& id) const;
  // Checks that `who` may write a file at `path` (its parent is a
  // directory they may write in; an existing file only with overwrite, and
  // only if they may write it): the parent, and in *old the file it replaces.
  Result<Inode> writable(const Caller& who, const std::string& path, bool overwrite,
                         std::optional<Inode>* old) const;

  // Uploads (namespace_uploads.cc).
  Status apply_create_upload(const CreateUploadCmd& cmd, const Caller& who, int64_t now_ms,
                             rocksdb::WriteBatch* batch, Outcome* out);
  // Whether `cmd` may allocate a chunk to `upload`; then records it.
  Status check_allocation(const AllocateChunkCmd& cmd, const UploadRecord& upload) const;
  void add_allocation(rocksdb::WriteBatch* batch, const AllocateChunkCmd& cmd);
  Status apply_allocate(const AllocateChunkCmd& cmd, const Caller& who, int64_t now_ms,
                        rocksdb::WriteBatch* batch, Outcome* out);
  Status apply_commit_upload(const CommitUploadCmd& cmd, const Caller& who, int64_t now_ms,
                             rocksdb::WriteBatch* batch, Outcome* out);
  // A lease's slot committed as a file of its own (CommitUploadCmd.path).
  Status apply_commit_slot(const CommitUploadCmd& cmd, const Caller& who, int64_t now_ms,
                           const UploadRecord& lease, rocksdb::WriteBatch* batch, Outcome* out);
  // A chunk of upload `upload_id` as its pipeline stored it: allocated to
  // the upload, of the allocated size (of at most it, for a lease's slot),
  // on enough distinct pipeline workers.
  Status check_upload_chunk(const std::string& upload_id, const UploadRecord& upload,
                            const ChunkInfo& chunk) const;
  Status apply_chunk_written(const ChunkWrittenCmd& cmd, const Caller& who, int64_t now_ms,
                             rocksdb::WriteBatch* batch);
  Status apply_part_written(const PartWrittenCmd& cmd, const Caller& who, int64_t now_ms,
                            rocksdb::WriteBatch* batch, Outcome* out);
  // The chunks a commit makes the file of, numbered from 0 and checked.
  Result<std::vector<ChunkInfo>> commit_chunks(const CommitUploadCmd& cmd,
                                               const UploadRecord& upload) const;
  Result<std::vector<ChunkInfo>> commit_parts(const CommitUploadCmd& cmd,
                                              const UploadRecord& upload) const;
  Status apply_abort_upload(const AbortUploadCmd& cmd, const Caller& who,
                            rocksdb::WriteBatch* batch, Outcome* out);
  // The upload `id`, if `who` started it (or is the superuser).
  Result<UploadRecord> own_upload(const Caller& who, const std::string& id) const;
  Status apply_expire(const ExpireCmd& cmd, int64_t now_ms, rocksdb::WriteBatch* batch,
                      Outcome* out);
  Status apply_member_change(const MemberChangeCmd& cmd, rocksdb::WriteBatch* batch, Outcome* out);
  Status apply_register_worker(const RegisterWorkerCmd& cmd, rocksdb::WriteBatch* batch);
  Status apply_worker_drain(const WorkerDrainCmd& cmd, rocksdb::WriteBatch* batch, Outcome* out);
  // Leave the changed keyring in new_keys_, which apply() stores and takes
  // in once the entry's index is known.
  Status apply_key_add(const KeyAddCmd& cmd, Outcome* out);
  Status apply_key_revoke(const KeyRevokeCmd& cmd, Outcome* out);
  // Removes the upload; its allocated chunks not in `keep` become garbage.
  void drop_upload(rocksdb::WriteBatch* batch, const std::string& id, const UploadRecord& record,
                   const std::vector<ChunkInfo>& keep, Outcome* out);

  void put_entry(rocksdb::WriteBatch* batch, uint64_t parent, const std::string& name,
                 const Inode& inode);
  // Marks the chunks' replicas for deletion; they are no longer referenced.
  void add_garbage(rocksdb::WriteBatch* batch, const std::vector<ChunkInfo>& chunks);
  // Deletes the subtree under directory `dir` (at `path`) into batch,
  // counting removals; `who` must be allowed to empty every directory in it.
  Status delete_children(const Caller& who, rocksdb::WriteBatch* batch, const Inode& dir,
                         const std::string& path, uint64_t* files, uint64_t* dirs);

  std::unique_ptr<MetaStore> store_;
  bool sync_writes_;
  UploadTable uploads_;
  Sessions sessions_;
  uint64_t applied_index_ = 0;
  // Kept in memory, saved with every entry, restored when a command fails.
  struct Counters {
    uint64_t next_inode = 2;  // 1 is the root
    uint64_t files = 0;
    uint64_t dirs = 0;
    uint64_t uploads = 0;
  };
  Counters counters_;
  // Directory ids by path, from earlier walks: a create or stat then reads
  // one key instead of one per component. Forgotten whenever a directory
  // is renamed or deleted (ids of the paths under it change), and all at
  // once when full. A cache of stored state only: replicas stay identical.
  static constexpr size_t kMaxCachedDirs = 65536;
  mutable std::unordered_map<std::string, uint64_t> dir_ids_;
  // Entries as decoded, by key, from earlier reads and writes: a stat reads
  // no table and decodes nothing. Every key a written batch puts or deletes
  // is set to what the batch left in it as the batch is written (write()),
  // so the cache never differs from the store. Files with many chunks are
  // not kept (each hit copies the entry). When full, an arbitrary entry
  // makes room (forgetting all at once would make a scan of one more entry
  // than fits miss every time). About 200 bytes an entry.
  static constexpr size_t kMaxCachedEntries = 1 << 17;
  static constexpr size_t kMaxCachedChunks = 64;
  static constexpr size_t kMaxCachedEntryBytes = 16 << 10;
  mutable std::unordered_map<std::string, Inode> entries_;
  mutable uint64_t evict_cursor_ = 0;
  void remember(std::string key, Inode inode) const;
  // Writes `batch` to the store and brings the cached entries it touches
  // up to date.
  void write(rocksdb::WriteBatch* batch);
  NamespaceListener* listener_ = nullptr;
  bool legacy_counters_ = false;              // stored one key each, as older stores did
  std::map<uint64_t, MemberRecord> members_;  // a copy of what is stored, kept in step
  std::set<std::string> draining_;            // the same, of the workers' drain flags
  Inode root_;              // the root directory: its id, and its owner, group and mode once set
  KeyringUpdate log_keys_;  // a copy of what is stored
  std::optional<KeyringUpdate> new_keys_;  // set by the command being applied
};

}  // namespace dfs
