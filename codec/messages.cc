#include "codec/messages.h"
#include "codec/commands.h"
#include "codec/path.h"
#include "codec/sha256.h"

#include <set>

namespace dfs {
namespace {

bool is_lower_hex(std::string_view s, size_t len) {
  if (s.size() != len) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Status check_path(std::string_view what, const std::string& path) {
  if (!is_normal_path(path)) {
    auto n = normalize_path(path);
    std::string why = n.is_ok() ? "not normalized" : n.status().message();
    return invalid_argument(std::string(what) + " '" + path + "': " + why);
  }
  return Status::ok();
}

Status check_umask(uint32_t umask) {
  if (umask & ~kPermissionBits) return invalid_argument("umask has bits beyond 0777");
  return Status::ok();
}

// A mode to set: permission bits, or kModeUnset.
Status check_mode(uint32_t mode) {
  if (mode != kModeUnset && (mode & ~kPermissionBits)) {
    return invalid_argument("mode has bits beyond 0777");
  }
  return Status::ok();
}

Status check_ownership(const std::string& path, uint32_t mode, const std::string& owner,
                       const std::string& group) {
  DFS_RETURN_IF_ERROR(check_path("path", path));
  DFS_RETURN_IF_ERROR(check_mode(mode));
  if (!owner.empty() && !is_user_name(owner)) {
    return invalid_argument("'" + owner + "' is not a user name");
  }
  if (!group.empty() && !is_user_name(group)) {
    return invalid_argument("'" + group + "' is not a group name");
  }
  if (mode == kModeUnset && owner.empty() && group.empty()) {
    return invalid_argument("nothing to change: no mode, owner or group given");
  }
  return Status::ok();
}

Status check_endpoint(const std::string& endpoint) {
  if (endpoint.empty() || endpoint.size() > 256 || endpoint.rfind("tcp://", 0) != 0) {
    return invalid_argument("endpoint '" + endpoint + "' is not tcp://host:port");
  }
  return Status::ok();
}

Status check_chunk_ids(const std::vector<std::string>& ids) {
  if (ids.size() > kMaxIdsPerMessage) return invalid_argument("too many chunk ids");
  for (const auto& id : ids) {
    if (!is_chunk_id(id)) return invalid_argument("bad chunk id '" + id + "'");
  }
  return Status::ok();
}

Status check_chunk_list(const std::vector<ChunkInfo>& chunks, bool dense) {
  if (chunks.size() > kMaxChunksPerFile) return invalid_argument("too many chunks");
  for (size_t i = 0; i < chunks.size(); ++i) {
    DFS_RETURN_IF_ERROR(chunks[i].validate());
    if (dense && chunks[i].index != i) {
      return invalid_argument("chunk " + std::to_string(i) + " has index " +
                              std::to_string(chunks[i].index));
    }
  }
  return Status::ok();
}

Status check_worker_ids(const std::vector<std::string>& a, const std::vector<std::string>& b = {}) {
  if (a.size() > kMaxReplication || b.size() > kMaxReplication) {
    return invalid_argument("too many replicas");
  }
  for (const auto* list : {&a, &b}) {
    for (const auto& w : *list) {
      if (!is_worker_id(w)) return invalid_argument("bad replica worker id '" + w + "'");
    }
  }
  return Status::ok();
}

// A pipeline member must say where its PULL socket is.
Status check_pipeline(const std::vector<WorkerAddr>& workers) {
  if (workers.size() > kMaxReplication) return invalid_argument("pipeline too long");
  for (const auto& w : workers) {
    DFS_RETURN_IF_ERROR(w.validate());
    if (w.pipeline.empty()) return invalid_argument("worker " + w.id + " has no pipeline endpoint");
  }
  return Status::ok();
}

Status check_chunk_size(uint64_t chunk_size, bool zero_ok) {
  if (chunk_size == 0 && zero_ok) return Status::ok();
  if (chunk_size < kMinChunkSize || chunk_size > kMaxChunkSize) {
    return invalid_argument("chunk size " + std::to_string(chunk_size) + " outside [" +
                            std::to_string(kMinChunkSize) + ", " + std::to_string(kMaxChunkSize) +
                            "]");
  }
  return Status::ok();
}

}  // namespace

bool is_chunk_id(std::string_view s) { return is_lower_hex(s, 32); }

bool is_worker_id(std::string_view s) {
  if (s.empty() || s.size() > 32) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool is_z85_text(std::string_view s) {
  static constexpr std::string_view kAlphabet =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
  if (s.size() != 40) return false;
  for (char c : s) {
    if (kAlphabet.find(c) == std::string_view::npos) return false;
  }
  return true;
}

Status WorkerAddr::validate() const {
  if (!is_worker_id(id)) return invalid_argument("bad worker id '" + id + "'");
  DFS_RETURN_IF_ERROR(check_endpoint(endpoint));
  if (!pipeline.empty()) DFS_RETURN_IF_ERROR(check_endpoint(pipeline));
  if (!key.empty() && !is_z85_text(key)) return invalid_argument("bad key for worker " + id);
  return Status::ok();
}

Status ChunkInfo::validate() const {
  if (!is_chunk_id(id)) return invalid_argument("bad chunk id '" + id + "'");
  if (size == 0 || size > kMaxChunkSize) return invalid_argument("bad chunk size");
  if (!is_sha256_hex(sha256)) return invalid_argument("bad sha256 for chunk " + id);
  return check_worker_ids(replicas, corrupt);
}

Status ChunkTicket::validate() const {
  if (!chunk_id.empty() && !is_chunk_id(chunk_id)) return invalid_argument("ticket: bad chunk id");
  if (!user.empty() && !is_user_name(user)) return invalid_argument("ticket: bad user name");
  if (!op.empty() && op != "read" && op != "write")
    return invalid_argument("ticket: bad operation");
  if (signature.size() > 64) return invalid_argument("ticket: signature too long");
  return Status::ok();
}

Status EntryInfo::validate() const {
  if (name != "/") DFS_RETURN_IF_ERROR(check_name(name));
  if (kind != static_cast<uint8_t>(EntryKind::kFile) &&
      kind != static_cast<uint8_t>(EntryKind::kDirectory)) {
    return invalid_argument("bad entry kind");
  }
  return Status::ok();
}

Status WorkerInfo::validate() const {
  if (!is_worker_id(id)) return invalid_argument("bad worker id");
  return Status::ok();
}

Status ErrorReply::validate() const {
  if (code == 0 || code > static_cast<uint16_t>(kLastCode)) {
    return invalid_argument("bad error code " + std::to_string(code));
  }
  return Status::ok();
}

Status ErrorReply::to_status() const { return {static_cast<Code>(code), message}; }

Status MkdirRequest::validate() const {
  DFS_RETURN_IF_ERROR(check_umask(umask));
  return check_path("path", path);
}

Status SetAttrRequest::validate() const { return check_ownership(path, mode, owner, group); }
Status SetAttrCmd::validate() const { return check_ownership(path, mode, owner, group); }
Status StatRequest::validate() const { return check_path("path", path); }

Status StatReply::validate() const {
  DFS_RETURN_IF_ERROR(entry.validate());
  DFS_RETURN_IF_ERROR(check_chunk_list(chunks, /*dense=*/true));
  for (const auto& w : workers) DFS_RETURN_IF_ERROR(w.validate());
  return Status::ok();
}

Status ListRequest::validate() const {
  DFS_RETURN_IF_ERROR(check_path("path", path));
  if (limit == 0 || limit > kMaxListPage) return invalid_argument("bad page limit");
  if (prefix.size() > kMaxNameBytes || start_after.size() > kMaxNameBytes) {
    return invalid_argument("prefix or start_after too long");
  }
  return Status::ok();
}

Status ListReply::validate() const {
  if (entries.size() > kMaxListPage) return invalid_argument("page too large");
  for (const auto& e : entries) DFS_RETURN_IF_ERROR(e.validate());
  return Status::ok();
}

Status DeleteRequest::validate() const { return check_path("path", path); }

Status RenameRequest::validate() const {
  DFS_RETURN_IF_ERROR(check_path("source", src));
  return check_path("destination", dst);
}

Status CreateUploadRequest::validate() const {
  if (slots > kMaxSlotsPerLease) return invalid_argument("too many slots in one lease");
  if (slots != 0) {
    if (!path.empty()) return invalid_argument("a lease of slots has no path");
    if (multipart) return invalid_argument("a lease of slots is not a multipart upload");
    if (first_chunk_size == 0 || first_chunk_size > kMaxSlotBytes) {
      return invalid_argument("a slot is 1 byte to " + std::to_string(kMaxSlotBytes) + " bytes");
    }
  } else {
    DFS_RETURN_IF_ERROR(check_path("path", path));
    if (path == "/") return invalid_argument("cannot write a file at '/'");
  }
  DFS_RETURN_IF_ERROR(check_chunk_size(chunk_size, /*zero_ok=*/true));
  if (replication > kMaxReplication) return invalid_argument("replication too high");
  if (replication != 0 && min_replication > replication) {
    return invalid_argument("minimum replication above the replication");
  }
  if (min_replication > kMaxReplication) return invalid_argument("minimum replication too high");
  if (first_chunk_size > kMaxChunkSize) return invalid_argument("first chunk too large");
  if (multipart && first_chunk_size != 0) {
    return invalid_argument("a multipart upload's chunks are its parts': no first chunk");
  }
  return check_umask(umask);
}

Status CreateFileRequest::validate() const {
  DFS_RETURN_IF_ERROR(check_umask(umask));
  DFS_RETURN_IF_ERROR(check_path("path", path));
  if (path == "/") return invalid_argument("cannot write a file at '/'");
  DFS_RETURN_IF_ERROR(check_chunk_size(chunk_size, /*zero_ok=*/true));
  if (replication > kMaxReplication) return invalid_argument("replication too high");
  return Status::ok();
}

Status CreateUploadReply::validate() const {
  if (!is_lower_hex(upload_id, 32)) return invalid_argument("bad upload id");
  DFS_RETURN_IF_ERROR(check_chunk_size(chunk_size, /*zero_ok=*/false));
  if (replication == 0 || replication > kMaxReplication) return invalid_argument("bad replication");
  if (min_replication == 0 || min_replication > replication) {
    return invalid_argument("bad minimum replication");
  }
  if (first_chunk.size() > 1) return invalid_argument("more than one first chunk");
  for (const auto& c : first_chunk) DFS_RETURN_IF_ERROR(c.validate());
  if (slots.size() > kMaxSlotsPerLease) return invalid_argument("too many slots");
  for (const auto& c : slots) DFS_RETURN_IF_ERROR(c.validate());
  return Status::ok();
}

Status AllocateChunkRequest::validate() const {
  if (!is_lower_hex(upload_id, 32)) return invalid_argument("bad upload id");
  if (size == 0 || size > kMaxChunkSize) return invalid_argument("bad chunk size");
  if (index >= kMaxChunksPerFile) return invalid_argument("chunk index too large");
  if (exclude.size() > 1024) return invalid_argument("exclude list too long");
  for (const auto& w : exclude) {
    if (!is_worker_id(w)) return invalid_argument("bad worker id '" + w + "'");
  }
  return Status::ok();
}

Status AllocateChunkReply::validate() const {
  if (!is_chunk_id(chunk_id)) return invalid_argument("bad chunk id");
  if (pipeline.empty()) return invalid_argument("empty pipeline");
  return check_pipeline(pipeline);
}

namespace {
Status check_part_number(uint32_t number) {
  if (number == 0 || number > kMaxParts) {
    return invalid_argument("part number " + std::to_string(number) + " outside [1, " +
                            std::to_string(kMaxParts) + "]");
  }
  return Status::ok();
}

// A part's chunks sit at consecutive indexes from its number's stride.
Status check_part(uint32_t number, const std::string& etag, const std::vector<ChunkInfo>& chunks) {
  DFS_RETURN_IF_ERROR(check_part_number(number));
  if (etag.size() > kMaxEtagBytes) return invalid_argument("etag too long");
  if (chunks.size() > kPartIndexStride) {
    return invalid_argument("a part of " + std::to_string(chunks.size()) + " chunks; at most " +
                            std::to_string(kPartIndexStride));
  }
  for (size_t i = 0; i < chunks.size(); ++i) {
    DFS_RETURN_IF_ERROR(chunks[i].validate());
    if (chunks[i].index != number * kPartIndexStride + i) {
      return invalid_argument("chunk " + std::to_string(i) + " of part " + std::to_string(number) +
                              " has index " + std::to_string(chunks[i].index));
    }
  }
  return Status::ok();
}

// The parts a commit names: in increasing order, each once, and never
// together with a chunk list.
Status check_commit(const std::string& etag, const std::vector<ChunkInfo>& chunks,
                    const std::vector<PartRef>& parts) {
  if (etag.size() > kMaxEtagBytes) return invalid_argument("etag too long");
  if (parts.size() > kMaxParts) return invalid_argument("too many parts");
  if (!parts.empty() && !chunks.empty()) return invalid_argument("both parts and chunks named");
  for (size_t i = 0; i < parts.size(); ++i) {
    DFS_RETURN_IF_ERROR(parts[i].validate());
    if (i > 0 && parts[i].number <= parts[i - 1].number) {
      return invalid_argument("parts must be named in increasing order");
    }
  }
  return check_chunk_list(chunks, /*dense=*/true);
}

// A lease's slot committed as a file at `path` (empty: not a slot's commit).
Status check_slot_commit(const std::string& path, uint64_t size,
                         const std::vector<ChunkInfo>& chunks, const std::vector<PartRef>& parts) {
  if (path.empty()) return Status::ok();
  DFS_RETURN_IF_ERROR(check_path("path", path));
  if (path == "/") return invalid_argument("cannot write a file at '/'");
  if (chunks.size() != 1 || !parts.empty()) {
    return invalid_argument("a slot commits as a file of exactly one chunk");
  }
  if (chunks[0].size != size) return invalid_argument("a slot's file is its chunk's size");
  return Status::ok();
}
}  // namespace

Status PartRef::validate() const {
  DFS_RETURN_IF_ERROR(check_part_number(number));
  if (etag.size() > kMaxEtagBytes) return invalid_argument("etag too long");
  return Status::ok();
}

Status CommitUploadRequest::validate() const {
  if (!is_lower_hex(upload_id, 32)) return invalid_argument("bad upload id");
  DFS_RETURN_IF_ERROR(check_umask(umask));
  DFS_RETURN_IF_ERROR(check_slot_commit(path, size, chunks, parts));
  return check_commit(etag, chunks, parts);
}

Status PartWrittenRequest::validate() const {
  if (!is_lower_hex(upload_id, 32)) return invalid_argument("bad upload id");
  return check_part(number, etag, chunks);
}

Status PartListing::validate() const {
  DFS_RETURN_IF_ERROR(check_part_number(number));
  if (etag.size() > kMaxEtagBytes) return invalid_argument("etag too long");
  return Status::ok();
}

Status ChunkWrittenRequest::validate() const {
  if (!is_lower_hex(upload_id, 32)) return invalid_argument("bad upload id");
  return chunk.validate();
}

Status UploadsRequest::validate() const {
  if (!upload_id.empty() && !is_lower_hex(upload_id, 32)) return invalid_argument("bad upload id");
  return Status::ok();
}

Status UploadListing::validate() const {
  if (!is_lower_hex(upload_id, 32)) return invalid_argument("bad upload id");
  if (parts.size() > kMaxPartsListed) return invalid_argument("too many parts");
  for (const auto& p : parts) DFS_RETURN_IF_ERROR(p.validate());
  return check_chunk_list(chunks, /*dense=*/false);
}

Status UploadsReply::validate() const {
  if (uploads.size() > kMaxListPage) return invalid_argument("too many uploads");
  for (const auto& u : uploads) DFS_RETURN_IF_ERROR(u.validate());
  return Status::ok();
}

Status AbortUploadRequest::validate() const {
  if (!is_lower_hex(upload_id, 32)) return invalid_argument("bad upload id");
  return Status::ok();
}

Status ClusterStatusReply::validate() const {
  for (const auto& w : workers) DFS_RETURN_IF_ERROR(w.validate());
  return Status::ok();
}

Status WriteChunkFrame::validate() const {
  if (!is_chunk_id(chunk_id)) return invalid_argument("bad chunk id");
  if (total_size == 0 || total_size > kMaxChunkSize) return invalid_argument("bad chunk size");
  if (offset >= total_size) return invalid_argument("offset past the end of the chunk");
  if (last && !is_sha256_hex(sha256)) return invalid_argument("last frame without a valid sha256");
  if (!block_crcs.empty()) {
    if (offset % kCrcBlockSize != 0) return invalid_argument("block CRCs on a frame off a block");
    if (block_crcs.size() > kMaxFrameBytes / kCrcBlockSize) {
      return invalid_argument("more block CRCs than a frame has blocks");
    }
  }
  return check_pipeline(downstream);
}

Status ReplicaFrame::validate() const {
  DFS_RETURN_IF_ERROR(frame.validate());
  if (earlier.size() >= kMaxReplication) return invalid_argument("chain too long");
  for (const auto& id : earlier) {
    if (!is_worker_id(id)) return invalid_argument("bad worker id in the chain");
  }
  return check_pipeline({upstream});
}

Status ReplicaAck::validate() const {
  if (!is_chunk_id(chunk_id)) return invalid_argument("bad chunk id");
  if (!is_worker_id(worker_id)) return invalid_argument("bad worker id");
  if (code > static_cast<uint16_t>(kLastCode)) return invalid_argument("bad error code");
  if (message.size() > 4096) return invalid_argument("message too long");
  return Status::ok();
}

Status ReplicaAbort::validate() const {
  if (!is_chunk_id(chunk_id)) return invalid_argument("bad chunk id");
  if (reason.size() > 4096) return invalid_argument("reason too long");
  return Status::ok();
}

Status ReportBadReplicaRequest::validate() const {
  DFS_RETURN_IF_ERROR(check_path("path", path));
  if (!is_chunk_id(chunk_id)) return invalid_argument("bad chunk id");
  if (!is_worker_id(worker_id)) return invalid_argument("bad worker id");
  if (reason.size() > 4096) return invalid_argument("reason too long");
  return Status::ok();
}

Status FsckRequest::validate() const { return check_path("path", path); }

Status FsckProblem::validate() const {
  DFS_RETURN_IF_ERROR(check_path("path", path));
  DFS_RETURN_IF_ERROR(chunk.validate());
  return check_worker_ids(good, down);
}

Status FsckReply::validate() const {
  if (problems.size() > kMaxFsckProblems) return invalid_argument("too many problems");
  for (const auto& p : problems) DFS_RETURN_IF_ERROR(p.validate());
  return Status::ok();
}

Status WriteChunkAck::validate() const {
  if (!is_chunk_id(chunk_id)) return invalid_argument("bad chunk id");
  return Status::ok();
}

Status ReadChunkRequest::validate() const {
  if (!is_chunk_id(chunk_id)) return invalid_argument("bad chunk id");
  if (length == 0 || length > kMaxFrameBytes) return invalid_argument("bad read length");
  return Status::ok();
}

Status BulkSessionReply::validate() const {
  if (session.size() != 16 || key.size() != 32) return invalid_argument("bad bulk session secret");
  return check_endpoint(endpoint);
}

Status ReadChunkReply::validate() const {
  if (!is_chunk_id(chunk_id)) return invalid_argument("bad chunk id");
  if (offset > total_size) return invalid_argument("offset past the end");
  if (!block_crcs.empty() && (block_size == 0 || offset % block_size != 0)) {
    return invalid_argument("block CRCs without whole blocks");
  }
  // One frame's worth, of the smallest block a chunk may have.
  if (block_crcs.size() > kMaxFrameBytes / 4096 + 1) return invalid_argument("too many block CRCs");
  return Status::ok();
}

Status Heartbeat::validate() const {
  WorkerAddr self{worker_id, endpoint, pipeline, key};
  DFS_RETURN_IF_ERROR(check_pipeline({self}));
  if (bad.size() > kMaxBadPerHeartbeat) return invalid_argument("too many bad chunks");
  if (fs_id.size() > 64) return invalid_argument("filesystem id too long");
  for (const auto& b : bad) {
    if (!is_chunk_id(b.chunk_id)) return invalid_argument("bad chunk id '" + b.chunk_id + "'");
    if (b.reason.size() > 256) return invalid_argument("reason too long");
  }
  return check_chunk_ids(deleted);
}

Status DeleteChunksJob::validate() const {
  if (!is_worker_id(worker_id)) return invalid_argument("bad worker id");
  return check_chunk_ids(chunk_ids);
}

Status ChunkReport::validate() const {
  if (!is_worker_id(worker_id)) return invalid_argument("bad worker id");
  if (chunk_ids.size() > kMaxReportPage) return invalid_argument("report page too large");
  if (report != 0 &&
      (pages == 0 || page >= pages || pages > kMaxChunksPerWorker / kMaxReportPage)) {
    return invalid_argument("bad report page");
  }
  return check_chunk_ids(chunk_ids);
}

Status ReplicateChunkJob::validate() const {
  if (!is_lower_hex(job_id, 32)) return invalid_argument("bad job id");
  if (!is_worker_id(source)) return invalid_argument("bad source worker id");
  if (!is_chunk_id(chunk_id)) return invalid_argument("bad chunk id");
  if (size == 0 || size > kMaxChunkSize) return invalid_argument("bad chunk size");
  if (!is_lower_hex(sha256, 64)) return invalid_argument("bad sha256");
  if (targets.empty() || targets.size() > kMaxReplication) return invalid_argument("bad targets");
  for (const auto& t : targets) {
    DFS_RETURN_IF_ERROR(t.validate());
    if (t.id == source) return invalid_argument("a job cannot copy a chunk onto its source");
  }
  return Status::ok();
}

Status ReplicateChunkDone::validate() const {
  if (!is_lower_hex(job_id, 32)) return invalid_argument("bad job id");
  if (!is_worker_id(source)) return invalid_argument("bad source worker id");
  if (!is_chunk_id(chunk_id)) return invalid_argument("bad chunk id");
  if (targets.size() > kMaxReplication) return invalid_argument("bad targets");
  for (const auto& t : targets) {
    if (!is_worker_id(t)) return invalid_argument("bad target worker id");
  }
  if (code > static_cast<uint16_t>(kLastCode)) return invalid_argument("bad code");
  if (!culprit.empty() && !is_worker_id(culprit)) return invalid_argument("bad culprit");
  if (message.size() > 4096) return invalid_argument("message too long");
  return Status::ok();
}

Status ClusterEvent::validate() const {
  if (kind.empty() || kind.size() > 64) return invalid_argument("bad event kind");
  return Status::ok();
}

Status MkdirCmd::validate() const {
  DFS_RETURN_IF_ERROR(check_mode(mode));
  return check_path("path", path);
}

Status CommitFileCmd::validate() const {
  DFS_RETURN_IF_ERROR(check_path("path", path));
  if (etag.size() > kMaxEtagBytes) return invalid_argument("etag too long");
  if (path == "/") return invalid_argument("cannot write a file at '/'");
  DFS_RETURN_IF_ERROR(check_chunk_size(chunk_size, /*zero_ok=*/false));
  DFS_RETURN_IF_ERROR(check_chunk_list(chunks, /*dense=*/true));
  uint64_t total = 0;
  for (const auto& c : chunks) total += c.size;
  if (total != size) return invalid_argument("chunk sizes do not add up to the file size");
  return check_mode(mode);
}

Status DeleteCmd::validate() const { return check_path("path", path); }

Status RenameCmd::validate() const {
  DFS_RETURN_IF_ERROR(check_path("source", src));
  return check_path("destination", dst);
}

namespace {
// "host:port" with a port number, as the api endpoints are written.
bool is_host_port(const std::string& s) {
  auto colon = s.rfind(':');
  if (s.empty() || s.size() > 255 || colon == std::string::npos || colon == 0) return false;
  std::string port = s.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
    return false;
  int p = std::stoi(port);
  return p > 0 && p <= 65535;
}
}  // namespace

namespace {
Status check_worker_id(const std::string& id) {
  if (!is_worker_id(id)) return invalid_argument("bad worker id '" + id + "'");
  return Status::ok();
}
}  // namespace

Status WorkerDrainRequest::validate() const { return check_worker_id(worker_id); }

Status WorkerDrainCmd::validate() const { return check_worker_id(worker_id); }

Status MemberChangeRequest::validate() const {
  if (op == "add") {
    if (!is_host_port(endpoint)) return invalid_argument("add needs the new master's host:port");
    return Status::ok();
  }
  if (op == "remove" || op == "transfer") {
    if (id == 0) return invalid_argument(op + " needs a master id");
    return Status::ok();
  }
  return invalid_argument("unknown membership operation '" + op + "' (add, remove, transfer)");
}

Status MemberChangeCmd::validate() const {
  if (op != "add" && op != "remove") return invalid_argument("bad membership command");
  if (id == 0) return invalid_argument("membership command without an id");
  if (op == "add" && !is_host_port(api)) return invalid_argument("bad master endpoint");
  return Status::ok();
}

Status GcDoneCmd::validate() const {
  if (!is_worker_id(worker_id)) return invalid_argument("bad worker id");
  return check_chunk_ids(chunk_ids);
}

Status AddGarbageCmd::validate() const { return check_chunk_list(chunks, /*dense=*/false); }

Status MarkReplicaBadCmd::validate() const {
  if (!is_chunk_id(chunk_id)) return invalid_argument("bad chunk id");
  if (!is_worker_id(worker_id)) return invalid_argument("bad worker id");
  if (!path.empty()) DFS_RETURN_IF_ERROR(check_path("path", path));
  if (reason.size() > 1024) return invalid_argument("reason too long");
  return Status::ok();
}

Status Command::validate() const {
  if (!is_known_msg_type(type))
    return invalid_argument("unknown command type " + std::to_string(type));
  return caller.validate();
}

Status ChunkSlot::validate() const {
  if (!is_chunk_id(chunk_id)) return invalid_argument("bad slot chunk id");
  if (pipeline.empty() || pipeline.size() > kMaxReplication) {
    return invalid_argument("bad slot pipeline");
  }
  for (const auto& w : pipeline) DFS_RETURN_IF_ERROR(w.validate());
  return Status::ok();
}

Status CreateUploadCmd::validate() const {
  if (!is_lower_hex(upload_id, 32)) return invalid_argument("bad upload id");
  if (slots.size() > kMaxSlotsPerLease) return invalid_argument("too many slots");
  if (slots.empty()) {
    DFS_RETURN_IF_ERROR(check_path("path", path));
    if (path == "/") return invalid_argument("cannot write a file at '/'");
  } else if (!path.empty() || multipart || !first_chunk_id.empty()) {
    return invalid_argument("a lease of slots has no path, parts or first chunk");
  }
  DFS_RETURN_IF_ERROR(check_chunk_size(chunk_size, /*zero_ok=*/false));
  if (replication == 0 || replication > kMaxReplication) return invalid_argument("bad replication");
  if (min_replication == 0 || min_replication > replication)
    return invalid_argument("bad minimum replication");
  if (!first_chunk_id.empty() || !slots.empty()) {
    if (first_chunk_size == 0 || first_chunk_size > chunk_size ||
        (!slots.empty() && first_chunk_size > kMaxSlotBytes)) {
      return invalid_argument("bad first chunk or slot size");
    }
  }
  if (!first_chunk_id.empty()) {
    if (!is_chunk_id(first_chunk_id)) return invalid_argument("bad first chunk id");
    if (multipart) return invalid_argument("a multipart upload has no first chunk");
    if (first_pipeline.empty() || first_pipeline.size() > kMaxReplication) {
      return invalid_argument("bad first chunk pipeline");
    }
    for (const auto& w : first_pipeline) DFS_RETURN_IF_ERROR(w.validate());
  } else if (!first_pipeline.empty() || (slots.empty() && first_chunk_size != 0)) {
    return invalid_argument("a first chunk without an id");
  }
  std::set<std::string> ids;
  for (const auto& slot : slots) {
    DFS_RETURN_IF_ERROR(slot.validate());
    if (!ids.insert(slot.chunk_id).second) return invalid_argument("a slot id twice");
  }
  return check_mode(mode);
}

Status AllocateChunkCmd::validate() const {
  if (!is_lower_hex(upload_id, 32)) return invalid_argument("bad upload id");
  if (!is_chunk_id(chunk_id)) return invalid_argument("bad chunk id");
  if (size == 0 || size > kMaxChunkSize) return invalid_argument("bad chunk size");
  if (pipeline.empty() || pipeline.size() > kMaxReplication)
    return invalid_argument("bad pipeline");
  for (const auto& w : pipeline) DFS_RETURN_IF_ERROR(w.validate());
  return Status::ok();
}

Status CommitUploadCmd::validate() const {
  if (!is_lower_hex(upload_id, 32)) return invalid_argument("bad upload id");
  DFS_RETURN_IF_ERROR(check_mode(mode));
  DFS_RETURN_IF_ERROR(check_slot_commit(path, size, chunks, parts));
  return check_commit(etag, chunks, parts);
}

Status PartWrittenCmd::validate() const {
  if (!is_lower_hex(upload_id, 32)) return invalid_argument("bad upload id");
  return check_part(number, etag, chunks);
}

Status ChunkWrittenCmd::validate() const {
  if (!is_lower_hex(upload_id, 32)) return invalid_argument("bad upload id");
  return chunk.validate();
}

Status AbortUploadCmd::validate() const {
  if (!is_lower_hex(upload_id, 32)) return invalid_argument("bad upload id");
  return Status::ok();
}

Status ExpireCmd::validate() const {
  if (upload_idle_ms <= 0 || session_idle_ms <= 0) return invalid_argument("bad expiry");
  return Status::ok();
}

Status CollectOrphansCmd::validate() const {
  if (!is_worker_id(worker_id)) return invalid_argument("bad worker id");
  return check_chunk_ids(chunk_ids);
}

Status ReplicaAddedCmd::validate() const {
  if (parent == 0 || name.empty()) return invalid_argument("bad entry");
  if (!is_chunk_id(chunk_id)) return invalid_argument("bad chunk id");
  if (workers.empty() || workers.size() > kMaxReplication) return invalid_argument("bad workers");
  for (const auto& w : workers) {
    if (!is_worker_id(w)) return invalid_argument("bad worker id");
  }
  return Status::ok();
}

Status ReplicaDroppedCmd::validate() const {
  if (parent == 0 || name.empty()) return invalid_argument("bad entry");
  if (!is_chunk_id(chunk_id)) return invalid_argument("bad chunk id");
  if (!is_worker_id(worker_id)) return invalid_argument("bad worker id");
  if (reason.size() > 1024) return invalid_argument("reason too long");
  return Status::ok();
}

namespace {
// One line of a keyring, not yet parsed (bus/keyring.h does that): bounded
// and a single line.
Status check_key_line(const std::string& line) {
  if (line.empty() || line.size() > kMaxKeyLineBytes) return invalid_argument("bad keyring line");
  if (line.find_first_of("\n\r", 0) != std::string::npos || line.find('\0') != std::string::npos) {
    return invalid_argument("a keyring line is one line");
  }
  return Status::ok();
}
Status check_public_key(const std::string& key) {
  return is_z85_text(key) ? Status::ok() : invalid_argument("not a Z85 public key");
}
}  // namespace

Status KeyringUpdate::validate() const {
  if (added.size() > kMaxLogKeys || revoked.size() > kMaxLogKeys) {
    return invalid_argument("too many keys");
  }
  for (const auto& line : added) DFS_RETURN_IF_ERROR(check_key_line(line));
  for (const auto& key : revoked) DFS_RETURN_IF_ERROR(check_public_key(key));
  return Status::ok();
}

Status KeyChangeRequest::validate() const {
  if (op == "add") return check_key_line(line);
  if (op == "revoke") return check_public_key(key);
  return invalid_argument("key change '" + op + "' is not add or revoke");
}

Status KeysReply::validate() const {
  if (keys.size() > 2 * kMaxLogKeys + 100000) return invalid_argument("too many keys");
  return Status::ok();
}

Status KeyAddCmd::validate() const { return check_key_line(line); }
Status KeyRevokeCmd::validate() const { return check_public_key(key); }

}  // namespace dfs
