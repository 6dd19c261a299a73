// Commands of the metadata state machine: each one is a log entry (Raft, once
// the masters replicate) applied in order by master/namespace. Everything an
// application needs is inside the command -- timestamps included -- so every
// replica that applies the same log reaches the same state.
#pragma once

#include "codec/messages.h"

namespace dfs {

struct MkdirCmd {
  static constexpr MsgType kType = MsgType::kMkdirCmd;
  std::string path;
  bool parents = false;
  int64_t mtime_ms = 0;
  MSGPACK_DEFINE_MAP(path, parents, mtime_ms);
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
  MSGPACK_DEFINE_MAP(path, overwrite, size, chunk_size, replication, chunks, mtime_ms);
  Status validate() const;
};

struct DeleteCmd {
  static constexpr MsgType kType = MsgType::kDeleteCmd;
  std::string path;
  bool recursive = false;
  MSGPACK_DEFINE_MAP(path, recursive);
  Status validate() const;
};

struct RenameCmd {
  static constexpr MsgType kType = MsgType::kRenameCmd;
  std::string src;
  std::string dst;
  int64_t mtime_ms = 0;
  MSGPACK_DEFINE_MAP(src, dst, mtime_ms);
  Status validate() const;
};

struct RegisterWorkerCmd {
  static constexpr MsgType kType = MsgType::kRegisterWorkerCmd;
  WorkerAddr worker;
  MSGPACK_DEFINE_MAP(worker);
  Status validate() const { return worker.validate(); }
};

// The worker reported these chunks gone: forget them as garbage.
struct GcDoneCmd {
  static constexpr MsgType kType = MsgType::kGcDoneCmd;
  std::string worker_id;
  std::vector<std::string> chunk_ids;
  MSGPACK_DEFINE_MAP(worker_id, chunk_ids);
  Status validate() const;
};

// Chunks written for an upload that never committed: remove them from workers.
struct AddGarbageCmd {
  static constexpr MsgType kType = MsgType::kAddGarbageCmd;
  std::vector<ChunkInfo> chunks;
  MSGPACK_DEFINE_MAP(chunks);
  Status validate() const;
};

// A reader found the copy of `chunk_id` on `worker_id` corrupt: it no longer
// counts as a good replica. The copy is kept until the chunk is repaired.
struct MarkReplicaBadCmd {
  static constexpr MsgType kType = MsgType::kMarkReplicaBadCmd;
  std::string chunk_id;
  std::string worker_id;
  MSGPACK_DEFINE_MAP(chunk_id, worker_id);
  Status validate() const;
};

}  // namespace dfs
