// Client requests waiting for their log entry to apply, keyed by the
// entry's (index, term). Bounded: a full table refuses more, so a master
// that cannot commit says so instead of queueing without end. Pure data; no
// sockets, no clock of its own.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "master/replicated_log.h"

namespace dfs {

class PendingRequests {
 public:
  using Clock = std::chrono::steady_clock;
  struct Waiter {
    uint64_t term = 0;
    std::string routing_id;
    uint64_t request_id = 0;
    Clock::time_point since;
  };

  explicit PendingRequests(size_t capacity) : capacity_(capacity) {}

  bool full() const { return by_index_.size() >= capacity_; }
  size_t size() const { return by_index_.size(); }
  // Remembers `waiter` for the entry proposed at `pos` (waiter.term is set).
  // Returns a waiter already at that index (its entry was replaced before
  // it applied), which must be told so.
  std::optional<Waiter> add(LogPosition pos, Waiter waiter);
  // Entry `index` applied with `term`: the waiter for it, if its proposal is
  // the entry that applied. Waiters at `index` or below whose entry was
  // replaced (a new leader wrote another term there) go into *lost.
  std::optional<Waiter> take(uint64_t index, uint64_t term, std::vector<Waiter>* lost);
  // Every waiter, the table left empty (leadership was lost).
  std::vector<Waiter> take_all();
  // Waiters added before `cutoff`.
  std::vector<Waiter> take_older_than(Clock::time_point cutoff);

 private:
  size_t capacity_;
  std::map<uint64_t, Waiter> by_index_;
};

}  // namespace dfs
