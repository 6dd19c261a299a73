#include "master/leader_session.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>

#include "master/keys.h"

namespace dfs {

int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {
// The directory inode and the name in an entry key.
std::pair<uint64_t, std::string> split_entry(const std::string& entry) {
  return {from_be64(entry), entry.size() > 8 ? entry.substr(8) : std::string()};
}

uint64_t pick_seed(uint64_t seed) {
  if (seed != 0) return seed;
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd();
}

// Decodes the body as Req and hands it to fn, which returns a Result<Command>.
template <typename Req, typename Fn>
Result<Command> with(const Envelope& request, Fn&& fn) {
  auto req = decode<Req>(request.body);
  if (!req.is_ok()) return req.status();
  return fn(req.value());
}
}  // namespace

// What the repair planner asks of the cluster, answered from this leader's
// registry and namespace.
class LeaderSession::Env : public RepairEnv {
 public:
  Env(LeaderSession& s) : s_(s) {}
  Clock::time_point now;

  bool counts(const std::string& w) const override { return s_.registry_.is_heard(w); }
  bool can_send(const std::string& w) const override { return s_.registry_.is_live(w); }
  bool draining(const std::string& w) const override { return s_.ns_.is_draining(w); }
  Result<std::vector<WorkerAddr>> place(uint64_t size, uint32_t count,
                                        const std::vector<std::string>& exclude) override {
    return s_.place(size, count, 1, exclude, now);
  }
  bool garbage_pending(const std::string& w, const std::string& chunk) const override {
    return s_.ns_.garbage_pending(w, chunk);
  }
  std::optional<ChunkInfo> chunk_info(const std::string& entry,
                                      const std::string& chunk) const override {
    if (entry.size() <= 8) return std::nullopt;
    auto file = s_.ns_.entry(from_be64(entry), entry.substr(8));
    if (!file.is_ok() || !file->has_value()) return std::nullopt;
    for (const auto& c : (*file)->chunks) {
      if (c.id == chunk) return c;
    }
    return std::nullopt;
  }
  uint64_t free_bytes(const std::string& w) const override { return s_.registry_.free_bytes(w); }
  std::vector<std::string> workers() const override { return s_.registry_.ids(); }
  std::string new_job_id() override { return s_.new_id(); }

 private:
  LeaderSession& s_;
};

LeaderSession::LeaderSession(const MasterOptions& options, Namespace& ns, WorkerRegistry& registry,
                             Clock::time_point since)
    : options_(options),
      ns_(ns),
      registry_(registry),
      since_(since),
      // Mixed with the time of taking over: a leader elected again with a
      // fixed seed must not repeat the ids of its earlier term.
      rng_(pick_seed(options.seed) ^ static_cast<uint64_t>(since.time_since_epoch().count())),
      next_gc_(since),
      next_expire_(since),
      // Workers are judged only after one dead-timeout of fresh heartbeats.
      planner_(options.repair, since + options.registry.dead_after),
      env_(std::make_unique<Env>(*this)) {
  for (const auto& w : ns_.workers()) registered_[w.id] = w;
  while (epoch_ == 0) epoch_ = rng_();
  ns_.set_listener(&replicas_);
}

LeaderSession::~LeaderSession() { ns_.set_listener(nullptr); }

std::string LeaderSession::new_id() {
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(rng_()),
                static_cast<unsigned long long>(rng_()));
  return buf;
}

Result<Command> LeaderSession::plan(const Envelope& request, Clock::time_point now) {
  const int64_t ms = wall_clock_ms();
  switch (request.header.type) {
    case MsgType::kMkdirRequest:
      return with<MkdirRequest>(request, [&](const MkdirRequest& r) -> Result<Command> {
        return make_command(MkdirCmd{r.path, r.parents, ms, mode_for_new(true, r.umask)}, ms,
                            r.session);
      });
    case MsgType::kDeleteRequest:
      return with<DeleteRequest>(request, [&](const DeleteRequest& r) -> Result<Command> {
        return make_command(DeleteCmd{r.path, r.recursive}, ms, r.session);
      });
    case MsgType::kRenameRequest:
      return with<RenameRequest>(request, [&](const RenameRequest& r) -> Result<Command> {
        return make_command(RenameCmd{r.src, r.dst, ms, r.replace}, ms, r.session);
      });
    case MsgType::kCreateUploadRequest:
      return with<CreateUploadRequest>(
          request, [&](const CreateUploadRequest& r) -> Result<Command> {
            uint32_t replication = r.replication ? r.replication : options_.default_replication;
            uint32_t min_replication = r.min_replication ? r.min_replication : replication;
            if (min_replication > replication) {
              return invalid_argument("minimum replication " + std::to_string(min_replication) +
                                      " is above the replication " + std::to_string(replication));
            }
            uint64_t chunk_size = r.chunk_size ? r.chunk_size : options_.default_chunk_size;
            if (r.multipart) chunk_size = std::max(chunk_size, kMinMultipartChunkSize);
            CreateUploadCmd cmd{
                new_id(),        r.path,      chunk_size,           replication,
                min_replication, r.overwrite, options_.max_uploads, mode_for_new(false, r.umask),
                r.multipart};
            if (r.slots != 0) {
              if (r.first_chunk_size > chunk_size) {
                return invalid_argument("a slot of " + std::to_string(r.first_chunk_size) +
                                        " bytes is larger than the chunk size");
              }
              cmd.first_chunk_size = r.first_chunk_size;
              for (uint32_t i = 0; i < r.slots; ++i) {
                auto pipeline = place(r.first_chunk_size, replication, min_replication, {}, now);
                // Fewer slots than asked for are still slots.
                if (!pipeline.is_ok() && !cmd.slots.empty()) break;
                if (!pipeline.is_ok()) return pipeline.status();
                cmd.slots.push_back(ChunkSlot{new_id(), std::move(pipeline).value()});
              }
            } else if (r.first_chunk_size != 0 && r.first_chunk_size <= chunk_size) {
              auto pipeline = place(r.first_chunk_size, replication, min_replication, {}, now);
              if (!pipeline.is_ok()) return pipeline.status();
              cmd.first_chunk_id = new_id();
              cmd.first_chunk_size = r.first_chunk_size;
              cmd.first_pipeline = std::move(pipeline).value();
            }
            return make_command(cmd, ms, r.session);
          });
    case MsgType::kCreateFileRequest:
      return with<CreateFileRequest>(request, [&](const CreateFileRequest& r) -> Result<Command> {
        uint32_t replication = r.replication ? r.replication : options_.default_replication;
        uint64_t chunk_size = r.chunk_size ? r.chunk_size : options_.default_chunk_size;
        CommitFileCmd cmd{r.path,      r.overwrite, 0,  chunk_size,
                          replication, {},          ms, mode_for_new(false, r.umask)};
        return make_command(cmd, ms, r.session);
      });
    case MsgType::kAllocateChunkRequest:
      return with<AllocateChunkRequest>(
          request, [&](const AllocateChunkRequest& r) { return plan_allocation(r, now); });
    case MsgType::kCommitUploadRequest:
      return with<CommitUploadRequest>(
          request, [&](const CommitUploadRequest& r) -> Result<Command> {
            CommitUploadCmd cmd{r.upload_id, r.size, r.chunks, r.etag, r.parts};
            if (!r.path.empty()) {
              cmd.path = r.path;
              cmd.overwrite = r.overwrite;
              cmd.mode = mode_for_new(false, r.umask);
            }
            return make_command(cmd, ms, r.session);
          });
    case MsgType::kChunkWrittenRequest:
      return with<ChunkWrittenRequest>(
          request, [&](const ChunkWrittenRequest& r) -> Result<Command> {
            return make_command(ChunkWrittenCmd{r.upload_id, r.chunk}, ms, r.session);
          });
    case MsgType::kPartWrittenRequest:
      return with<PartWrittenRequest>(request, [&](const PartWrittenRequest& r) -> Result<Command> {
        return make_command(PartWrittenCmd{r.upload_id, r.number, r.etag, r.chunks}, ms, r.session);
      });
    case MsgType::kAbortUploadRequest:
      return with<AbortUploadRequest>(request, [&](const AbortUploadRequest& r) -> Result<Command> {
        return make_command(AbortUploadCmd{r.upload_id}, ms, r.session);
      });
    case MsgType::kWorkerDrainRequest:
      return with<WorkerDrainRequest>(request, [&](const WorkerDrainRequest& r) -> Result<Command> {
        if (!ns_.worker(r.worker_id)) {
          return not_found("worker " + r.worker_id + " is unknown (never registered)");
        }
        return make_command(WorkerDrainCmd{r.worker_id, r.draining}, ms, r.session);
      });
    case MsgType::kSetAttrRequest:
      return with<SetAttrRequest>(request, [&](const SetAttrRequest& r) -> Result<Command> {
        return make_command(SetAttrCmd{r.path, r.mode, r.owner, r.group}, ms, r.session);
      });
    case MsgType::kReportBadReplicaRequest:
      return with<ReportBadReplicaRequest>(
          request, [&](const ReportBadReplicaRequest& r) -> Result<Command> {
            return make_command(MarkReplicaBadCmd{r.chunk_id, r.worker_id, r.path, r.reason}, ms,
                                r.session);
          });
    default:
      return protocol_error(std::string(msg_type_name(request.header.type)) + " is not a mutation");
  }
}

Result<Command> LeaderSession::plan_allocation(const AllocateChunkRequest& req,
                                               Clock::time_point now) {
  // The upload's settings as of what this leader applied; the state machine
  // checks again when the allocation applies.
  auto upload = ns_.uploads().find(req.upload_id);
  if (!upload) {
    return not_found("upload " + req.upload_id +
                     " is unknown (expired, aborted or already committed)");
  }
  // A worker this client found failing may be dead: every client's next
  // chunks avoid it until it is heard from again.
  for (const auto& w : req.exclude) registry_.note_failure(w, now);
  auto pipeline = place(req.size, upload->replication, upload->min_replication, req.exclude, now);
  if (!pipeline.is_ok()) return pipeline.status();
  AllocateChunkCmd cmd{req.upload_id, new_id(), req.size, std::move(pipeline).value(), req.index};
  return make_command(cmd, wall_clock_ms(), req.session);
}

Result<std::vector<WorkerAddr>> LeaderSession::place(uint64_t size, uint32_t count,
                                                     uint32_t min_count,
                                                     const std::vector<std::string>& exclude,
                                                     Clock::time_point now) {
  std::vector<std::string> avoid = exclude;
  avoid.insert(avoid.end(), ns_.draining().begin(), ns_.draining().end());
  auto placed = registry_.place(size, count, min_count, avoid, now);
  if (placed.is_ok() || ns_.draining().empty()) return placed;
  // The registry speaks of excluded workers as failed ones; say which are draining.
  std::string draining;
  for (const auto& w : ns_.draining()) draining += (draining.empty() ? "" : ", ") + w;
  return Status(placed.status().code(),
                placed.status().message() + " (draining, so not used: " + draining + ")");
}

int64_t LeaderSession::recorded_chunks(const std::string& worker) const {
  if (!replicas_.loaded()) return -1;
  size_t n = replicas_.count_on(worker);
  // Chunks placed there by uploads still open are recorded there when they
  // commit: only a worker with neither is safe to stop. (Counted only at the
  // end of a drain: a scan of the open uploads.)
  if (n == 0 && ns_.is_draining(worker)) n = ns_.uploads().allocated_on(worker, 1000);
  return static_cast<int64_t>(n);
}

std::vector<Command> LeaderSession::on_heartbeat(const Heartbeat& hb, Clock::time_point now) {
  std::vector<Command> out;
  const int64_t ms = wall_clock_ms();
  WorkerAddr addr{hb.worker_id, hb.endpoint, hb.pipeline, hb.key};
  auto it = registered_.find(hb.worker_id);
  if (it == registered_.end() || it->second.endpoint != addr.endpoint ||
      it->second.pipeline != addr.pipeline || it->second.key != addr.key) {
    out.push_back(make_command(RegisterWorkerCmd{addr}, ms));
    registered_[hb.worker_id] = addr;
  }
  if (!hb.deleted.empty()) out.push_back(make_command(GcDoneCmd{hb.worker_id, hb.deleted}, ms));
  for (const auto& b : hb.bad)
    mark_bad(b.chunk_id, hb.worker_id, "scrubber: " + b.reason, now, &out);
  return out;
}

void LeaderSession::mark_bad(const std::string& chunk, const std::string& worker,
                             const std::string& why, Clock::time_point now,
                             std::vector<Command>* out, bool quiet) {
  const ReplicaMap::Chunk* c = replicas_.find(chunk);
  if (!c) return;  // no file references it: the orphan collection deletes it
  auto has = [&](const std::vector<std::string>& v) {
    return std::find(v.begin(), v.end(), worker) != v.end();
  };
  if (!has(c->replicas) || has(c->corrupt)) return;
  auto& last = marked_[{worker, chunk}];
  if (last != Clock::time_point{} && now - last < std::chrono::seconds(10)) return;
  last = now;
  if (marked_.size() > 100000) marked_.clear();  // only a damper against repeats
  if (!quiet) spdlog::warn("the copy of chunk {} on {} is bad: {}", chunk, worker, why);
  auto [parent, name] = split_entry(c->entry);
  out->push_back(make_command(
      MarkReplicaBadCmd{chunk, worker, "", why.substr(0, 900), parent, name}, wall_clock_ms()));
}

std::vector<Command> LeaderSession::on_chunk_report(const ChunkReport& report,
                                                    Clock::time_point now) {
  // Bounded per report; the next report goes on where this one stopped.
  constexpr size_t kMaxPerReport = 5000;
  std::vector<Command> out;
  Inventory* inv = nullptr;
  if (report.report != 0 && replicas_.loaded()) {
    inv = &inventories_[report.worker_id];
    if (inv->report != report.report)
      *inv = Inventory{report.report, report.pages, {}, {}, {}, now};
    if (inv->pages != report.pages || !inv->got.insert(report.page).second) inv = nullptr;
  }
  // Only a first sifting, to keep the entry small: the state machine decides
  // again when it applies, against the state of that moment. The replica
  // map, once walked, knows every committed chunk without a read of the
  // store: a million-chunk inventory costs no million reads.
  CollectOrphansCmd cmd{report.worker_id, {}};
  for (const auto& id : report.chunk_ids) {
    const ReplicaMap::Chunk* c = replicas_.loaded() ? replicas_.find(id) : nullptr;
    bool referenced = replicas_.loaded() ? c != nullptr : ns_.references_chunk(id);
    if (!referenced) {
      if (!ns_.uploads().is_allocated(id)) cmd.chunk_ids.push_back(id);
      continue;
    }
    if (!inv || !c) continue;
    inv->held.insert(c);
    bool recorded_here =
        std::find(c->replicas.begin(), c->replicas.end(), report.worker_id) != c->replicas.end();
    // Candidates, filtered when the report is whole: a few times the cap.
    if (!recorded_here && inv->strays.size() < 4 * kMaxPerReport) inv->strays.push_back(id);
  }
  if (!cmd.chunk_ids.empty()) {
    spdlog::info("worker {} holds {} chunks no file references; collecting them", report.worker_id,
                 cmd.chunk_ids.size());
    out.push_back(make_command(cmd, wall_clock_ms()));
  }
  if (!inv) return out;
  // A margin for the trip from the worker: it can only make `listed` earlier.
  auto listed = now - std::chrono::milliseconds(report.listed_ms_ago) - std::chrono::seconds(1);
  inv->listed = std::min(inv->listed, listed);
  if (inv->got.size() < inv->pages) return out;
  reconcile(report.worker_id, *inv, kMaxPerReport, &out);
  inventories_.erase(report.worker_id);
  return out;
}

void LeaderSession::reconcile(const std::string& worker, const Inventory& inv, size_t max,
                              std::vector<Command>* out) {
  size_t missing = 0, strays = 0;
  auto now = inv.listed;  // marks are dated by the listing; only a damper anyway
  // Counted by marks proposed, not by candidates: copies already marked are
  // skipped, so a worker that lost many chunks has them all marked in turn.
  replicas_.for_each_on(worker, [&](const std::string& id, const ReplicaMap::Chunk& c) {
    if (c.changed_at < inv.listed && !inv.held.count(&c)) {
      size_t before = out->size();
      mark_bad(id, worker, "missing from its worker's inventory", now, out, /*quiet=*/true);
      missing += out->size() - before;
    }
    return missing < max;
  });
  const int64_t ms = wall_clock_ms();
  for (const auto& id : inv.strays) {
    if (strays == max) break;
    const ReplicaMap::Chunk* c = replicas_.find(id);
    if (!c || c->changed_at >= inv.listed || planner_.busy(id)) continue;
    if (std::find(c->replicas.begin(), c->replicas.end(), worker) != c->replicas.end()) continue;
    auto [parent, name] = split_entry(c->entry);
    out->push_back(make_command(
        ReplicaDroppedCmd{parent, name, id, worker, "a copy nothing records", true}, ms));
    ++strays;
  }
  if (missing || strays) {
    spdlog::warn("worker {}'s inventory lacks {} recorded chunks and holds {} unrecorded copies",
                 worker, missing, strays);
  }
}

std::vector<Command> LeaderSession::tick(Clock::time_point now) {
  std::vector<Command> out;
  // A new leader's picture of the workers may be stale: it speaks of their
  // liveness only after one dead-timeout of fresh heartbeats.
  auto changes = registry_.tick(now);
  for (const auto& [kind, id] : changes) planner_.on_worker_change(id, replicas_);
  if (now >= since_ + options_.registry.dead_after) {
    for (const auto& [kind, id] : changes) {
      spdlog::warn("worker {} is {}", id, kind.substr(7));
      publish(ClusterEvent{kind, id, "", 0, 0});
    }
  }
  plan_repairs(now, &out);
  announce_drained(now);
  announce_repair();
  if (now >= next_gc_) {
    next_gc_ = now + options_.gc_interval;
    // Jobs are re-published every interval until the worker reports the
    // chunks gone, so a dropped message only delays collection.
    for (auto& [worker, ids] : ns_.garbage(1000)) {
      if (!registry_.is_live(worker)) continue;
      Envelope env = make_envelope(DeleteChunksJob{worker, std::move(ids)});
      env.topic = "job." + worker;
      outbox_.push_back(std::move(env));
    }
  }
  if (now >= next_expire_) {
    next_expire_ = now + options_.expire_interval;
    const int64_t ms = wall_clock_ms();
    ExpireCmd cmd{
        options_.upload_ttl.count(), options_.session_ttl.count(),
        std::min<int64_t>(options_.upload_ttl.count(), MasterOptions::kLeaseIdle.count())};
    if (ns_.has_expired(ms - cmd.upload_idle_ms, ms - cmd.session_idle_ms,
                        ms - cmd.lease_idle_ms)) {
      out.push_back(make_command(cmd, ms));
    }
  }
  return out;
}

void LeaderSession::announce_drained(Clock::time_point now) {
  // Once a second: the last look at each drain scans the open uploads.
  if (!replicas_.loaded() || now < next_drain_check_) return;
  next_drain_check_ = now + std::chrono::seconds(1);
  for (const auto& w : ns_.draining()) {
    if (drained_.count(w) || recorded_chunks(w) != 0) continue;
    drained_.insert(w);
    spdlog::info("worker {} is drained: no chunk needs it; it is safe to stop", w);
    publish(ClusterEvent{"worker.drained", w, "safe to stop", 0, 0});
  }
}

void LeaderSession::announce_repair() {
  RepairStats s = planner_.stats();
  uint64_t under = s.queued + s.running;
  if (!repairing_ && under > 0) {
    repairing_ = true;
    publish(ClusterEvent{"repair.started", std::to_string(under) + " chunks under-replicated",
                         std::to_string(s.lost) + " lost", 0, 0});
  } else if (repairing_ && under == 0) {
    repairing_ = false;
    publish(ClusterEvent{"repair.finished",
                         std::to_string(s.copied) + " copies done since this master leads",
                         std::to_string(s.lost) + " lost", 0, 0});
  }
}

void LeaderSession::on_worker_live(const std::string& worker) {
  planner_.on_worker_change(worker, replicas_);
}

void LeaderSession::plan_repairs(Clock::time_point now, std::vector<Command>* out) {
  // A page per tick: a large namespace does not stall the service thread.
  if (!replicas_.loaded()) {
    auto done = replicas_.load_page(ns_, 20000);
    if (!done.is_ok()) {
      spdlog::error("cannot walk the namespace for repairs: {}", done.status().to_string());
      return;
    }
    if (!done.value()) return;
    spdlog::info("replica map loaded: {} chunks", replicas_.chunks().size());
  }
  env_->now = now;
  auto plan = planner_.plan(now, replicas_, *env_);
  const int64_t ms = wall_clock_ms();
  for (auto& job : plan.publish) {
    spdlog::debug("repair job {}: chunk {} from {} to {} worker(s)", job.job_id, job.chunk_id,
                  job.source, job.targets.size());
    Envelope env = make_envelope(job);
    env.topic = "job." + job.source;
    outbox_.push_back(std::move(env));
  }
  for (auto& d : plan.drops) {
    auto [parent, name] = split_entry(d.entry);
    spdlog::info("dropping the copy of chunk {} on {}: {}", d.chunk_id, d.worker, d.reason);
    out->push_back(
        make_command(ReplicaDroppedCmd{parent, name, d.chunk_id, d.worker, d.reason}, ms));
  }
}

std::vector<Command> LeaderSession::on_copy_done(const ReplicateChunkDone& done,
                                                 Clock::time_point now) {
  std::vector<Command> out;
  std::string bad;
  auto added = planner_.on_done(done, replicas_, now, &bad);
  const int64_t ms = wall_clock_ms();
  if (added) {
    auto [parent, name] = split_entry(added->entry);
    out.push_back(make_command(ReplicaAddedCmd{parent, name, added->chunk_id, added->workers}, ms));
  } else if (done.code != 0) {
    spdlog::warn("repair copy of chunk {} from {} failed: {}", done.chunk_id, done.source,
                 done.message);
  }
  if (!bad.empty()) mark_bad(done.chunk_id, bad, "repair source: " + done.message, now, &out);
  return out;
}

RepairStatus LeaderSession::repair_status() const {
  RepairStats s = planner_.stats();
  return RepairStatus{s.queued,       s.running, s.lost,    s.copied,
                      s.copied_bytes, s.failed,  s.dropped, s.bytes_per_second};
}

void LeaderSession::on_applied(const Outcome& outcome) {
  for (const auto& [worker, size] : outcome.released) registry_.release(worker, size);
  if (outcome.event) {
    const std::string& kind = outcome.event->kind;
    if (kind == "worker.draining" || kind == "worker.recommissioned") {
      // Its copies stop (or start again) counting toward their factors.
      drained_.erase(outcome.event->subject);
      planner_.on_worker_change(outcome.event->subject, replicas_);
      spdlog::info("worker {} {}", outcome.event->subject,
                   kind == "worker.draining" ? "is draining" : "is back in service");
    }
    if (kind == "replica.corrupt") {
      spdlog::warn("replica on {} is corrupt: {}", outcome.event->subject, outcome.event->detail);
    }
    publish(*outcome.event);
  }
}

void LeaderSession::publish(ClusterEvent event) {
  event.time_ms = wall_clock_ms();
  event.sequence = ++event_seq_;
  event.epoch = epoch_;
  Envelope env = make_envelope(event);
  env.topic = "event." + event.kind;
  outbox_.push_back(std::move(env));
}

void LeaderSession::publish_keys(const KeyringUpdate& keys) {
  Envelope env = make_envelope(keys);
  env.topic = "keys.ring";
  outbox_.push_back(std::move(env));
}

}  // namespace dfs
