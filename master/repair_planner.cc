#include "master/repair_planner.h"

#include <algorithm>

namespace dfs {
namespace {

// A worker holding more chunks than this is not looked at chunk by chunk
// when it changes: the next sweep covers it, without a copy of every id.
constexpr size_t kMaxTouched = 100000;

uint64_t ms_until(std::chrono::steady_clock::time_point t,
                  std::chrono::steady_clock::time_point now) {
  return t > now ? std::chrono::duration_cast<std::chrono::milliseconds>(t - now).count() : 1;
}

bool contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace

void RepairPlanner::on_worker_change(const std::string& worker, const ReplicaMap& map) {
  if (map.count_on(worker) > kMaxTouched) {
    // A sweep under way goes on (restarting it could starve its far end);
    // another follows it at once.
    if (sweeping_) {
      sweep_again_ = true;
    } else {
      sweeping_ = true;
      sweep_pos_ = {};
    }
    return;
  }
  for (auto& id : map.chunks_on(worker)) dirty_.insert(std::move(id));
}

size_t RepairPlanner::load(const std::string& worker) const {
  auto it = load_.find(worker);
  return it == load_.end() ? 0 : it->second;
}

void RepairPlanner::unqueue(const std::string& id) {
  auto it = queued_.find(id);
  if (it == queued_.end()) return;
  queue_.erase({it->second, id});
  queued_.erase(it);
}

void RepairPlanner::end_job(std::map<std::string, Job>::iterator it) {
  const ReplicateChunkJob& j = it->second.job;
  auto release = [&](const std::string& w) {
    auto l = load_.find(w);
    if (l != load_.end() && --l->second == 0) load_.erase(l);
  };
  release(j.source);
  for (const auto& t : j.targets) release(t.id);
  busy_.erase(j.chunk_id);
  dirty_.insert(j.chunk_id);
  jobs_.erase(it);
}

RepairPlanner::Plan RepairPlanner::plan(Clock::time_point now, ReplicaMap& map, RepairEnv& env) {
  Plan out;
  last_now_ = std::max(last_now_, now);
  for (auto& id : map.take_changed()) {
    settling_.erase(id);
    dirty_.insert(std::move(id));
  }
  if (now < start_) return out;
  if (options_.bytes_per_second > 0 && now > last_refill_) {
    double rate = static_cast<double>(options_.bytes_per_second);
    double elapsed = std::chrono::duration<double>(now - last_refill_).count();
    tokens_ = std::min(tokens_ + elapsed * rate, rate);  // at most one second's worth banked
  }
  last_refill_ = std::max(last_refill_, now);

  for (auto it = jobs_.begin(); it != jobs_.end();) {
    auto next = std::next(it);
    const ReplicateChunkJob& j = it->second.job;
    bool party_gone = !env.counts(j.source) ||
                      std::any_of(j.targets.begin(), j.targets.end(),
                                  [&](const WorkerAddr& t) { return !env.counts(t.id); });
    if (now >= it->second.deadline || party_gone) {
      ++stats_.failed;
      for (const auto& t : j.targets) avoid_[j.chunk_id].insert(t.id);
      end_job(it);
    } else if (now >= it->second.next_publish) {
      it->second.next_publish = now + options_.republish_every;
      out.publish.push_back(j);
      out.publish.back().expires_in_ms = ms_until(it->second.deadline, now);
    }
    it = next;
  }
  for (auto it = settling_.begin(); it != settling_.end();) {
    if (now >= it->second.until) {
      dirty_.insert(it->first);
      it = settling_.erase(it);
    } else {
      ++it;
    }
  }
  if (!swept_once_ || (!sweeping_ && now >= next_sweep_)) {
    swept_once_ = true;
    sweeping_ = true;
    sweep_pos_ = {};
  }

  size_t budget = options_.evaluate_per_tick;
  while (budget > 0 && !dirty_.empty()) {
    std::string id = std::move(dirty_.extract(dirty_.begin()).value());
    evaluate(id, map, env, now, &out);
    --budget;
  }
  if (sweeping_) {
    bool done = map.sweep(&sweep_pos_, budget,
                          [&](const std::string& id) { evaluate(id, map, env, now, &out); });
    if (done && sweep_again_) {
      sweep_again_ = false;
      sweep_pos_ = {};
    } else if (done) {
      sweeping_ = false;
      next_sweep_ = now + options_.sweep_every;
    }
  }

  // Copies, most endangered first, within the throttles; a bounded number of
  // tries per call, so a long queue of chunks with no room costs little.
  size_t tries = 0;
  for (auto it = queue_.begin(); it != queue_.end() && jobs_.size() < options_.max_jobs &&
                                 tries < options_.evaluate_per_tick / 10;
       ++tries) {
    if (options_.bytes_per_second > 0 && tokens_ <= 0) break;
    std::string id = it->second;
    ++it;  // try_copy may take the chunk off the queue
    const ReplicaMap::Chunk* c = map.find(id);
    if (!c) {
      unqueue(id);
      continue;
    }
    Holders h = holders(*c, env);
    if ((h.good.empty() && h.leaving.empty()) || h.good.size() >= c->replication) {
      dirty_.insert(id);  // changed since it was queued
      unqueue(id);
      continue;
    }
    try_copy(id, *c, h, env, now, &out);
  }
  return out;
}

RepairPlanner::Holders RepairPlanner::holders(const ReplicaMap::Chunk& c, const RepairEnv& env) {
  Holders h;
  for (const auto& w : c.replicas) {
    if (contains(c.corrupt, w)) {
      h.corrupt.push_back(w);
    } else if (!env.counts(w)) {
      h.gone.push_back(w);
    } else if (env.draining(w)) {
      h.leaving.push_back(w);
    } else {
      h.good.push_back(w);
    }
  }
  return h;
}

void RepairPlanner::evaluate(const std::string& id, const ReplicaMap& map, RepairEnv& env,
                             Clock::time_point now, Plan* out) {
  const ReplicaMap::Chunk* c = map.find(id);
  if (!c) {
    unqueue(id);
    lost_.erase(id);
    avoid_.erase(id);
    return;
  }
  if (busy_.count(id) || settling_.count(id)) return;  // looked at again when that ends
  Holders h = holders(*c, env);
  auto& [good, leaving, corrupt, gone] = h;
  if (good.empty() && leaving.empty()) {
    lost_.insert(id);  // nothing to copy from; counted, and looked at again on any change
    unqueue(id);
    return;
  }
  lost_.erase(id);
  if (good.size() < c->replication) {
    // Danger is in the copies that exist: a chunk whose only other copies
    // are draining is no more at risk than their number says.
    size_t copies = good.size() + leaving.size();
    auto it = queued_.find(id);
    if (it != queued_.end() && it->second == copies) return;
    unqueue(id);
    queue_.insert({copies, id});
    queued_[id] = copies;
    return;
  }
  unqueue(id);
  avoid_.erase(id);
  // At its factor or above: one extra copy goes at a time, the useless ones
  // first, then a good one from the fullest worker.
  Drop drop{c->entry, id, "", ""};
  if (!corrupt.empty()) {
    drop.worker = corrupt.front();
    drop.reason = "corrupt or missing";
  } else if (!gone.empty()) {
    drop.worker = gone.front();
    drop.reason = "worker dead; replaced";
  } else if (!leaving.empty()) {
    drop.worker = leaving.front();
    drop.reason = "worker draining; copied elsewhere";
  } else if (good.size() > c->replication) {
    drop.worker = *std::min_element(good.begin(), good.end(), [&](const auto& a, const auto& b) {
      return env.free_bytes(a) < env.free_bytes(b);
    });
    drop.reason = "surplus";
  } else {
    return;
  }
  settling_[id] = Settling{now + options_.settle_timeout};
  ++stats_.dropped;
  out->drops.push_back(std::move(drop));
}

bool RepairPlanner::try_copy(const std::string& id, const ReplicaMap::Chunk& c, const Holders& h,
                             RepairEnv& env, Clock::time_point now, Plan* out) {
  if (busy_.count(id) || settling_.count(id)) return false;
  std::string source;
  // Draining workers first: on equal load the copy comes from the one that
  // serves nothing new.
  for (const auto* group : {&h.leaving, &h.good}) {
    for (const auto& w : *group) {
      if (!env.can_send(w) || load(w) >= options_.copies_per_worker) continue;
      if (source.empty() || load(w) < load(source)) source = w;
    }
  }
  if (source.empty()) return false;  // every holder is busy or only briefly silent
  auto info = env.chunk_info(c.entry, id);
  if (!info) return false;  // the file changed; the map hears of it
  std::vector<std::string> exclude = c.replicas;
  for (const auto& w : env.workers()) {
    if (load(w) >= options_.copies_per_worker || env.garbage_pending(w, id)) exclude.push_back(w);
  }
  std::vector<std::string> base = exclude;
  auto avoided = avoid_.find(id);
  if (avoided != avoid_.end())
    exclude.insert(exclude.end(), avoided->second.begin(), avoided->second.end());
  uint32_t need = c.replication - static_cast<uint32_t>(h.good.size());
  auto targets = env.place(info->size, need, exclude);
  if (!targets.is_ok() && avoided != avoid_.end()) {
    avoid_.erase(avoided);  // every other worker failed too: try the failed ones again
    targets = env.place(info->size, need, base);
  }
  if (!targets.is_ok()) {
    // A worker holding a corrupt copy cannot take a good one until the bad
    // copy is deleted: with no other room, delete it now.
    for (const auto& w : c.replicas) {
      if (!contains(c.corrupt, w)) continue;
      settling_[id] = Settling{now + options_.settle_timeout};
      ++stats_.dropped;
      out->drops.push_back(Drop{c.entry, id, w, "corrupt or missing; its worker is needed"});
      unqueue(id);
      return false;
    }
    return false;
  }
  ReplicateChunkJob job{env.new_job_id(), source,       id,
                        info->size,       info->sha256, std::move(targets).value()};
  uint64_t bytes = job.size * job.targets.size();
  tokens_ -= static_cast<double>(bytes);
  ++load_[source];
  for (const auto& t : job.targets) ++load_[t.id];
  auto deadline =
      now + options_.job_timeout_base +
      std::chrono::milliseconds(bytes * 1000 / std::max<uint64_t>(options_.job_timeout_rate, 1));
  busy_[id] = job.job_id;
  unqueue(id);
  out->publish.push_back(job);
  out->publish.back().expires_in_ms = ms_until(deadline, now);
  std::string job_id = job.job_id;
  jobs_.emplace(job_id, Job{std::move(job), deadline, now + options_.republish_every});
  return true;
}

std::optional<RepairPlanner::Added> RepairPlanner::on_done(const ReplicateChunkDone& done,
                                                           const ReplicaMap& map,
                                                           Clock::time_point now,
                                                           std::string* bad) {
  bad->clear();
  std::vector<std::string> targets = done.targets;
  uint64_t size = 0;  // unknown for an earlier leader's job
  auto it = jobs_.find(done.job_id);
  if (it != jobs_.end()) {
    const ReplicateChunkJob& j = it->second.job;
    if (j.chunk_id != done.chunk_id || j.source != done.source) return std::nullopt;  // forged
    targets.clear();
    for (const auto& t : j.targets) targets.push_back(t.id);
    size = j.size;
    end_job(it);
  }
  if (done.code != 0) {
    ++stats_.failed;
    if (done.culprit == done.source &&
        done.code == static_cast<uint16_t>(Code::kChecksumMismatch)) {
      *bad = done.source;
    } else if (!done.culprit.empty()) {
      avoid_[done.chunk_id].insert(done.culprit);
    }
    dirty_.insert(done.chunk_id);
    return std::nullopt;
  }
  const ReplicaMap::Chunk* c = map.find(done.chunk_id);
  if (!c || targets.empty()) return std::nullopt;
  ++stats_.copied;
  stats_.copied_bytes += size * targets.size();
  recent_.emplace_back(now, size * targets.size());
  while (recent_.size() > 10000 || now - recent_.front().first > std::chrono::seconds(10)) {
    recent_.pop_front();
  }
  settling_[done.chunk_id] = Settling{now + options_.settle_timeout};
  return Added{c->entry, done.chunk_id, std::move(targets)};
}

RepairStats RepairPlanner::stats() const {
  RepairStats s = stats_;
  s.queued = queue_.size();
  s.running = jobs_.size();
  s.lost = lost_.size();
  uint64_t bytes = 0;
  for (const auto& [t, b] : recent_) {
    if (last_now_ - t <= std::chrono::seconds(10)) bytes += b;
  }
  s.bytes_per_second = bytes / 10;
  return s;
}

}  // namespace dfs
