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

Result<UploadsReply> Namespace::list_uploads(const Caller& who, const UploadsRequest& req) const {
  UploadsReply rep;
  auto listing = [&](const std::string& id, const UploadRecord& u) {
    UploadListing l{id, u.path, u.owner, u.chunk_size, u.replication, u.last_active_ms,
                    0,  0,      {},      u.multipart,  u.created_ms,  {}};
    for (const auto& c : uploads_.written(id)) {
      ++l.chunks_written;
      l.bytes_written += c.size;
    }
    return l;
  };
  if (!req.upload_id.empty()) {
    auto upload = own_upload(who, req.upload_id);
    if (!upload.is_ok()) return upload.status();
    UploadListing l = listing(req.upload_id, *upload);
    l.chunks = uploads_.written(req.upload_id, req.from_index, kMaxUploadChunksListed + 1);
    if (l.chunks.size() > kMaxUploadChunksListed) {
      l.chunks.pop_back();
      rep.truncated = true;
    }
    if (upload->multipart) {
      auto parts = uploads_.parts(req.upload_id, req.after_part, kMaxPartsListed + 1);
      if (parts.size() > kMaxPartsListed) {
        parts.pop_back();
        rep.truncated = true;
      }
      for (const auto& [number, p] : parts) {
        l.parts.push_back(PartListing{number, p.size, p.etag, p.mtime_ms});
      }
    }
    rep.uploads.push_back(std::move(l));
    return rep;
  }
  // Oldest activity first: the ones most likely abandoned lead.
  for (const auto& id : uploads_.idle_before(INT64_MAX, SIZE_MAX)) {
    auto upload = uploads_.find(id);
    if (!upload) continue;
    if (!who.superuser && upload->owner != who.user) continue;
    if (rep.uploads.size() == kMaxListPage) {
      rep.truncated = true;
      break;
    }
    rep.uploads.push_back(listing(id, *upload));
  }
  return rep;
}

Status Namespace::apply_create_upload(const CreateUploadCmd& cmd, const Caller& who, int64_t now_ms,
                                      rocksdb::WriteBatch* batch, Outcome* out) {
  // Fail early on what commit would refuse anyway (a lease: as each of its
  // files commits).
  if (cmd.slots.empty()) {
    std::optional<Inode> old;
    auto dir = writable(who, cmd.path, cmd.overwrite, &old);
    if (!dir.is_ok()) return dir.status();
  }
  if (cmd.max_uploads != 0 && counters_.uploads >= cmd.max_uploads) {
    return Status(Code::kUnavailable, "too many uploads in progress (" +
                                          std::to_string(counters_.uploads) + "); try again later");
  }
  if (uploads_.find(cmd.upload_id)) return Status(Code::kAlreadyExists, "upload id in use");
  UploadRecord record{cmd.path, cmd.chunk_size, cmd.replication, cmd.min_replication, cmd.overwrite,
                      now_ms,   who.user,       cmd.mode,        cmd.multipart,       now_ms};
  CreateUploadReply reply{cmd.upload_id, cmd.chunk_size, cmd.replication, cmd.min_replication, {}};
  if (!cmd.first_chunk_id.empty()) {
    AllocateChunkCmd first{cmd.upload_id, cmd.first_chunk_id, cmd.first_chunk_size,
                           cmd.first_pipeline, 0};
    DFS_RETURN_IF_ERROR(check_allocation(first, record));
    add_allocation(batch, first);
    reply.first_chunk.push_back(AllocateChunkReply{first.chunk_id, first.pipeline, {}});
  }
  record.lease = !cmd.slots.empty();
  for (const auto& slot : cmd.slots) {
    AllocateChunkCmd placed{cmd.upload_id, slot.chunk_id, cmd.first_chunk_size, slot.pipeline, 0};
    DFS_RETURN_IF_ERROR(check_allocation(placed, record));
    add_allocation(batch, placed);
    reply.slots.push_back(AllocateChunkReply{slot.chunk_id, slot.pipeline, {}});
  }
  uploads_.put(batch, cmd.upload_id, record);
  ++counters_.uploads;
  out->reply_type = MsgType::kCreateUploadReply;
  out->reply_body = encode(reply);
  return Status::ok();
}

Status Namespace::apply_allocate(const AllocateChunkCmd& cmd, const Caller& who, int64_t now_ms,
                                 rocksdb::WriteBatch* batch, Outcome* out) {
  auto upload = own_upload(who, cmd.upload_id);
  if (!upload.is_ok()) return upload.status();
  if (upload->lease) return invalid_argument("a lease's slots are placed when it is made");
  DFS_RETURN_IF_ERROR(check_allocation(cmd, *upload));
  add_allocation(batch, cmd);
  UploadRecord touched = *upload;
  touched.last_active_ms = std::max(upload->last_active_ms, now_ms);
  uploads_.put(batch, cmd.upload_id, touched, &*upload);
  out->reply_type = MsgType::kAllocateChunkReply;
  out->reply_body = encode(AllocateChunkReply{cmd.chunk_id, cmd.pipeline});
  return Status::ok();
}

Status Namespace::check_allocation(const AllocateChunkCmd& cmd, const UploadRecord& upload) const {
  if (cmd.size > upload.chunk_size) {
    return invalid_argument("chunk larger than the upload's chunk size");
  }
  if (cmd.pipeline.size() < upload.min_replication || cmd.pipeline.size() > upload.replication) {
    return invalid_argument("a pipeline of " + std::to_string(cmd.pipeline.size()) +
                            " workers for an upload that wants " +
                            std::to_string(upload.replication));
  }
  if (references_chunk(cmd.chunk_id) || uploads_.is_allocated(cmd.chunk_id)) {
    return Status(Code::kAlreadyExists, "chunk id " + cmd.chunk_id + " is in use");
  }
  return Status::ok();
}

void Namespace::add_allocation(rocksdb::WriteBatch* batch, const AllocateChunkCmd& cmd) {
  AllocationRecord allocation{cmd.size, {}, cmd.index, true};
  for (const auto& w : cmd.pipeline) allocation.workers.push_back(w.id);
  uploads_.add_allocation(batch, cmd.upload_id, cmd.chunk_id, allocation);
}

Status Namespace::check_upload_chunk(const std::string& upload_id, const UploadRecord& upload,
                                     const ChunkInfo& c) const {
  auto allocation = uploads_.allocation(upload_id, c.id);
  if (!allocation) return invalid_argument("chunk " + c.id + " was not allocated to this upload");
  if (allocation->indexed && c.index != allocation->index) {
    return invalid_argument("chunk " + c.id + " was allocated as chunk " +
                            std::to_string(allocation->index) + ", not " + std::to_string(c.index));
  }
  if (upload.lease ? (c.size == 0 || c.size > allocation->size) : c.size != allocation->size) {
    return invalid_argument("chunk " + c.id + " is " + std::to_string(c.size) +
                            " bytes; it was allocated " + std::to_string(allocation->size));
  }
  std::set<std::string> distinct(c.replicas.begin(), c.replicas.end());
  if (distinct.size() < upload.min_replication) {
    return Status(Code::kUnavailable, "chunk " + std::to_string(c.index) + " is on " +
                                          std::to_string(distinct.size()) + " workers, needs " +
                                          std::to_string(upload.min_replication));
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
  return Status::ok();
}

Status Namespace::apply_chunk_written(const ChunkWrittenCmd& cmd, const Caller& who, int64_t now_ms,
                                      rocksdb::WriteBatch* batch) {
  auto upload = own_upload(who, cmd.upload_id);
  if (!upload.is_ok()) return upload.status();
  if (upload->multipart || upload->lease) {
    return invalid_argument("upload " + cmd.upload_id + " is not written chunk by chunk");
  }
  if (cmd.chunk.index >= kMaxChunksPerFile) {
    return invalid_argument("chunk index " + std::to_string(cmd.chunk.index) + " is past the " +
                            std::to_string(kMaxChunksPerFile) + " chunks a file may have");
  }
  DFS_RETURN_IF_ERROR(check_upload_chunk(cmd.upload_id, *upload, cmd.chunk));
  ChunkInfo mark = cmd.chunk;
  mark.corrupt.clear();
  // A chunk this mark replaces stays allocated, and becomes garbage when
  // the upload ends.
  uploads_.mark_written(batch, cmd.upload_id, mark);
  UploadRecord touched = *upload;
  touched.last_active_ms = std::max(upload->last_active_ms, now_ms);
  uploads_.put(batch, cmd.upload_id, touched, &*upload);
  return Status::ok();
}

Status Namespace::apply_part_written(const PartWrittenCmd& cmd, const Caller& who, int64_t now_ms,
                                     rocksdb::WriteBatch* batch, Outcome* out) {
  auto upload = own_upload(who, cmd.upload_id);
  if (!upload.is_ok()) return upload.status();
  if (!upload->multipart) {
    return invalid_argument("upload " + cmd.upload_id + " is not a multipart upload");
  }
  PartRecord part{cmd.etag, 0, now_ms, cmd.chunks};
  for (const auto& c : cmd.chunks) {
    DFS_RETURN_IF_ERROR(check_upload_chunk(cmd.upload_id, *upload, c));
    part.size += c.size;
  }
  // The part this one replaces (a client sending it again) is garbage
  // now: no commit can name it any more, and an upload retrying parts
  // must not hold their space until it ends.
  if (auto replaced = uploads_.part(cmd.upload_id, cmd.number)) {
    std::unordered_set<std::string> kept;
    for (const auto& c : cmd.chunks) kept.insert(c.id);
    std::vector<ChunkInfo> garbage;
    for (const auto& c : replaced->chunks) {
      auto allocation = uploads_.allocation(cmd.upload_id, c.id);
      if (kept.count(c.id) || !allocation) continue;
      for (const auto& w : allocation->workers) out->released.emplace_back(w, allocation->size);
      garbage.push_back(garbage_chunk(c.id, allocation->workers));
      uploads_.remove_allocation(batch, cmd.upload_id, c.id);
    }
    add_garbage(batch, garbage);
  }
  uploads_.put_part(batch, cmd.upload_id, cmd.number, part);
  UploadRecord touched = *upload;
  touched.last_active_ms = std::max(upload->last_active_ms, now_ms);
  uploads_.put(batch, cmd.upload_id, touched, &*upload);
  return Status::ok();
}

Result<std::vector<ChunkInfo>> Namespace::commit_parts(const CommitUploadCmd& cmd,
                                                       const UploadRecord& upload) const {
  std::vector<ChunkInfo> chunks;
  for (const auto& ref : cmd.parts) {
    auto part = uploads_.part(cmd.upload_id, ref.number);
    const std::string name = "part " + std::to_string(ref.number);
    if (!part) return invalid_argument(name + " of the upload was never written");
    if (part->etag != ref.etag) {
      return invalid_argument(name + " was written with ETag " + part->etag + ", not " + ref.etag);
    }
    for (ChunkInfo c : part->chunks) {
      DFS_RETURN_IF_ERROR(check_upload_chunk(cmd.upload_id, upload, c));
      c.index = chunks.size();  // end to end, numbered from 0
      chunks.push_back(std::move(c));
    }
  }
  return chunks;
}

Result<std::vector<ChunkInfo>> Namespace::commit_chunks(const CommitUploadCmd& cmd,
                                                        const UploadRecord& upload) const {
  if (upload.multipart != !cmd.parts.empty()) {
    return invalid_argument(upload.multipart ? "a multipart upload commits by naming its parts"
                                             : "only a multipart upload has parts to name");
  }
  if (upload.multipart) {
    auto chunks = commit_parts(cmd, upload);
    if (!chunks.is_ok()) return chunks.status();
    uint64_t total = 0;
    for (const auto& c : chunks.value()) total += c.size;
    if (total != cmd.size) {
      return invalid_argument("the parts named hold " + std::to_string(total) + " bytes, not " +
                              std::to_string(cmd.size));
    }
    return chunks;
  }
  const bool from_marks = cmd.chunks.empty();
  std::vector<ChunkInfo> chunks = from_marks ? uploads_.written(cmd.upload_id) : cmd.chunks;
  uint64_t expected_chunks = (cmd.size + upload.chunk_size - 1) / upload.chunk_size;
  if (chunks.size() != expected_chunks) {
    return invalid_argument("a file of " + std::to_string(cmd.size) + " bytes has " +
                            std::to_string(expected_chunks) + " chunks, " +
                            (from_marks ? "written " : "got ") + std::to_string(chunks.size()));
  }
  for (size_t i = 0; i < chunks.size(); ++i) {
    const auto& c = chunks[i];
    if (c.index != i) {
      return invalid_argument("chunk " + std::to_string(i) + " of the upload is not written");
    }
    bool last = c.index + 1 == expected_chunks;
    uint64_t want = last ? cmd.size - c.index * upload.chunk_size : upload.chunk_size;
    if (c.size != want) {
      return invalid_argument("chunk " + std::to_string(c.index) + " has the wrong size");
    }
    DFS_RETURN_IF_ERROR(check_upload_chunk(cmd.upload_id, upload, c));
  }
  return chunks;
}

Status Namespace::apply_commit_upload(const CommitUploadCmd& cmd, const Caller& who, int64_t now_ms,
                                      rocksdb::WriteBatch* batch, Outcome* out) {
  auto upload = own_upload(who, cmd.upload_id);
  if (!upload.is_ok()) return upload.status();
  if (upload->lease != !cmd.path.empty()) {
    return invalid_argument(upload->lease ? "a lease's slot commits as a file at a path it names"
                                          : "only a lease's slot commits at a path it names");
  }
  if (upload->lease) return apply_commit_slot(cmd, who, now_ms, *upload, batch, out);
  auto listed = commit_chunks(cmd, *upload);
  if (!listed.is_ok()) return listed.status();
  std::vector<ChunkInfo> chunks = std::move(listed).value();
  CommitFileCmd file{
      upload->path, upload->overwrite, cmd.size, upload->chunk_size, upload->replication, chunks,
      now_ms,       upload->mode,      cmd.etag};
  DFS_RETURN_IF_ERROR(file.validate());
  // A commit from marks or parts is small, but the file's record must
  // still fit one message (a stat answers with it): the bound an explicit
  // list has.
  if (cmd.chunks.empty() && encode(file).size() > kMaxBodyBytes / 2) {
    return invalid_argument("a file of " + std::to_string(chunks.size()) +
                            " chunks is more than one record holds; use bigger chunks");
  }
  // Checked again now: the directory's mode may have changed meanwhile.
  DFS_RETURN_IF_ERROR(apply_commit(file, who, batch));
  drop_upload(batch, cmd.upload_id, *upload, chunks, out);
  out->event =
      ClusterEvent{"file.committed", upload->path, std::to_string(cmd.size) + " bytes", 0, 0};
  return Status::ok();
}

Status Namespace::apply_commit_slot(const CommitUploadCmd& cmd, const Caller& who, int64_t now_ms,
                                    const UploadRecord& lease, rocksdb::WriteBatch* batch,
                                    Outcome* out) {
  ChunkInfo chunk = cmd.chunks.at(0);  // validated: exactly one, of the file's size
  DFS_RETURN_IF_ERROR(check_upload_chunk(cmd.upload_id, lease, chunk));
  CommitFileCmd file{cmd.path, cmd.overwrite, cmd.size, lease.chunk_size, lease.replication,
                     {chunk},  now_ms,        cmd.mode, cmd.etag};
  DFS_RETURN_IF_ERROR(file.validate());
  DFS_RETURN_IF_ERROR(apply_commit(file, who, batch));
  if (uploads_.allocations(cmd.upload_id).size() == 1) {
    uploads_.remove(batch, cmd.upload_id, lease);  // its last slot: the lease ends
    --counters_.uploads;
  } else {
    uploads_.remove_allocation(batch, cmd.upload_id, chunk.id);
    UploadRecord touched = lease;
    touched.last_active_ms = std::max(lease.last_active_ms, now_ms);
    uploads_.put(batch, cmd.upload_id, touched, &lease);
  }
  out->event = ClusterEvent{"file.committed", cmd.path, std::to_string(cmd.size) + " bytes", 0, 0};
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
  const int64_t lease_cutoff =
      cmd.lease_idle_ms > 0 ? std::max<int64_t>(now_ms - cmd.lease_idle_ms, 0) : upload_cutoff;
  for (const auto& id : uploads_.idle_before(std::max(upload_cutoff, lease_cutoff), kPerEntry)) {
    auto upload = uploads_.find(id);
    if (upload && (upload->lease || upload->last_active_ms < upload_cutoff)) {
      drop_upload(batch, id, *upload, {}, out);
    }
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
