// The Clone pattern's bookkeeping for a listener of the leader's events.
// From each event's (epoch, sequence) it tells whether the event is new to
// this listener (to show), whether it is newer than the state last fetched
// (to apply to it), and whether events were lost before it (PUB/SUB drops
// when a subscriber is slow or joins late). After a gap, or when a new
// leader starts a new epoch, the listener fetches the state afresh and hands
// its (epoch, sequence) to on_snapshot. A pure core: no sockets, no clock.
#pragma once

#include <cstdint>

namespace dfs {

class EventSequencer {
 public:
  struct Verdict {
    bool show = false;           // not seen before by this listener
    bool apply = false;          // not reflected in the last state fetched
    bool need_snapshot = false;  // fetch the state afresh
    uint64_t missed = 0;         // events lost before this one
  };

  Verdict on_event(uint64_t epoch, uint64_t sequence);
  // The state fetched reflects every event of `epoch` up to `sequence`
  // (epoch 0: no leader answered; nothing is known). Events of an epoch
  // first met here that predate the state are not counted as missed.
  void on_snapshot(uint64_t epoch, uint64_t sequence);

  uint64_t epoch() const { return epoch_; }
  uint64_t gaps() const { return gaps_; }

 private:
  uint64_t epoch_ = 0;
  uint64_t seen_ = 0;       // the newest event of epoch_ seen (or predating us)
  uint64_t reflected_ = 0;  // the newest event of epoch_ the last state holds
  uint64_t gaps_ = 0;
};

}  // namespace dfs
