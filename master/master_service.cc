#include "master/master_service.h"

#include <spdlog/spdlog.h>

#include <random>
#include <set>

#include "codec/path.h"

namespace dfs {

int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {
uint64_t pick_seed(uint64_t seed) {
  if (seed != 0) return seed;
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd();
}

template <typename Rep>
Envelope reply_to(const Envelope& request, const Rep& rep) {
  Envelope env = make_envelope(rep, request.header.request_id);
  env.routing_id = request.routing_id;
  return env;
}
}  // namespace

MasterService::MasterService(MasterOptions options, std::unique_ptr<Namespace> ns)
    : options_(std::move(options)),
      ns_(std::move(ns)),
      registry_(options_.registry),
      uploads_(options_.upload_ttl, pick_seed(options_.seed)) {
  for (const auto& w : ns_->workers()) registered_[w.id] = w;
}

Envelope MasterService::handle(const Envelope& request, Clock::time_point now) {
  auto reply = dispatch(request, now);
  if (!reply.is_ok()) return make_error_reply(request, reply.status());
  return std::move(reply).value();
}

// Decodes a Req, runs `fn` on it, and wraps what it returns: a Status
// becomes OkReply (or the error), a Result<Rep> becomes Rep.
template <typename Req, typename Fn>
Result<Envelope> serve(const Envelope& request, Fn&& fn) {
  auto req = decode<Req>(request.body);
  if (!req.is_ok()) return req.status();
  auto out = fn(req.value());
  if constexpr (std::is_same_v<decltype(out), Status>) {
    if (!out.is_ok()) return out;
    return reply_to(request, OkReply{});
  } else {
    if (!out.is_ok()) return out.status();
    return reply_to(request, out.value());
  }
}

Result<Envelope> MasterService::dispatch(const Envelope& request, Clock::time_point now) {
  switch (request.header.type) {
    case MsgType::kMkdirRequest:
      return serve<MkdirRequest>(request, [&](const MkdirRequest& r) {
        return propose(MkdirCmd{r.path, r.parents, wall_clock_ms()});
      });
    case MsgType::kStatRequest:
      return serve<StatRequest>(request, [&](const StatRequest& r) { return stat(r); });
    case MsgType::kListRequest:
      return serve<ListRequest>(request, [&](const ListRequest& r) -> Result<ListReply> {
        ListReply rep;
        auto entries = ns_->list(r.path, r.prefix, r.start_after, r.limit, &rep.more);
        if (!entries.is_ok()) return entries.status();
        rep.entries = std::move(entries).value();
        return rep;
      });
    case MsgType::kDeleteRequest:
      return serve<DeleteRequest>(request, [&](const DeleteRequest& r) {
        return propose(DeleteCmd{r.path, r.recursive});
      });
    case MsgType::kRenameRequest:
      return serve<RenameRequest>(request, [&](const RenameRequest& r) {
        return propose(RenameCmd{r.src, r.dst, wall_clock_ms()});
      });
    case MsgType::kCreateUploadRequest:
      return serve<CreateUploadRequest>(
          request, [&](const CreateUploadRequest& r) { return create_upload(r, now); });
    case MsgType::kAllocateChunkRequest:
      return serve<AllocateChunkRequest>(
          request, [&](const AllocateChunkRequest& r) { return allocate(r, now); });
    case MsgType::kCommitUploadRequest:
      return serve<CommitUploadRequest>(
          request, [&](const CommitUploadRequest& r) { return commit(r, now); });
    case MsgType::kAbortUploadRequest:
      return serve<AbortUploadRequest>(request, [&](const AbortUploadRequest& r) {
        if (auto upload = uploads_.take(r.upload_id)) discard_upload(*upload, {});
        return Status::ok();
      });
    case MsgType::kReportBadReplicaRequest:
      return serve<ReportBadReplicaRequest>(
          request, [&](const ReportBadReplicaRequest& r) { return report_bad_replica(r); });
    case MsgType::kFsckRequest:
      return serve<FsckRequest>(request, [&](const FsckRequest& r) { return fsck(r); });
    case MsgType::kClusterStatusRequest:
      return serve<ClusterStatusRequest>(request, [&](const ClusterStatusRequest&) {
        return Result<ClusterStatusReply>(cluster_status(now));
      });
    default:
      return protocol_error("the master api does not take " +
                            std::string(msg_type_name(request.header.type)));
  }
}

Result<StatReply> MasterService::stat(const StatRequest& req) {
  auto inode = ns_->lookup(req.path);
  if (!inode.is_ok()) return inode.status();
  StatReply rep;
  rep.entry.name = req.path == "/" ? "/" : base_name(req.path);
  rep.entry.kind = inode->kind;
  rep.entry.size = inode->size;
  rep.entry.mtime_ms = inode->mtime_ms;
  rep.entry.replication = inode->replication;
  rep.entry.chunk_size = inode->chunk_size;
  rep.entry.chunk_count = inode->chunks.size();
  ns_->fill_corrupt(&inode.value());
  rep.chunks = std::move(inode->chunks);
  std::map<std::string, std::string> where;
  for (const auto& c : rep.chunks) {
    for (const auto& w : c.replicas) {
      if (where.count(w)) continue;
      std::string ep = registry_.endpoint(w);
      if (ep.empty() && registered_.count(w)) ep = registered_[w].endpoint;
      if (!ep.empty()) where[w] = ep;
      if (!registry_.is_heard(w)) rep.down.push_back(w);
    }
  }
  for (auto& [id, ep] : where) rep.workers.push_back({id, ep, ""});
  return rep;
}

Result<CreateUploadReply> MasterService::create_upload(const CreateUploadRequest& req,
                                                       Clock::time_point now) {
  uint32_t replication = req.replication ? req.replication : options_.default_replication;
  uint32_t min_replication = req.min_replication ? req.min_replication : replication;
  if (min_replication > replication) {
    return invalid_argument("minimum replication " + std::to_string(min_replication) +
                            " is above the replication " + std::to_string(replication));
  }
  // Fail early on what commit would refuse anyway.
  auto parent = ns_->lookup(parent_path(req.path));
  if (!parent.is_ok()) {
    if (parent.status().code() == Code::kNotFound) {
      return not_found("directory " + parent_path(req.path) + " does not exist");
    }
    return parent.status();
  }
  if (!parent->is_dir())
    return Status(Code::kNotADirectory, parent_path(req.path) + " is not a directory");
  auto existing = ns_->lookup(req.path);
  if (existing.is_ok()) {
    if (existing->is_dir()) return Status(Code::kIsADirectory, req.path + " is a directory");
    if (!req.overwrite) return Status(Code::kAlreadyExists, req.path + " already exists");
  }
  if (uploads_.size() >= options_.max_uploads) {
    return Status(Code::kUnavailable, "too many uploads in progress (" +
                                          std::to_string(uploads_.size()) + "); try again later");
  }
  uint64_t chunk_size = req.chunk_size ? req.chunk_size : options_.default_chunk_size;
  Upload& u =
      uploads_.create(req.path, chunk_size, replication, min_replication, req.overwrite, now);
  return CreateUploadReply{u.id, chunk_size, replication, min_replication};
}

Result<AllocateChunkReply> MasterService::allocate(const AllocateChunkRequest& req,
                                                   Clock::time_point now) {
  Upload* u = uploads_.find(req.upload_id, now);
  if (u == nullptr)
    return not_found("upload " + req.upload_id + " is unknown (expired, or the master restarted)");
  if (req.size > u->chunk_size)
    return invalid_argument("chunk larger than the upload's chunk size");
  auto pipeline = registry_.place(req.size, u->replication, u->min_replication, req.exclude, now);
  if (!pipeline.is_ok()) return pipeline.status();
  AllocateChunkReply rep;
  rep.chunk_id = uploads_.new_id();
  rep.pipeline = std::move(pipeline).value();
  std::vector<std::string> workers;
  for (const auto& w : rep.pipeline) workers.push_back(w.id);
  uploads_.record_allocation(*u, rep.chunk_id, req.size, std::move(workers));
  return rep;
}

Status MasterService::commit(const CommitUploadRequest& req, Clock::time_point now) {
  auto upload = uploads_.take(req.upload_id);
  if (!upload)
    return not_found("upload " + req.upload_id + " is unknown (expired, or the master restarted)");
  auto refuse = [&](Status s) {
    discard_upload(*upload, {});
    return s;
  };
  uint64_t expected_chunks = (req.size + upload->chunk_size - 1) / upload->chunk_size;
  if (req.chunks.size() != expected_chunks) {
    return refuse(invalid_argument("a file of " + std::to_string(req.size) + " bytes has " +
                                   std::to_string(expected_chunks) + " chunks, got " +
                                   std::to_string(req.chunks.size())));
  }
  for (const auto& c : req.chunks) {
    bool last = c.index + 1 == expected_chunks;
    uint64_t want = last ? req.size - c.index * upload->chunk_size : upload->chunk_size;
    if (c.size != want)
      return refuse(invalid_argument("chunk " + std::to_string(c.index) + " has the wrong size"));
    auto it = upload->allocated.find(c.id);
    if (it == upload->allocated.end()) {
      return refuse(invalid_argument("chunk " + c.id + " was not allocated to this upload"));
    }
    std::set<std::string> distinct(c.replicas.begin(), c.replicas.end());
    if (distinct.size() < upload->min_replication) {
      return refuse(Status(Code::kUnavailable, "chunk " + std::to_string(c.index) + " is on " +
                                                   std::to_string(distinct.size()) +
                                                   " workers, needs " +
                                                   std::to_string(upload->min_replication)));
    }
    if (distinct.size() != c.replicas.size()) {
      return refuse(invalid_argument("chunk " + c.id + " names a worker twice"));
    }
    for (const auto& w : c.replicas) {
      const auto& pipeline = it->second.workers;
      if (std::find(pipeline.begin(), pipeline.end(), w) == pipeline.end()) {
        return refuse(
            invalid_argument("chunk " + c.id + " names worker " + w + " outside its pipeline"));
      }
    }
  }
  CommitFileCmd cmd{upload->path,        upload->overwrite, req.size,       upload->chunk_size,
                    upload->replication, req.chunks,        wall_clock_ms()};
  Status s = propose(cmd);
  if (!s.is_ok()) return refuse(s);
  discard_upload(*upload, req.chunks);
  publish_event("file.committed", upload->path, std::to_string(req.size) + " bytes");
  return Status::ok();
}

Status MasterService::report_bad_replica(const ReportBadReplicaRequest& req) {
  auto inode = ns_->lookup(req.path);
  if (!inode.is_ok()) return inode.status();
  auto chunk = std::find_if(inode->chunks.begin(), inode->chunks.end(),
                            [&](const ChunkInfo& c) { return c.id == req.chunk_id; });
  if (chunk == inode->chunks.end()) {
    return not_found(req.path + " has no chunk " + req.chunk_id + " (rewritten meanwhile?)");
  }
  const auto& replicas = chunk->replicas;
  if (std::find(replicas.begin(), replicas.end(), req.worker_id) == replicas.end()) {
    return not_found("chunk " + req.chunk_id + " has no replica on " + req.worker_id);
  }
  spdlog::warn("replica of chunk {} ({} chunk {}) on {} is corrupt: {}", req.chunk_id, req.path,
               chunk->index, req.worker_id, req.reason);
  DFS_RETURN_IF_ERROR(propose(MarkReplicaBadCmd{req.chunk_id, req.worker_id}));
  publish_event("replica.corrupt", req.worker_id, req.chunk_id + " " + req.reason);
  return Status::ok();
}

Result<FsckReply> MasterService::fsck(const FsckRequest& req) {
  FsckReply rep;
  Status walked = ns_->for_each_file(req.path, [&](const std::string& path, const Inode& file) {
    ++rep.files;
    Inode checked = file;
    ns_->fill_corrupt(&checked);
    for (auto& c : checked.chunks) {
      ++rep.chunks;
      FsckProblem p;
      for (const auto& w : c.replicas) {
        bool corrupt = std::find(c.corrupt.begin(), c.corrupt.end(), w) != c.corrupt.end();
        if (corrupt) continue;
        (registry_.is_heard(w) ? p.good : p.down).push_back(w);
      }
      if (p.good.size() >= file.replication) continue;
      ++rep.under_replicated;
      if (p.good.empty()) ++rep.lost;
      if (rep.problems.size() < kMaxFsckProblems) {
        p.path = path;
        p.replication = file.replication;
        p.chunk = std::move(c);
        rep.problems.push_back(std::move(p));
      }
    }
    return true;
  });
  if (!walked.is_ok()) return walked;
  return rep;
}

void MasterService::discard_upload(const Upload& upload, const std::vector<ChunkInfo>& keep) {
  auto garbage = allocated_garbage(upload, keep);
  // Space placed for chunks that will never be written is free again now,
  // not when heartbeats catch up.
  for (const auto& c : garbage) {
    for (const auto& w : c.replicas) registry_.release(w, upload.allocated.at(c.id).size);
  }
  if (garbage.empty()) return;
  Status s = propose(AddGarbageCmd{std::move(garbage)});
  if (!s.is_ok()) spdlog::error("cannot record garbage of upload {}: {}", upload.id, s.to_string());
}

void MasterService::on_heartbeat(const Heartbeat& hb, Clock::time_point now) {
  std::string change = registry_.on_heartbeat(hb, now);
  if (!change.empty()) {
    spdlog::info("worker {} is live at {}", hb.worker_id, hb.endpoint);
    publish_event(change, hb.worker_id, hb.endpoint);
  }
  WorkerAddr addr{hb.worker_id, hb.endpoint, hb.pipeline};
  auto it = registered_.find(hb.worker_id);
  if (it == registered_.end() || it->second.endpoint != addr.endpoint ||
      it->second.pipeline != addr.pipeline) {
    Status s = propose(RegisterWorkerCmd{addr});
    if (s.is_ok()) registered_[hb.worker_id] = addr;
  }
  if (!hb.deleted.empty()) {
    Status s = propose(GcDoneCmd{hb.worker_id, hb.deleted});
    if (!s.is_ok()) spdlog::warn("cannot record deletions by {}: {}", hb.worker_id, s.to_string());
  }
}

void MasterService::on_chunk_report(const ChunkReport& report) {
  std::vector<ChunkInfo> orphans;
  for (const auto& id : report.chunk_ids) {
    if (!ns_->references_chunk(id) && !uploads_.is_allocated(id)) {
      orphans.push_back(garbage_chunk(id, {report.worker_id}));
    }
  }
  if (orphans.empty()) return;
  spdlog::info("worker {} holds {} chunks no file references; collecting them", report.worker_id,
               orphans.size());
  Status s = propose(AddGarbageCmd{std::move(orphans)});
  if (!s.is_ok()) spdlog::error("cannot record orphan chunks: {}", s.to_string());
}

void MasterService::tick(Clock::time_point now) {
  for (const auto& [kind, id] : registry_.tick(now)) {
    spdlog::warn("worker {} is {}", id, kind.substr(7));
    publish_event(kind, id, "");
  }
  for (const auto& upload : uploads_.expire(now)) {
    spdlog::info("upload {} of {} expired unfinished", upload.id, upload.path);
    discard_upload(upload, {});
  }
  if (now >= next_gc_) {
    next_gc_ = now + options_.gc_interval;
    // Jobs are re-published every interval until the worker reports the
    // chunks gone, so a dropped message only delays collection.
    for (auto& [worker, ids] : ns_->garbage(1000)) {
      if (!registry_.is_live(worker)) continue;
      Envelope env = make_envelope(DeleteChunksJob{worker, std::move(ids)});
      env.topic = "job." + worker;
      outbox_.push_back(std::move(env));
    }
  }
}

void MasterService::publish_event(const std::string& kind, const std::string& subject,
                                  const std::string& detail) {
  Envelope env = make_envelope(ClusterEvent{kind, subject, detail, wall_clock_ms(), ++event_seq_});
  env.topic = "event." + kind;
  outbox_.push_back(std::move(env));
}

std::vector<Envelope> MasterService::take_outbox() { return std::exchange(outbox_, {}); }

ClusterStatusReply MasterService::cluster_status(Clock::time_point now) {
  ClusterStatusReply rep;
  rep.master_id = options_.id;
  rep.role = "leader";
  rep.workers = registry_.snapshot(now);
  rep.files = ns_->file_count();
  rep.directories = ns_->directory_count();
  rep.garbage_chunks = ns_->garbage_count();
  return rep;
}

}  // namespace dfs
