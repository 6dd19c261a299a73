// What the master knows of each worker from its heartbeats: capacity, use,
// and whether it is live, suspect (silent for a while) or dead. Placement
// picks live workers with room. Soft state, rebuilt from heartbeats after a
// restart; no sockets, no clock of its own (callers pass `now`).
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "codec/messages.h"

namespace dfs {

class WorkerRegistry {
 public:
  using Clock = std::chrono::steady_clock;

  struct Options {
    std::chrono::milliseconds suspect_after{3000};
    std::chrono::milliseconds dead_after{10000};
  };

  explicit WorkerRegistry(Options options) : options_(options) {}

  // Records a heartbeat. Returns a ClusterEvent kind ("worker.live") when the
  // worker is new or came back, or "" otherwise.
  std::string on_heartbeat(const Heartbeat& hb, Clock::time_point now);

  // Moves silent workers to suspect or dead; returns (kind, worker id) pairs
  // for every change, e.g. ("worker.dead", "w3").
  std::vector<std::pair<std::string, std::string>> tick(Clock::time_point now);

  // `count` distinct live workers with room for `size` bytes -- or as many
  // as there are, if at least `min_count` -- those with most free space,
  // never one in `exclude`, in an order that rotates the head. Counts the bytes against each chosen
  // worker until its heartbeats catch up, so parallel allocations spread out.
  Result<std::vector<WorkerAddr>> place(uint64_t size, uint32_t count, uint32_t min_count,
                                        const std::vector<std::string>& exclude,
                                        Clock::time_point now);

  // A client's pipeline failed at worker `id`: until a heartbeat sent after
  // this says it is alive (a dead worker sends none, and would otherwise be
  // placed until it is judged suspect), a new chunk goes there only if too
  // few other workers have room.
  void note_failure(const std::string& id, Clock::time_point now);

  // Forgets a placement of `size` bytes on worker `id` that will never be
  // written (its upload was aborted).
  void release(const std::string& id, uint64_t size);

  std::vector<WorkerInfo> snapshot(Clock::time_point now) const;
  bool is_live(const std::string& id) const;
  // Live or only briefly silent: its replicas still count.
  bool is_heard(const std::string& id) const;
  // Capacity minus use, from the latest heartbeat (0 if never heard from).
  uint64_t free_bytes(const std::string& id) const;
  // Every worker heard from since this master started.
  std::vector<std::string> ids() const;
  // Its address and key from the latest heartbeat, if ever heard from.
  std::optional<WorkerAddr> address(const std::string& id) const;

 private:
  struct Entry {
    Heartbeat last;
    Clock::time_point last_seen;
    Clock::time_point previous_seen;                             // the heartbeat before last_seen
    std::string state;                                           // live, suspect, dead
    std::deque<std::pair<Clock::time_point, uint64_t>> pending;  // recent allocations
    uint64_t pending_sum = 0;       // their bytes, kept so placement stays O(workers)
    Clock::time_point failed_at{};  // a client's latest report of a failure there
  };
  uint64_t pending_bytes(Entry& e, Clock::time_point now) const;

  Options options_;
  std::map<std::string, Entry> workers_;
  uint64_t placements_ = 0;
};

}  // namespace dfs
