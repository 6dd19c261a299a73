// Every message dfs exchanges, as plain structs with their msgpack encoding
// (maps keyed by field name, so fields can be added without breaking peers).
// codec/PROTOCOL.md says who sends each one and what answers it.
//
// validate() checks what decoding cannot: sizes, id syntax, normal paths. A
// decoded message is only used after validate() returned ok (codec/codec.h
// does both).
#pragma once

#ifndef MSGPACK_NO_BOOST
#define MSGPACK_NO_BOOST
#endif
#include <msgpack.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "codec/map_fields.h"
#include "codec/msg_type.h"
#include "codec/permissions.h"
#include "codec/status.h"

namespace dfs {

inline constexpr size_t kMaxFrameBytes = 1 << 20;      // one data frame
inline constexpr uint64_t kMaxChunkSize = 1ull << 30;  // 1 GiB
inline constexpr uint64_t kMinChunkSize = 1 << 16;     // 64 KiB
inline constexpr uint32_t kMaxReplication = 16;
// The most chunk slots one lease may hold, and the largest slot
// (CreateUploadRequest.slots): a lease is for small files.
inline constexpr uint32_t kMaxSlotsPerLease = 64;
inline constexpr uint64_t kMaxSlotBytes = 1 << 20;
inline constexpr size_t kMaxListPage = 10000;
inline constexpr size_t kMaxChunksPerFile = 1 << 22;
inline constexpr size_t kMaxEtagBytes = 80;  // an MD5, or S3's multipart form
inline constexpr size_t kMaxIdsPerMessage = 100000;
inline constexpr size_t kMaxUploadChunksListed = 100000;
// Multipart uploads (S3's): parts are numbered 1..kMaxParts, and part N's
// chunks are allocated at indexes [N * kPartIndexStride, ...), so a part
// has at most kPartIndexStride chunks. The commit lays the parts' chunks
// end to end, numbered from 0.
inline constexpr uint32_t kMaxParts = 10000;
inline constexpr uint64_t kPartIndexStride = 400;
inline constexpr size_t kMaxPartsListed = 1000;
// A multipart upload's chunks are at least this big, so that S3's largest
// part (5 GiB) fits its kPartIndexStride chunks.
inline constexpr uint64_t kMinMultipartChunkSize = 16 << 20;
// Workers keep a CRC-32C of each block of this many bytes of a chunk.
inline constexpr uint32_t kCrcBlockSize = 64 << 10;
// Keys the log may add or revoke, the length of one keyring line, and of
// them all encoded (a KeyringUpdate must fit every socket that carries it).
inline constexpr size_t kMaxLogKeys = 10000;
inline constexpr size_t kMaxKeyLineBytes = 4096;
inline constexpr size_t kMaxLogKeyringBytes = 1 << 20;

// Entry kinds in the namespace.
enum class EntryKind : uint8_t { kFile = 1, kDirectory = 2 };

// Ids: chunk ids are 32 lowercase hex characters; worker ids are 1-32 of
// [a-z0-9_-]; upload ids are 32 lowercase hex characters.
bool is_chunk_id(std::string_view s);
bool is_worker_id(std::string_view s);
// A CURVE public key as text: 40 characters of the Z85 alphabet.
bool is_z85_text(std::string_view s);

struct WorkerAddr {
  std::string id;
  std::string endpoint;  // the worker's data ROUTER, tcp://host:port
  std::string pipeline;  // the worker's pipeline PULL, tcp://host:port ("" if unknown)
  std::string key;       // the CURVE public key its sockets present ("" in insecure mode)
  DFS_MSGPACK_MAP(id, endpoint, pipeline, key);
  Status validate() const;
};

struct ChunkInfo {
  uint64_t index = 0;  // position in the file
  std::string id;
  uint64_t size = 0;
  std::string sha256;                 // hex
  std::vector<std::string> replicas;  // worker ids holding a verified copy
  // Replicas a reader found corrupt. Filled in by the master's StatReply and
  // FsckReply only; ignored wherever a client sends a ChunkInfo.
  std::vector<std::string> corrupt;
  DFS_MSGPACK_MAP(index, id, size, sha256, replicas, corrupt);
  Status validate() const;
};

// The masters' signed word that `user` may `op` ("read" or "write") chunk
// `chunk_id` until `expires_ms` (wall clock): what a worker serves a client
// against (bus/chunk_ticket.h). Empty when the cluster runs without tickets.
struct ChunkTicket {
  std::string chunk_id;
  std::string user;
  std::string op;
  int64_t expires_ms = 0;
  std::string signature;  // Ed25519, 64 bytes
  DFS_MSGPACK_MAP(chunk_id, user, op, expires_ms, signature);
  Status validate() const;
};

struct EntryInfo {
  std::string name;
  uint8_t kind = static_cast<uint8_t>(EntryKind::kFile);
  uint64_t size = 0;
  int64_t mtime_ms = 0;
  uint32_t replication = 0;
  uint64_t chunk_size = 0;
  uint64_t chunk_count = 0;
  std::string owner;
  std::string group;
  uint32_t mode = 0;  // permission bits
  std::string etag;   // the content's MD5 (hex) when the writer gave one (the S3 gateway)
  DFS_MSGPACK_MAP(name, kind, size, mtime_ms, replication, chunk_size, chunk_count, owner, group,
                  mode, etag);
  Status validate() const;
  bool is_dir() const { return kind == static_cast<uint8_t>(EntryKind::kDirectory); }
};

struct WorkerInfo {
  std::string id;
  std::string endpoint;
  uint64_t capacity = 0;
  uint64_t used = 0;
  uint64_t chunk_count = 0;
  std::string state;  // "live", "suspect" or "dead"
  int64_t silent_ms = 0;
  std::string fs_id;  // the filesystem its store is on, as its heartbeats say
  uint64_t fs_size = 0;
  uint64_t fs_free = 0;
  uint32_t writes = 0;  // load, from its latest heartbeat (see Heartbeat)
  uint32_t copies = 0;
  bool draining = false;  // being decommissioned (dfs admin decommission)
  // Chunks whose records name this worker, as the leader's replica map has
  // them (-1 when the answering master is not the leader): a draining worker
  // is safe to stop once this is 0.
  int64_t recorded_chunks = -1;
  uint64_t keys_version = 0;  // as its latest heartbeat says (Heartbeat)
  DFS_MSGPACK_MAP(id, endpoint, capacity, used, chunk_count, state, silent_ms, fs_id, fs_size,
                  fs_free, writes, copies, draining, recorded_chunks, keys_version);
  Status validate() const;
  // Decommissioned and holding nothing the cluster needs.
  bool safe_to_stop() const { return draining && recorded_chunks == 0; }
};

// Who sent a mutating request, for exactly-once application: a client picks
// a random non-zero id per connection and numbers its mutations 1, 2, 3...,
// one outstanding at a time. A retry carries the same numbers and gets the
// original answer instead of applying twice. client == 0: not deduplicated.
struct RequestSession {
  uint64_t client = 0;
  uint64_t seq = 0;
  DFS_MSGPACK_MAP(client, seq);
  Status validate() const { return Status::ok(); }
  bool operator==(const RequestSession&) const = default;
};

// ---- generic replies ----

struct ErrorReply {
  static constexpr MsgType kType = MsgType::kErrorReply;
  uint16_t code = 0;
  std::string message;
  std::string leader;  // with kNotLeader: the leader's api endpoint, if known
  std::string worker;  // a failed pipeline write: the worker at fault, if known
  DFS_MSGPACK_MAP(code, message, leader, worker);
  Status validate() const;
  Status to_status() const;
};

struct OkReply {
  static constexpr MsgType kType = MsgType::kOkReply;
  uint8_t unused = 0;
  DFS_MSGPACK_MAP(unused);
  Status validate() const { return Status::ok(); }
};

// ---- client -> master ----

struct MkdirRequest {
  static constexpr MsgType kType = MsgType::kMkdirRequest;
  std::string path;
  bool parents = false;  // like mkdir -p: create missing parents, accept existing
  RequestSession session;
  uint32_t umask = kDefaultUmask;  // new directories get 0777 without these bits
  DFS_MSGPACK_MAP(path, parents, session, umask);
  Status validate() const;
};

struct StatRequest {
  static constexpr MsgType kType = MsgType::kStatRequest;
  std::string path;
  bool stale = false;  // any master may answer from its own state
  // The caller is about to read the file: refused without read permission
  // (otherwise a file it may not read is answered without its chunks).
  bool read = false;
  DFS_MSGPACK_MAP(path, stale, read);
  Status validate() const;
};

struct StatReply {
  static constexpr MsgType kType = MsgType::kStatReply;
  EntryInfo entry;
  std::vector<ChunkInfo> chunks;    // files only
  std::vector<WorkerAddr> workers;  // where each replica named in chunks lives
  std::vector<std::string> down;    // workers in `workers` the master does not hear from
  // A read ticket for each chunk, in the order of `chunks`, when the
  // caller may read the file and the cluster uses tickets.
  std::vector<ChunkTicket> tickets;
  DFS_MSGPACK_MAP(entry, chunks, workers, down, tickets);
  Status validate() const;
};

struct ListRequest {
  static constexpr MsgType kType = MsgType::kListRequest;
  std::string path;         // a directory
  std::string prefix;       // only names starting with this
  std::string start_after;  // paging: names strictly after this one
  uint32_t limit = 1000;
  bool stale = false;
  DFS_MSGPACK_MAP(path, prefix, start_after, limit, stale);
  Status validate() const;
};

struct ListReply {
  static constexpr MsgType kType = MsgType::kListReply;
  std::vector<EntryInfo> entries;  // sorted by name (bytewise)
  bool more = false;               // another page follows the last entry
  DFS_MSGPACK_MAP(entries, more);
  Status validate() const;
};

struct DeleteRequest {
  static constexpr MsgType kType = MsgType::kDeleteRequest;
  std::string path;
  bool recursive = false;
  RequestSession session;
  DFS_MSGPACK_MAP(path, recursive, session);
  Status validate() const;
};

struct RenameRequest {
  static constexpr MsgType kType = MsgType::kRenameRequest;
  std::string src;
  std::string dst;
  RequestSession session;
  // An existing file at dst is replaced (POSIX rename), not refused.
  bool replace = false;
  DFS_MSGPACK_MAP(src, dst, session, replace);
  Status validate() const;
};

// chmod and chown in one: what is set changes, the rest stays. The mode may
// be set by the owner; the owner only by admin; the group by admin, or by
// the owner to a group they are in.
struct SetAttrRequest {
  static constexpr MsgType kType = MsgType::kSetAttrRequest;
  std::string path;
  uint32_t mode = kModeUnset;  // permission bits, or unchanged
  std::string owner;           // "" unchanged
  std::string group;           // "" unchanged
  RequestSession session;
  DFS_MSGPACK_MAP(path, mode, owner, group, session);
  Status validate() const;
};

// The keyring's changes made through the log (dfs admin keys), as of log
// index `version`: keyring lines added (bus/keyring.h has the format) and
// public keys revoked, whether the key came from a keyring file or the log.
// The masters' replicated state; the leader also publishes it to workers on
// the jobs topic "keys.ring", when it changes and every 30 s.
struct KeyringUpdate {
  static constexpr MsgType kType = MsgType::kKeyringUpdate;
  uint64_t version = 0;
  std::vector<std::string> added;
  std::vector<std::string> revoked;
  DFS_MSGPACK_MAP(version, added, revoked);
  Status validate() const;
};

// dfs admin keys add | revoke. op "add": `line` is a keyring line
// ("ROLE NAME KEY [groups=..] [endpoint=..]"); op "revoke": `key` is the
// public key to refuse from now on. Answered once applied.
struct KeyChangeRequest {
  static constexpr MsgType kType = MsgType::kKeyChangeRequest;
  std::string op;
  std::string line;
  std::string key;
  RequestSession session;
  DFS_MSGPACK_MAP(op, line, key, session);
  Status validate() const;
};

// dfs admin keys list: the keyring the answering master goes by.
struct KeysRequest {
  static constexpr MsgType kType = MsgType::kKeysRequest;
  bool stale = false;
  DFS_MSGPACK_MAP(stale);
  Status validate() const { return Status::ok(); }
};

struct KeyListing {
  std::string line;    // as in a keyring file
  std::string source;  // "file" or "log"
  bool revoked = false;
  DFS_MSGPACK_MAP(line, source, revoked);
};

struct KeysReply {
  static constexpr MsgType kType = MsgType::kKeysReply;
  uint64_t version = 0;  // the log's KeyringUpdate version
  std::vector<KeyListing> keys;
  DFS_MSGPACK_MAP(version, keys);
  Status validate() const;
};

struct CreateUploadRequest {
  static constexpr MsgType kType = MsgType::kCreateUploadRequest;
  std::string path;
  uint64_t chunk_size = 0;   // 0: the cluster default
  uint32_t replication = 0;  // 0: the cluster default
  bool overwrite = false;
  // Accept chunks stored on fewer workers, down to this many, when not
  // enough are available (0: the replication itself). The file is then
  // recorded as under-replicated.
  uint32_t min_replication = 0;
  RequestSession session;
  uint32_t umask = kDefaultUmask;  // the file gets 0666 without these bits
  // Written as numbered parts (PartWrittenRequest), committed by naming
  // them, rather than as chunks in order.
  bool multipart = false;
  // A file of one chunk: allocate chunk 0, of this many bytes, with the
  // upload (one log entry and one round trip for both; the reply's
  // first_chunk). 0, or more than the upload's chunk size: none.
  uint64_t first_chunk_size = 0;
  // Not one file but a lease of this many chunk slots, each placed now for
  // a chunk of up to first_chunk_size bytes: each becomes a one-chunk file
  // of its own when committed (CommitUploadRequest.path), so a small file
  // costs one round trip to the masters, not two. `path` is then empty,
  // and permissions are checked as each file commits.
  uint32_t slots = 0;
  DFS_MSGPACK_MAP(path, chunk_size, replication, overwrite, min_replication, session, umask,
                  multipart, first_chunk_size, slots);
  Status validate() const;
};

// An empty file, made in one step: what an upload with no chunks would
// leave, without its three round trips.
struct CreateFileRequest {
  static constexpr MsgType kType = MsgType::kCreateFileRequest;
  std::string path;
  uint64_t chunk_size = 0;   // 0: the cluster default (recorded, as for any file)
  uint32_t replication = 0;  // 0: the cluster default
  bool overwrite = false;
  RequestSession session;
  uint32_t umask = kDefaultUmask;
  DFS_MSGPACK_MAP(path, chunk_size, replication, overwrite, session, umask);
  Status validate() const;
};

struct AllocateChunkRequest {
  static constexpr MsgType kType = MsgType::kAllocateChunkRequest;
  std::string upload_id;
  uint64_t index = 0;
  uint64_t size = 0;
  std::vector<std::string> exclude;  // workers that failed this chunk
  RequestSession session;
  DFS_MSGPACK_MAP(upload_id, index, size, exclude, session);
  Status validate() const;
};

struct AllocateChunkReply {
  static constexpr MsgType kType = MsgType::kAllocateChunkReply;
  std::string chunk_id;
  // Ordered: the client writes to the first, which forwards along the rest.
  // Between min_replication and replication workers long.
  std::vector<WorkerAddr> pipeline;
  ChunkTicket ticket;  // to write the chunk (every frame carries it)
  DFS_MSGPACK_MAP(chunk_id, pipeline, ticket);
  Status validate() const;
};

struct CreateUploadReply {
  static constexpr MsgType kType = MsgType::kCreateUploadReply;
  std::string upload_id;
  uint64_t chunk_size = 0;
  uint32_t replication = 0;
  uint32_t min_replication = 0;
  // Chunk 0 as allocated with the upload (CreateUploadRequest.first_chunk_size):
  // empty, or one allocation of index 0.
  std::vector<AllocateChunkReply> first_chunk;
  std::vector<AllocateChunkReply> slots;  // a lease's (CreateUploadRequest.slots)
  DFS_MSGPACK_MAP(upload_id, chunk_size, replication, min_replication, first_chunk, slots);
  Status validate() const;
};

// A part of a multipart upload as the commit names it.
struct PartRef {
  uint32_t number = 0;
  std::string etag;
  DFS_MSGPACK_MAP(number, etag);
  Status validate() const;
};

struct CommitUploadRequest {
  static constexpr MsgType kType = MsgType::kCommitUploadRequest;
  std::string upload_id;
  uint64_t size = 0;
  // Every index 0..n-1 exactly once; empty: the chunks marked written
  // (ChunkWrittenRequest), which keeps a huge file's commit small.
  std::vector<ChunkInfo> chunks;
  RequestSession session;
  std::string etag;  // recorded with the file (an S3 ETag: the content's MD5)
  // A multipart upload's file: these parts, in this order, each with the
  // ETag it was written with (`chunks` is then empty).
  std::vector<PartRef> parts;
  // A lease's slot (CreateUploadRequest.slots) commits as a file of its own
  // at `path`: `chunks` is then that one chunk, at index 0, of at most the
  // slot's size. Empty for any other upload, whose path is its own.
  std::string path;
  bool overwrite = false;
  uint32_t umask = kDefaultUmask;
  DFS_MSGPACK_MAP(upload_id, size, chunks, session, etag, parts, path, overwrite, umask);
  Status validate() const;
};

struct AbortUploadRequest {
  static constexpr MsgType kType = MsgType::kAbortUploadRequest;
  std::string upload_id;
  RequestSession session;
  DFS_MSGPACK_MAP(upload_id, session);
  Status validate() const;
};

// Chunk `chunk.index` of the upload is written: its pipeline acknowledged
// it with this SHA-256, on these workers. A resumed upload sends only the
// chunks not marked; a later mark for the same index replaces the earlier.
struct ChunkWrittenRequest {
  static constexpr MsgType kType = MsgType::kChunkWrittenRequest;
  std::string upload_id;
  ChunkInfo chunk;
  RequestSession session;
  DFS_MSGPACK_MAP(upload_id, chunk, session);
  Status validate() const;
};

// Part `number` of a multipart upload is written: `chunks`, in order, at
// indexes number * kPartIndexStride + 0, 1, ...; `etag` is what the
// commit must name it by. A part written again replaces the first.
struct PartWrittenRequest {
  static constexpr MsgType kType = MsgType::kPartWrittenRequest;
  std::string upload_id;
  uint32_t number = 0;
  std::string etag;
  std::vector<ChunkInfo> chunks;
  RequestSession session;
  DFS_MSGPACK_MAP(upload_id, number, etag, chunks, session);
  Status validate() const;
};

// Uploads in progress: one (`upload_id`, with its written chunks or parts)
// or every one the caller may see (admin: all; a user: their own).
struct UploadsRequest {
  static constexpr MsgType kType = MsgType::kUploadsRequest;
  std::string upload_id;    // "": all
  uint64_t from_index = 0;  // one upload's written chunks from this index
  uint32_t after_part = 0;  // one multipart upload's parts after this number
  DFS_MSGPACK_MAP(upload_id, from_index, after_part);
  Status validate() const;
};

struct PartListing {
  uint32_t number = 0;
  uint64_t size = 0;
  std::string etag;
  int64_t mtime_ms = 0;
  DFS_MSGPACK_MAP(number, size, etag, mtime_ms);
  Status validate() const;
};

struct UploadListing {
  std::string upload_id;
  std::string path;
  std::string owner;
  uint64_t chunk_size = 0;
  uint32_t replication = 0;
  int64_t last_active_ms = 0;
  uint64_t chunks_written = 0;
  uint64_t bytes_written = 0;
  // The written chunks by index, only when one upload was asked for, at
  // most kMaxUploadChunksListed (UploadsReply.truncated: ask again from
  // the next index).
  std::vector<ChunkInfo> chunks;
  bool multipart = false;
  int64_t created_ms = 0;
  // A multipart upload's parts, when it alone was asked for: at most
  // kMaxPartsListed (truncated: ask again after the last).
  std::vector<PartListing> parts;
  DFS_MSGPACK_MAP(upload_id, path, owner, chunk_size, replication, last_active_ms, chunks_written,
                  bytes_written, chunks, multipart, created_ms, parts);
  Status validate() const;
};

struct UploadsReply {
  static constexpr MsgType kType = MsgType::kUploadsReply;
  std::vector<UploadListing> uploads;  // oldest activity first
  bool truncated = false;              // more uploads, or chunks, than a reply holds
  DFS_MSGPACK_MAP(uploads, truncated);
  Status validate() const;
};

// Re-replication as the leader sees it.
struct RepairStatus {
  uint64_t queued = 0;   // chunks below their factor waiting for a copy
  uint64_t running = 0;  // copies in flight
  uint64_t lost = 0;     // chunks with no good replica left
  uint64_t copied = 0;   // copies done since this master leads
  uint64_t copied_bytes = 0;
  uint64_t failed = 0;            // copies failed or given up
  uint64_t dropped = 0;           // extra, corrupt or dead copies dropped
  uint64_t bytes_per_second = 0;  // copied over the last 10 s
  DFS_MSGPACK_MAP(queued, running, lost, copied, copied_bytes, failed, dropped, bytes_per_second);
  Status validate() const { return Status::ok(); }
};

struct ClusterStatusRequest {
  static constexpr MsgType kType = MsgType::kClusterStatusRequest;
  uint8_t unused = 0;
  bool stale = false;
  DFS_MSGPACK_MAP(unused, stale);
  Status validate() const { return Status::ok(); }
};

struct ClusterStatusReply {
  static constexpr MsgType kType = MsgType::kClusterStatusReply;
  std::string master_id;
  std::string role;  // "leader" or "follower" (answered with stale)
  std::vector<WorkerInfo> workers;
  uint64_t files = 0;
  uint64_t directories = 0;
  uint64_t garbage_chunks = 0;  // deleted chunks not yet removed from workers
  uint64_t term = 0;            // of this master's Raft group, as it knows it
  uint64_t commit_index = 0;
  uint64_t applied_index = 0;
  std::string leader;   // the leader's api endpoint, as this master knows it
  RepairStatus repair;  // the leader's only
  // The leader's last published event (ClusterEvent.epoch and .sequence):
  // this reply reflects every event up to it. 0 from a follower.
  uint64_t event_epoch = 0;
  uint64_t event_sequence = 0;
  DFS_MSGPACK_MAP(master_id, role, workers, files, directories, garbage_chunks, term, commit_index,
                  applied_index, leader, repair, event_epoch, event_sequence);
  Status validate() const;
};

// ---- the masters' membership (dfs admin members) ----

// One master of the group as the answering master sees it.
struct MemberInfo {
  uint64_t id = 0;
  std::string api;     // "tcp://host:port"; empty when unknown
  std::string role;    // "leader", "voter" or "learner" (a learner is promoted once caught up)
  uint64_t match = 0;  // the newest log index known to be on it (the leader's view)
  int64_t last_contact_ms = -1;  // since its last message here; -1: never, or this master
  DFS_MSGPACK_MAP(id, api, role, match, last_contact_ms);
  Status validate() const { return Status::ok(); }
};

struct MembersRequest {
  static constexpr MsgType kType = MsgType::kMembersRequest;
  uint8_t unused = 0;
  bool stale = false;  // any master answers with its own view
  DFS_MSGPACK_MAP(unused, stale);
  Status validate() const { return Status::ok(); }
};

struct MembersReply {
  static constexpr MsgType kType = MsgType::kMembersReply;
  uint64_t self = 0;  // the answering master
  uint64_t term = 0;
  uint64_t commit_index = 0;
  uint64_t applied_index = 0;
  std::vector<MemberInfo> members;
  DFS_MSGPACK_MAP(self, term, commit_index, applied_index, members);
  Status validate() const { return Status::ok(); }
};

// op "add": a master at `endpoint` (host:port of its api) joins, as a learner
// promoted to voter once caught up; `id` 0 lets the leader choose one.
// op "remove": master `id` leaves (the leader included: it hands over).
// op "transfer": master `id` takes over the leadership.
struct MemberChangeRequest {
  static constexpr MsgType kType = MsgType::kMemberChangeRequest;
  std::string op;
  uint64_t id = 0;
  std::string endpoint;
  RequestSession session;
  DFS_MSGPACK_MAP(op, id, endpoint, session);
  Status validate() const;
};

// dfs admin decommission / recommission: start or undo the drain of a
// worker. Answered once the change is in the log; the drain itself runs in
// the background and shows in ClusterStatusReply.
struct WorkerDrainRequest {
  static constexpr MsgType kType = MsgType::kWorkerDrainRequest;
  std::string worker_id;
  bool draining = true;
  RequestSession session;
  DFS_MSGPACK_MAP(worker_id, draining, session);
  Status validate() const;
};

struct MemberChangeReply {
  static constexpr MsgType kType = MsgType::kMemberChangeReply;
  uint64_t id = 0;
  DFS_MSGPACK_MAP(id);
  Status validate() const { return Status::ok(); }
};

// A reader got wrong bytes (or a wrong size) for `chunk_id` of the file at
// `path` from `worker_id`. The master records that replica as corrupt.
struct ReportBadReplicaRequest {
  static constexpr MsgType kType = MsgType::kReportBadReplicaRequest;
  std::string path;
  std::string chunk_id;
  std::string worker_id;
  std::string reason;
  RequestSession session;
  DFS_MSGPACK_MAP(path, chunk_id, worker_id, reason, session);
  Status validate() const;
};

// Checks the files under `path` for chunks with fewer good replicas than
// their replication (good: not reported corrupt, on a worker heard from).
struct FsckRequest {
  static constexpr MsgType kType = MsgType::kFsckRequest;
  std::string path;
  bool stale = false;
  DFS_MSGPACK_MAP(path, stale);
  Status validate() const;
};

struct FsckProblem {
  std::string path;
  uint32_t replication = 0;
  ChunkInfo chunk;                // with `corrupt` filled in
  std::vector<std::string> good;  // replicas that count
  std::vector<std::string> down;  // replicas on workers not heard from
  DFS_MSGPACK_MAP(path, replication, chunk, good, down);
  Status validate() const;
};

inline constexpr size_t kMaxFsckProblems = 1000;
struct FsckReply {
  static constexpr MsgType kType = MsgType::kFsckReply;
  uint64_t files = 0;                 // files checked
  uint64_t chunks = 0;                // chunks checked
  uint64_t under_replicated = 0;      // chunks with fewer good replicas than wanted
  uint64_t lost = 0;                  // chunks with no good replica at all
  std::vector<FsckProblem> problems;  // the first kMaxFsckProblems of them
  DFS_MSGPACK_MAP(files, chunks, under_replicated, lost, problems);
  Status validate() const;
};

// ---- client -> worker ----

// One frame of a chunk being written; one raw data frame follows the body.
// Frames of one chunk arrive in offset order; the first (offset 0) opens the
// chunk and the one with last=true closes it and carries the checksum.
struct WriteChunkFrame {
  static constexpr MsgType kType = MsgType::kWriteChunkFrame;
  std::string chunk_id;
  uint64_t offset = 0;
  uint64_t total_size = 0;
  bool last = false;
  std::string sha256;                  // with last=true: the whole chunk's digest
  std::vector<WorkerAddr> downstream;  // with offset 0: the rest of the pipeline
  ChunkTicket ticket;                  // from AllocateChunkReply
  // The CRC-32C of each kCrcBlockSize block of this frame's data (the last
  // one short at the chunk's end). A worker checks each block against it
  // instead of hashing the chunk; empty: the worker checks the SHA-256. A
  // chunk's frames all carry them or none do, and with them every frame
  // but the last starts and ends on a block boundary.
  std::vector<uint32_t> block_crcs;
  DFS_MSGPACK_MAP(chunk_id, offset, total_size, last, sha256, downstream, ticket, block_crcs);
  Status validate() const;
};

// Answers each WriteChunkFrame. `received` is the byte count taken so far;
// `stored` is true on the answer to the last frame once the chunk is durable,
// verified and visible.
struct WriteChunkAck {
  static constexpr MsgType kType = MsgType::kWriteChunkAck;
  std::string chunk_id;
  uint64_t received = 0;
  bool stored = false;
  DFS_MSGPACK_MAP(chunk_id, received, stored);
  Status validate() const;
};

struct ReadChunkRequest {
  static constexpr MsgType kType = MsgType::kReadChunkRequest;
  std::string chunk_id;
  uint64_t offset = 0;
  uint64_t length = 0;  // at most kMaxFrameBytes
  ChunkTicket ticket;   // from StatReply
  DFS_MSGPACK_MAP(chunk_id, offset, length, ticket);
  Status validate() const;
};

// Asks a worker for a session of its bulk channel: chunk bytes then travel
// on its bulk socket under AES-256-GCM (bus/bulk_seal.h), keyed by what the
// reply carries over this CURVE connection. Secure mode only.
// On the pipeline socket a worker asks its downstream worker, naming itself
// in `from` (where the reply goes, by PUSH, as acks do); on the data socket
// `from` is empty and the reply comes back on the connection.
struct BulkSessionRequest {
  static constexpr MsgType kType = MsgType::kBulkSessionRequest;
  WorkerAddr from;
  DFS_MSGPACK_MAP(from);
  Status validate() const { return from.id.empty() ? Status::ok() : from.validate(); }
};

struct BulkSessionReply {
  static constexpr MsgType kType = MsgType::kBulkSessionReply;
  std::string session;   // 16 bytes
  std::string key;       // 32 bytes
  std::string endpoint;  // the bulk socket, tcp://host:port
  DFS_MSGPACK_MAP(session, key, endpoint);
  Status validate() const;
};

// One raw data frame follows the body, of min(length, total_size - offset) bytes.
// When offset starts a block and the chunk has block CRCs, block_crcs holds
// the CRC-32C of each block_size block the frame covers (the last one short
// at the chunk's end), so the reader checks what it got before using it.
struct ReadChunkReply {
  static constexpr MsgType kType = MsgType::kReadChunkReply;
  std::string chunk_id;
  uint64_t offset = 0;
  uint64_t total_size = 0;
  uint32_t block_size = 0;
  std::vector<uint32_t> block_crcs;
  DFS_MSGPACK_MAP(chunk_id, offset, total_size, block_size, block_crcs);
  Status validate() const;
};

// ---- worker -> worker: the replication pipeline (PUSH to a peer's PULL) ----

// A WriteChunkFrame forwarded down the pipeline, its `downstream` now the
// rest of the chain after the receiver; one raw data frame follows.
// `upstream` is the sender, where ReplicaAcks go back; `earlier` (offset 0
// only) names the workers before it in the chain, the ones besides it whose
// ReplicaAbort the receiver takes.
struct ReplicaFrame {
  static constexpr MsgType kType = MsgType::kReplicaFrame;
  WriteChunkFrame frame;
  WorkerAddr upstream;
  std::vector<std::string> earlier;
  DFS_MSGPACK_MAP(frame, upstream, earlier);
  Status validate() const;
};

// Progress of a chunk write at one worker and everything after it in the
// pipeline, sent back up the chain (and from a disk thread to its socket
// thread). code != 0 is a failure: `worker_id` names the worker at fault.
struct ReplicaAck {
  static constexpr MsgType kType = MsgType::kReplicaAck;
  std::string chunk_id;
  std::string worker_id;
  uint64_t received = 0;  // bytes durable-in-progress here and downstream
  bool stored = false;    // committed and verified here and downstream
  uint16_t code = 0;
  std::string message;
  DFS_MSGPACK_MAP(chunk_id, worker_id, received, stored, code, message);
  Status validate() const;
  bool failed() const { return code != 0; }
};

// The write of `chunk_id` failed somewhere: drop its temporary.
struct ReplicaAbort {
  static constexpr MsgType kType = MsgType::kReplicaAbort;
  std::string chunk_id;
  std::string reason;
  DFS_MSGPACK_MAP(chunk_id, reason);
  Status validate() const;
};

// ---- bus topics ----

// A chunk a worker found bad in its own store: corrupt, truncated or gone.
struct BadChunk {
  std::string chunk_id;
  std::string reason;
  DFS_MSGPACK_MAP(chunk_id, reason);
  Status validate() const { return Status::ok(); }
};
inline constexpr size_t kMaxBadPerHeartbeat = 1000;

// Worker -> master events SUB, topic "hb.<worker id>", every interval.
struct Heartbeat {
  static constexpr MsgType kType = MsgType::kHeartbeat;
  std::string worker_id;
  std::string endpoint;  // data ROUTER
  std::string pipeline;  // pipeline PULL
  uint64_t capacity = 0;
  uint64_t used = 0;
  uint64_t chunk_count = 0;
  uint64_t sequence = 0;
  std::vector<std::string> deleted;  // chunk ids removed since the last beat
  // Chunks its scrubber found bad and that are still there: repeated every
  // beat until the master has them deleted.
  std::vector<BadChunk> bad;
  // The filesystem its store is on (workers sharing one report the same id).
  std::string fs_id;
  uint64_t fs_size = 0;
  uint64_t fs_free = 0;
  // Load: chunk writes open on it (as pipeline head or hop) and repair
  // copies it is sending, queued or running.
  uint32_t writes = 0;
  uint32_t copies = 0;
  std::string key;  // its CURVE public key; must be the key it sent this with
  // The KeyringUpdate version it has taken in: a key added through the log
  // is usable against this worker once this reaches that change's version.
  uint64_t keys_version = 0;
  DFS_MSGPACK_MAP(worker_id, endpoint, pipeline, capacity, used, chunk_count, sequence, deleted,
                  bad, fs_id, fs_size, fs_free, writes, copies, key, keys_version);
  Status validate() const;
};

// Master jobs PUB -> worker, topic "job.<worker id>". Idempotent: re-published
// until the worker's heartbeats report the ids deleted.
struct DeleteChunksJob {
  static constexpr MsgType kType = MsgType::kDeleteChunksJob;
  std::string worker_id;
  std::vector<std::string> chunk_ids;
  DFS_MSGPACK_MAP(worker_id, chunk_ids);
  Status validate() const;
};

// Worker -> master events SUB, topic "report.<worker id>", every report
// interval: the chunks the worker holds, in pages. The master removes chunks
// that no file references and no upload in progress wrote (orphans left by
// a master that restarted mid-upload, for example).
inline constexpr size_t kMaxReportPage = 10000;
inline constexpr size_t kMaxChunksPerWorker = 100000000;  // what one report may list
// One report is `pages` pages (at least one, even for an empty store) under
// one `report` number; once the master has them all it also knows what the
// worker does not hold: recorded replicas missing from a whole report, that
// were recorded before the listing began (`listed_ms_ago` before the page was
// sent), are treated as lost copies.
struct ChunkReport {
  static constexpr MsgType kType = MsgType::kChunkReport;
  std::string worker_id;
  std::vector<std::string> chunk_ids;  // at most kMaxReportPage
  uint64_t report = 0;                 // 0: a lone page from an older worker
  uint32_t page = 0;
  uint32_t pages = 0;
  uint64_t listed_ms_ago = 0;
  DFS_MSGPACK_MAP(worker_id, chunk_ids, report, page, pages, listed_ms_ago);
  Status validate() const;
};

// Master jobs PUB -> worker, topic "job.<source>": copy chunk `chunk_id`
// (`size` bytes, `sha256`) from this worker's store to `targets`, as a
// pipeline (the first target forwards to the rest). Re-published until the
// source reports it; a job already running or done is not started again.
struct ReplicateChunkJob {
  static constexpr MsgType kType = MsgType::kReplicateChunkJob;
  std::string job_id;
  std::string source;  // the worker that holds a good copy
  std::string chunk_id;
  uint64_t size = 0;
  std::string sha256;
  std::vector<WorkerAddr> targets;
  // How long the leader waits for the report, from when it published this:
  // a job still queued when that has passed is dropped unrun (0: no limit).
  uint64_t expires_in_ms = 0;
  DFS_MSGPACK_MAP(job_id, source, chunk_id, size, sha256, targets, expires_in_ms);
  Status validate() const;
};

// Worker -> master events SUB, topic "copy.<source>": how a
// ReplicateChunkJob ended. code 0: every target stored and verified the
// chunk. Otherwise `culprit` names the worker at fault when known (the
// source itself when its own copy does not match the checksum).
struct ReplicateChunkDone {
  static constexpr MsgType kType = MsgType::kReplicateChunkDone;
  std::string job_id;
  std::string source;
  std::string chunk_id;
  std::vector<std::string> targets;
  uint16_t code = 0;
  std::string message;
  std::string culprit;
  DFS_MSGPACK_MAP(job_id, source, chunk_id, targets, code, message, culprit);
  Status validate() const;
};

// Master jobs PUB, topic "event.<kind>": something changed in the cluster.
struct ClusterEvent {
  static constexpr MsgType kType = MsgType::kClusterEvent;
  std::string kind;  // e.g. "worker.live", "worker.dead", "file.committed"
  std::string subject;
  std::string detail;
  int64_t time_ms = 0;
  // Numbered 1, 2, 3... by the leader that publishes them, within `epoch`
  // (a random id of that leader's term of office): a listener that sees a
  // number skipped, or a new epoch, fetches the state afresh (the Clone
  // pattern) from ClusterStatusReply, which carries the pair it reflects.
  uint64_t sequence = 0;
  uint64_t epoch = 0;
  DFS_MSGPACK_MAP(kind, subject, detail, time_ms, sequence, epoch);
  Status validate() const;
};

}  // namespace dfs
