// The state machine's rules for uploads in progress: create, allocate,
// commit, abort, expire. Each is checked against the state as of its log
// entry, so every replica answers the same.
#include <algorithm>
#include <set>
#include <unordered_set>

#include "codec/path.h"
#include "master/namespace.h"

namespace dfs {

ChunkInfo garbage_chunk(const std::string& id, std::vector<std::string> workers) {
  ChunkInfo c;
  c.id = id;
  c.size = 1;
  c.sha256 = std::string(64, '0');
  c.replicas = std::move(workers);
  return c;
}

namespace {
Status unknown_upload(const std::string& id) {
  return not_found("upload " + id + " is unknown (expired, aborted or already committed)");
}
}  // namespace

Result<UploadRecord> Namespace::own_upload(const Caller& who, const std::string& id) const {
  auto upload = uploads_.find(id);
  if (!upload) return unknown_upload(id);
  // An upload started before uploads had owners is anyone's to finish:
  // commit checks the directory anyway.
  if (!who.superuser && !upload->owner.empty() && who.user != upload->owner) {
    return Status(Code::kPermissionDenied,
                  "permission denied: upload " + id + " belongs to " + upload->owner);
  }
  return std::move(upload).value();
}

Status Namespace::apply_create_upload(const CreateUploadCmd& cmd, const Caller& who, int64_t now_ms,
                                      rocksdb::WriteBatch* batch, Outcome* out) {
  // Fail early on what commit would refuse anyway.
  std::optional<Inode> old;
  auto dir = writable(who, cmd.path, cmd.overwrite, &old);
  if (!dir.is_ok()) return dir.status();
  if (cmd.max_uploads != 0 && counters_.uploads >= cmd.max_uploads) {
    return Status(Code::kUnavailable, "too many uploads in progress (" +
                                          std::to_string(counters_.uploads) + "); try again later");
  }
  if (uploads_.find(cmd.upload_id)) return Status(Code::kAlreadyExists, "upload id in use");
  UploadRecord record{cmd.path,      cmd.chunk_size, cmd.replication, cmd.min_replication,
                      cmd.overwrite, now_ms,         who.user,        cmd.mode};
  uploads_.put(batch, cmd.upload_id, record);
  ++counters_.uploads;
  out->reply_type = MsgType::kCreateUploadReply;
  out->reply_body = encode(
      CreateUploadReply{cmd.upload_id, cmd.chunk_size, cmd.replication, cmd.min_replication});
  return Status::ok();
}

Status Namespace::apply_allocate(const AllocateChunkCmd& cmd, const Caller& who, int64_t now_ms,
                                 rocksdb::WriteBatch* batch, Outcome* out) {
  auto upload = own_upload(who, cmd.upload_id);
  if (!upload.is_ok()) return upload.status();
  if (cmd.size > upload->chunk_size) {
    return invalid_argument("chunk larger than the upload's chunk size");
  }
  if (cmd.pipeline.size() < upload->min_replication || cmd.pipeline.size() > upload->replication) {
    return invalid_argument("a pipeline of " + std::to_string(cmd.pipeline.size()) +
                            " workers for an upload that wants " +
                            std::to_string(upload->replication));
  }
  if (references_chunk(cmd.chunk_id) || uploads_.is_allocated(cmd.chunk_id)) {
    return Status(Code::kAlreadyExists, "chunk id " + cmd.chunk_id + " is in use");
  }
  AllocationRecord allocation{cmd.size, {}};
  for (const auto& w : cmd.pipeline) allocation.workers.push_back(w.id);
  uploads_.add_allocation(batch, cmd.upload_id, cmd.chunk_id, allocation);
  UploadRecord touched = *upload;
  touched.last_active_ms = std::max(upload->last_active_ms, now_ms);
  uploads_.put(batch, cmd.upload_id, touched, &*upload);
  out->reply_type = MsgType::kAllocateChunkReply;
  out->reply_body = encode(AllocateChunkReply{cmd.chunk_id, cmd.pipeline});
  return Status::ok();
}

Status Namespace::apply_commit_upload(const CommitUploadCmd& cmd, const Caller& who, int64_t now_ms,
                                      rocksdb::WriteBatch* batch, Outcome* out) {
  auto upload = own_upload(who, cmd.upload_id);
  if (!upload.is_ok()) return upload.status();
  uint64_t expected_chunks = (cmd.size + upload->chunk_size - 1) / upload->chunk_size;
  if (cmd.chunks.size() != expected_chunks) {
    return invalid_argument("a file of " + std::to_string(cmd.size) + " bytes has " +
                            std::to_string(expected_chunks) + " chunks, got " +
                            std::to_string(cmd.chunks.size()));
  }
  for (const auto& c : cmd.chunks) {
    bool last = c.index + 1 == expected_chunks;
    uint64_t want = last ? cmd.size - c.index * upload->chunk_size : upload->chunk_size;
    if (c.size != want) {
      return invalid_argument("chunk " + std::to_string(c.index) + " has the wrong size");
    }
    auto allocation = uploads_.allocation(cmd.upload_id, c.id);
    if (!allocation) {
      return invalid_argument("chunk " + c.id + " was not allocated to this upload");
    }
    std::set<std::string> distinct(c.replicas.begin(), c.replicas.end());
    if (distinct.size() < upload->min_replication) {
      return Status(Code::kUnavailable, "chunk " + std::to_string(c.index) + " is on " +
                                            std::to_string(distinct.size()) + " workers, needs " +
                                            std::to_string(upload->min_replication));
    }
    if (distinct.size() != c.replicas.size()) {
      return invalid_argument("chunk " + c.id + " names a worker twice");
    }
    const auto& pipeline = allocation->workers;
    for (const auto& w : c.replicas) {
      if (std::find(pipeline.begin(), pipeline.end(), w) == pipeline.end()) {
        return invalid_argument("chunk " + c.id + " names worker " + w + " outside its pipeline");
      }
    }
  }
  CommitFileCmd file{upload->path,        upload->overwrite, cmd.size, upload->chunk_size,
                     upload->replication, cmd.chunks,        now_ms,   upload->mode};
  DFS_RETURN_IF_ERROR(file.validate());
  // Checked again now: the directory's mode may have changed meanwhile.
  DFS_RETURN_IF_ERROR(apply_commit(file, who, batch));
  drop_upload(batch, cmd.upload_id, *upload, cmd.chunks, out);
  out->event =
      ClusterEvent{"file.committed", upload->path, std::to_string(cmd.size) + " bytes", 0, 0};
  return Status::ok();
}

Status Namespace::apply_abort_upload(const AbortUploadCmd& cmd, const Caller& who,
                                     rocksdb::WriteBatch* batch, Outcome* out) {
  auto upload = own_upload(who, cmd.upload_id);
  if (!upload.is_ok()) return upload.status();
  drop_upload(batch, cmd.upload_id, *upload, {}, out);
  return Status::ok();
}

Status Namespace::apply_expire(const ExpireCmd& cmd, int64_t now_ms, rocksdb::WriteBatch* batch,
                               Outcome* out) {
  // Bounded per entry so that one entry stays small; the leader proposes
  // another while anything is left.
  constexpr size_t kPerEntry = 10000;
  // Clamped: a clock before the idle time expires nothing (a negative
  // cutoff must not wrap around to "everything").
  const int64_t upload_cutoff = std::max<int64_t>(now_ms - cmd.upload_idle_ms, 0);
  const int64_t session_cutoff = std::max<int64_t>(now_ms - cmd.session_idle_ms, 0);
  for (const auto& id : uploads_.idle_before(upload_cutoff, kPerEntry)) {
    auto upload = uploads_.find(id);
    if (upload) drop_upload(batch, id, *upload, {}, out);
  }
  sessions_.expire(batch, session_cutoff, kPerEntry);
  return Status::ok();
}

void Namespace::drop_upload(rocksdb::WriteBatch* batch, const std::string& id,
                            const UploadRecord& record, const std::vector<ChunkInfo>& keep,
                            Outcome* out) {
  std::unordered_set<std::string> kept;
  for (const auto& c : keep) kept.insert(c.id);
  std::vector<ChunkInfo> garbage;
  for (const auto& [chunk_id, allocation] : uploads_.allocations(id)) {
    if (kept.count(chunk_id)) continue;
    // Space placed for a chunk that will never be used is free again now,
    // not when heartbeats catch up.
    for (const auto& w : allocation.workers) out->released.emplace_back(w, allocation.size);
    garbage.push_back(garbage_chunk(chunk_id, allocation.workers));
  }
  add_garbage(batch, garbage);
  uploads_.remove(batch, id, record);
  --counters_.uploads;
}

}  // namespace dfs
