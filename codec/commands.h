// Commands of the metadata state machine: each one is a log entry (Raft, once
// the masters replicate) applied in order by master/namespace. Everything an
// application needs is inside the command -- timestamps included -- so every
// replica that applies the same log reaches the same state.
#pragma once

#include "codec/codec.h"
#include "codec/messages.h"

namespace dfs {

// One log entry of the metadata state machine: a command (one of the *Cmd
// types below, encoded), who asked for it (exactly-once), and the proposing
// leader's wall clock, which drives every time-based rule (upload and
// session expiry) so that replicas agree on it.
struct Command {
  uint16_t type = 0;  // MsgType of `body`
  std::string body;
  RequestSession session;
  int64_t time_ms = 0;
  // Whom the leader established the request came from (from its key):
  // what the state machine checks permissions against.
  Caller caller;
  DFS_MSGPACK_MAP(type, body, session, time_ms, caller);
  Status validate() const;
  MsgType msg_type() const { return static_cast<MsgType>(type); }
};

// A log entry holding `cmd`.
template <typename Cmd>
Command make_command(const Cmd& cmd, int64_t time_ms, RequestSession session = {}) {
  return Command{static_cast<uint16_t>(Cmd::kType), encode(cmd), session, time_ms, Caller{}};
}

struct MkdirCmd {
  static constexpr MsgType kType = MsgType::kMkdirCmd;
  std::string path;
  bool parents = false;
  int64_t mtime_ms = 0;
  uint32_t mode = kModeUnset;  // of each directory made (unset: 0755)
  DFS_MSGPACK_MAP(path, parents, mtime_ms, mode);
  Status validate() const;
};

// Makes a fully written file visible at `path`, whole, in one step.
struct CommitFileCmd {
  static constexpr MsgType kType = MsgType::kCommitFileCmd;
  std::string path;
  bool overwrite = false;  // replace an existing file (its chunks become garbage)
  uint64_t size = 0;
  uint64_t chunk_size = 0;
  uint32_t replication = 0;
  std::vector<ChunkInfo> chunks;
  int64_t mtime_ms = 0;
  uint32_t mode = kModeUnset;  // of a new file (unset: 0644); an overwrite keeps the old one's
  std::string etag;            // see CommitUploadRequest
  DFS_MSGPACK_MAP(path, overwrite, size, chunk_size, replication, chunks, mtime_ms, mode, etag);
  Status validate() const;
};

struct DeleteCmd {
  static constexpr MsgType kType = MsgType::kDeleteCmd;
  std::string path;
  bool recursive = false;
  DFS_MSGPACK_MAP(path, recursive);
  Status validate() const;
};

struct RenameCmd {
  static constexpr MsgType kType = MsgType::kRenameCmd;
  std::string src;
  std::string dst;
  int64_t mtime_ms = 0;
  bool replace = false;  // a file at dst is replaced; its chunks become garbage
  DFS_MSGPACK_MAP(src, dst, mtime_ms, replace);
  Status validate() const;
};

struct RegisterWorkerCmd {
  static constexpr MsgType kType = MsgType::kRegisterWorkerCmd;
  WorkerAddr worker;
  DFS_MSGPACK_MAP(worker);
  Status validate() const { return worker.validate(); }
};

// The masters' membership as operators want it: master `id` (at `api`,
// host:port) is to be a voter ("add") or gone ("remove"). Replicated state;
// the leader turns it into Raft membership changes, one at a time.
struct MemberChangeCmd {
  static constexpr MsgType kType = MsgType::kMemberChangeCmd;
  std::string op;
  uint64_t id = 0;
  std::string api;
  DFS_MSGPACK_MAP(op, id, api);
  Status validate() const;
};

// The worker reported these chunks gone: forget them as garbage.
struct GcDoneCmd {
  static constexpr MsgType kType = MsgType::kGcDoneCmd;
  std::string worker_id;
  std::vector<std::string> chunk_ids;
  DFS_MSGPACK_MAP(worker_id, chunk_ids);
  Status validate() const;
};

// Chunks written for an upload that never committed: remove them from workers.
struct AddGarbageCmd {
  static constexpr MsgType kType = MsgType::kAddGarbageCmd;
  std::vector<ChunkInfo> chunks;
  DFS_MSGPACK_MAP(chunks);
  Status validate() const;
};

// A reader found the copy of `chunk_id` on `worker_id` corrupt: it no longer
// counts as a good replica. The copy is kept until the chunk is repaired.
struct MarkReplicaBadCmd {
  static constexpr MsgType kType = MsgType::kMarkReplicaBadCmd;
  std::string chunk_id;
  std::string worker_id;
  std::string path;  // the file the reader was reading: it must still hold the chunk there
  std::string reason;
  // Or the file's entry (as in ReplicaAddedCmd), from the leader's own finds:
  // the copy must still be recorded there. Neither: only the chunk must exist.
  uint64_t parent = 0;
  std::string name;
  DFS_MSGPACK_MAP(chunk_id, worker_id, path, reason, parent, name);
  Status validate() const;
};

}  // namespace dfs

namespace dfs {

// A chunk placed ahead in a lease (CreateUploadCmd.slots).
struct ChunkSlot {
  std::string chunk_id;
  std::vector<WorkerAddr> pipeline;
  DFS_MSGPACK_MAP(chunk_id, pipeline);
  Status validate() const;
};

// Starts an upload of a file to `path`, or a lease of `slots` (path empty);
// the leader chose `upload_id`.
struct CreateUploadCmd {
  static constexpr MsgType kType = MsgType::kCreateUploadCmd;
  std::string upload_id;
  std::string path;
  uint64_t chunk_size = 0;
  uint32_t replication = 0;
  uint32_t min_replication = 0;
  bool overwrite = false;
  uint64_t max_uploads = 0;    // refuse when this many are in progress
  uint32_t mode = kModeUnset;  // of the file it makes
  bool multipart = false;      // see CreateUploadRequest
  // Chunk 0, allocated with the upload (CreateUploadRequest.first_chunk_size):
  // as an AllocateChunkCmd's fields; first_chunk_id empty: none.
  std::string first_chunk_id;
  uint64_t first_chunk_size = 0;
  std::vector<WorkerAddr> first_pipeline;
  // A lease (CreateUploadRequest.slots): each slot of first_chunk_size bytes.
  std::vector<ChunkSlot> slots;
  DFS_MSGPACK_MAP(upload_id, path, chunk_size, replication, min_replication, overwrite, max_uploads,
                  mode, multipart, first_chunk_id, first_chunk_size, first_pipeline, slots);
  Status validate() const;
};

// Records that chunk `chunk_id` of `size` bytes of the upload goes to
// `pipeline`, as the leader placed it.
struct AllocateChunkCmd {
  static constexpr MsgType kType = MsgType::kAllocateChunkCmd;
  std::string upload_id;
  std::string chunk_id;
  uint64_t size = 0;
  std::vector<WorkerAddr> pipeline;
  uint64_t index = 0;  // the chunk's place in the file
  DFS_MSGPACK_MAP(upload_id, chunk_id, size, pipeline, index);
  Status validate() const;
};

// Makes the upload's file visible, whole, if its chunks are the ones the
// upload was allocated, of the right sizes, on enough of their pipeline.
// Empty `chunks`: the ones marked written (ChunkWrittenCmd).
struct CommitUploadCmd {
  static constexpr MsgType kType = MsgType::kCommitUploadCmd;
  std::string upload_id;
  uint64_t size = 0;
  std::vector<ChunkInfo> chunks;
  std::string etag;
  std::vector<PartRef> parts;  // a multipart upload's, in the file's order
  // A lease's slot, committed as a file of its own (CommitUploadRequest.path).
  std::string path;
  bool overwrite = false;
  uint32_t mode = kModeUnset;
  DFS_MSGPACK_MAP(upload_id, size, chunks, etag, parts, path, overwrite, mode);
  Status validate() const;
};

// Marks chunk `chunk.index` of the upload written (ChunkWrittenRequest).
struct ChunkWrittenCmd {
  static constexpr MsgType kType = MsgType::kChunkWrittenCmd;
  std::string upload_id;
  ChunkInfo chunk;
  DFS_MSGPACK_MAP(upload_id, chunk);
  Status validate() const;
};

// Records part `number` of a multipart upload (PartWrittenRequest).
struct PartWrittenCmd {
  static constexpr MsgType kType = MsgType::kPartWrittenCmd;
  std::string upload_id;
  uint32_t number = 0;
  std::string etag;
  std::vector<ChunkInfo> chunks;
  DFS_MSGPACK_MAP(upload_id, number, etag, chunks);
  Status validate() const;
};

struct AbortUploadCmd {
  static constexpr MsgType kType = MsgType::kAbortUploadCmd;
  std::string upload_id;
  DFS_MSGPACK_MAP(upload_id);
  Status validate() const;
};

// Drops uploads idle for `upload_idle_ms` and exactly-once records idle for
// `session_idle_ms`, as of the command's time.
struct ExpireCmd {
  static constexpr MsgType kType = MsgType::kExpireCmd;
  int64_t upload_idle_ms = 0;
  int64_t session_idle_ms = 0;
  // A lease of slots idle this long expires (0: like any upload). Shorter:
  // clients drop a slot they kept unused for long, and never say so.
  int64_t lease_idle_ms = 0;
  DFS_MSGPACK_MAP(upload_idle_ms, session_idle_ms, lease_idle_ms);
  Status validate() const;
};

// A worker reported holding these chunks: those that no file references and
// no upload in progress was allocated, as of applying this, become garbage.
struct CollectOrphansCmd {
  static constexpr MsgType kType = MsgType::kCollectOrphansCmd;
  std::string worker_id;
  std::vector<std::string> chunk_ids;
  DFS_MSGPACK_MAP(worker_id, chunk_ids);
  Status validate() const;
};

// Repairs: the file whose entry is (`parent`, `name`) -- its directory's
// inode and its name, which stay the same when a directory above is renamed
// -- holds chunk `chunk_id`. Applied only if it still does, so a repair that
// races a delete, a rename or an overwrite changes nothing.

// A repair copied the chunk onto `workers`, which stored and verified it:
// they count as replicas from now on.
struct ReplicaAddedCmd {
  static constexpr MsgType kType = MsgType::kReplicaAddedCmd;
  uint64_t parent = 0;
  std::string name;
  std::string chunk_id;
  std::vector<std::string> workers;
  DFS_MSGPACK_MAP(parent, name, chunk_id, workers);
  Status validate() const;
};

// The copy of the chunk on `worker_id` goes (surplus, corrupt, missing, or
// on a worker long dead): it stops counting and is deleted from the worker.
// Refused if no good replica would be left. A worker that holds the chunk
// without being recorded (a stray copy) has that copy deleted.
struct ReplicaDroppedCmd {
  static constexpr MsgType kType = MsgType::kReplicaDroppedCmd;
  uint64_t parent = 0;
  std::string name;
  std::string chunk_id;
  std::string worker_id;
  std::string reason;
  // Only a copy nothing records (a stray): refused if the worker is recorded
  // by the time this applies.
  bool stray_only = false;
  DFS_MSGPACK_MAP(parent, name, chunk_id, worker_id, reason, stray_only);
  Status validate() const;
};

// Worker `worker_id` is being decommissioned (draining) or is back in
// service. A draining worker is given no new chunk; its copies still serve
// reads and act as repair sources, but no longer count toward a chunk's
// factor, so the leader copies each elsewhere and then drops it there.
// Refused for a worker never registered.
struct WorkerDrainCmd {
  static constexpr MsgType kType = MsgType::kWorkerDrainCmd;
  std::string worker_id;
  bool draining = true;
  DFS_MSGPACK_MAP(worker_id, draining);
  Status validate() const;
};

// Sets what SetAttrRequest names on the entry at `path`, if the caller may.
struct SetAttrCmd {
  static constexpr MsgType kType = MsgType::kSetAttrCmd;
  std::string path;
  uint32_t mode = kModeUnset;
  std::string owner;
  std::string group;
  DFS_MSGPACK_MAP(path, mode, owner, group);
  Status validate() const;
};

// Admits the key of keyring line `line` (dfs admin keys add). Refused if
// the log has the key already; a key revoked before is admitted again.
struct KeyAddCmd {
  static constexpr MsgType kType = MsgType::kKeyAddCmd;
  std::string line;
  DFS_MSGPACK_MAP(line);
  Status validate() const;
};

// Refuses public key `key` from now on, wherever it is listed (dfs admin
// keys revoke). A key only the log added just leaves the log's list; one a
// keyring file lists (as the leader's file did: `in_file`) is kept among the
// revoked, so the file's line no longer counts.
struct KeyRevokeCmd {
  static constexpr MsgType kType = MsgType::kKeyRevokeCmd;
  std::string key;
  bool in_file = true;
  DFS_MSGPACK_MAP(key, in_file);
  Status validate() const;
};

}  // namespace dfs
