// The Clone pattern's bookkeeping for a listener of the leader's events: it
// tells, from each event's (epoch, sequence), whether the event is news,
// already reflected in the state last fetched, or follows a gap (events
// lost on the way: PUB/SUB drops when a subscriber is slow or joins late).
// After a gap, or when a new leader starts a new epoch, the listener
// fetches the state afresh and hands its (epoch, sequence) to on_snapshot.
// A pure core: no sockets, no clock.
#pragma once

#include <cstdint>

namespace dfs {

class EventSequencer {
 public:
  struct Verdict {
    bool fresh = false;          // not yet reflected: apply it
    bool need_snapshot = false;  // fetch the state afresh
    uint64_t missed = 0;         // events known to be lost before this one
  };

  Verdict on_event(uint64_t epoch, uint64_t sequence);
  // The state fetched reflects every event of `epoch` up to `sequence`
  // (epoch 0: no leader answered; nothing is known).
  void on_snapshot(uint64_t epoch, uint64_t sequence);

  uint64_t epoch() const { return epoch_; }
  uint64_t last() const { return last_; }
  uint64_t gaps() const { return gaps_; }

 private:
  uint64_t epoch_ = 0;
  uint64_t last_ = 0;  // the newest event of epoch_ reflected
  uint64_t gaps_ = 0;  // gaps seen so far
};

}  // namespace dfs
