#include "master/worker_registry.h"

#include <algorithm>

#include "bus/units.h"

namespace dfs {

std::string WorkerRegistry::on_heartbeat(const Heartbeat& hb, Clock::time_point now) {
  auto [it, inserted] = workers_.try_emplace(hb.worker_id);
  Entry& e = it->second;
  bool back = inserted || e.state != "live";
  e.last = hb;
  e.last.deleted.clear();
  e.previous_seen = inserted ? now : e.last_seen;
  e.last_seen = now;
  e.state = "live";
  return back ? "worker.live" : "";
}

std::vector<std::pair<std::string, std::string>> WorkerRegistry::tick(Clock::time_point now) {
  std::vector<std::pair<std::string, std::string>> changes;
  for (auto& [id, e] : workers_) {
    auto silent = now - e.last_seen;
    std::string state = silent >= options_.dead_after      ? "dead"
                        : silent >= options_.suspect_after ? "suspect"
                                                           : "live";
    if (state != e.state) {
      e.state = state;
      changes.emplace_back("worker." + state, id);
    }
  }
  return changes;
}

uint64_t WorkerRegistry::pending_bytes(Entry& e, Clock::time_point now) const {
  // An allocation shows up in the worker's own `used` once the client starts
  // writing, milliseconds later. A heartbeat sent a full interval after the
  // allocation reports it (or its abandonment), so drop allocations older
  // than the heartbeat before the latest one.
  while (!e.pending.empty() && e.pending.front().first < e.previous_seen) {
    e.pending_sum -= e.pending.front().second;
    e.pending.pop_front();
  }
  return e.pending_sum;
}

Result<std::vector<WorkerAddr>> WorkerRegistry::place(uint64_t size, uint32_t count,
                                                      uint32_t min_count,
                                                      const std::vector<std::string>& exclude,
                                                      Clock::time_point now) {
  struct Candidate {
    uint64_t free;
    Entry* entry;
    bool doubted;
  };
  std::vector<Candidate> fits;
  size_t live = 0;
  uint64_t best_free = 0;
  for (auto& [id, e] : workers_) {
    if (e.state != "live") continue;
    if (std::find(exclude.begin(), exclude.end(), id) != exclude.end()) continue;
    // Reported failing and not heard from since (a heartbeat takes a second
    // to come, a dead worker's never): taken last, only when the count
    // cannot be met without it. One client's timeout there must not stop
    // every other client's writes on a cluster of exactly R workers; the
    // client that saw the failure excludes the worker itself.
    bool doubted = e.failed_at != Clock::time_point{} && e.last_seen <= e.failed_at;
    ++live;
    uint64_t taken = e.last.used + pending_bytes(e, now);
    uint64_t free = e.last.capacity > taken ? e.last.capacity - taken : 0;
    best_free = std::max(best_free, free);
    // The worker's store also needs room for the chunk file's header.
    if (free >= size + 4096) fits.push_back({free, &e, doubted});
  }
  if (live == 0) {
    return Status(Code::kUnavailable, exclude.empty()
                                          ? "no live workers"
                                          : "no live workers left after excluding failed ones");
  }
  if (fits.size() < std::max<uint32_t>(1, min_count)) {
    if (fits.empty()) {
      return Status(Code::kDiskFull, "no live worker has room for a " + human_size(size) +
                                         " chunk (most free: " + human_size(best_free) + ")");
    }
    std::string want =
        min_count < count ? "at least " + std::to_string(min_count) : std::to_string(count);
    return Status(Code::kUnavailable,
                  "replication needs " + want + " live workers with room, only " +
                      std::to_string(fits.size()) + " available" +
                      (exclude.empty() ? "" : " after excluding failed ones") +
                      (min_count == count ? " (--min-replication accepts fewer)" : ""));
  }
  std::stable_sort(fits.begin(), fits.end(), [](const Candidate& a, const Candidate& b) {
    return a.doubted != b.doubted ? !a.doubted : a.free > b.free;
  });
  // Doubted workers only make up the minimum the caller accepts: with
  // --min-replication below R, fewer healthy replicas beat a pipeline
  // through a worker that may be dead.
  auto healthy = static_cast<size_t>(
      std::count_if(fits.begin(), fits.end(), [](const Candidate& c) { return !c.doubted; }));
  size_t n = std::min<size_t>(
      {count, fits.size(), std::max<size_t>(healthy, std::max<uint32_t>(1, min_count))});
  // The head of a pipeline takes the client's traffic and forwards it, so
  // successive placements rotate that role over the chosen healthy workers;
  // a doubted one, if needed, stays at the tail.
  size_t rotating = std::min(n, healthy);
  if (rotating == 0) rotating = n;
  size_t first = placements_++ % rotating;
  std::vector<WorkerAddr> out;
  for (size_t i = 0; i < n; ++i) {
    Entry* e = fits[i < rotating ? (first + i) % rotating : i].entry;
    e->pending.emplace_back(now, size);
    e->pending_sum += size;
    out.push_back({e->last.worker_id, e->last.endpoint, e->last.pipeline, e->last.key});
  }
  return out;
}

void WorkerRegistry::note_failure(const std::string& id, Clock::time_point now) {
  auto it = workers_.find(id);
  if (it != workers_.end()) it->second.failed_at = now;
}

void WorkerRegistry::release(const std::string& id, uint64_t size) {
  auto it = workers_.find(id);
  if (it == workers_.end()) return;
  auto& pending = it->second.pending;
  for (auto p = pending.rbegin(); p != pending.rend(); ++p) {
    if (p->second == size) {
      pending.erase(std::next(p).base());
      it->second.pending_sum -= size;
      return;
    }
  }
}

std::vector<WorkerInfo> WorkerRegistry::snapshot(Clock::time_point now) const {
  std::vector<WorkerInfo> out;
  for (const auto& [id, e] : workers_) {
    WorkerInfo w;
    w.id = id;
    w.endpoint = e.last.endpoint;
    w.capacity = e.last.capacity;
    w.used = e.last.used;
    w.chunk_count = e.last.chunk_count;
    w.state = e.state;
    w.silent_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - e.last_seen).count();
    w.fs_id = e.last.fs_id;
    w.fs_size = e.last.fs_size;
    w.fs_free = e.last.fs_free;
    w.writes = e.last.writes;
    w.copies = e.last.copies;
    w.keys_version = e.last.keys_version;
    out.push_back(w);
  }
  return out;
}

bool WorkerRegistry::is_live(const std::string& id) const {
  auto it = workers_.find(id);
  return it != workers_.end() && it->second.state == "live";
}

bool WorkerRegistry::is_heard(const std::string& id) const {
  auto it = workers_.find(id);
  return it != workers_.end() && it->second.state != "dead";
}

uint64_t WorkerRegistry::free_bytes(const std::string& id) const {
  auto it = workers_.find(id);
  if (it == workers_.end()) return 0;
  const Heartbeat& hb = it->second.last;
  return hb.capacity > hb.used ? hb.capacity - hb.used : 0;
}

std::vector<std::string> WorkerRegistry::ids() const {
  std::vector<std::string> out;
  out.reserve(workers_.size());
  for (const auto& [id, e] : workers_) out.push_back(id);
  return out;
}

std::optional<WorkerAddr> WorkerRegistry::address(const std::string& id) const {
  auto it = workers_.find(id);
  if (it == workers_.end()) return std::nullopt;
  const Heartbeat& hb = it->second.last;
  return WorkerAddr{hb.worker_id, hb.endpoint, hb.pipeline, hb.key};
}

}  // namespace dfs
