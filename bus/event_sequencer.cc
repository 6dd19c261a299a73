#include "bus/event_sequencer.h"

namespace dfs {

EventSequencer::Verdict EventSequencer::on_event(uint64_t epoch, uint64_t sequence) {
  Verdict v;
  if (epoch != epoch_) {
    // A leader this listener has not followed yet: what the previous one
    // published after our last look, and the new one's state, need a
    // fresh look; its own events before this one were lost.
    v.show = v.apply = v.need_snapshot = true;
    v.missed = epoch_ != 0 && sequence > 1 ? sequence - 1 : 0;
    if (v.missed) ++gaps_;
    epoch_ = epoch;
    seen_ = sequence;
    reflected_ = 0;
    return v;
  }
  if (sequence <= seen_) {
    v.apply = false;  // a repeat, or from before we joined
    return v;
  }
  if (sequence > seen_ + 1) {
    v.missed = sequence - seen_ - 1;
    v.need_snapshot = true;
    ++gaps_;
  }
  v.show = true;
  v.apply = sequence > reflected_;
  seen_ = sequence;
  return v;
}

void EventSequencer::on_snapshot(uint64_t epoch, uint64_t sequence) {
  if (epoch == 0) return;
  if (epoch != epoch_) {
    epoch_ = epoch;
    seen_ = reflected_ = sequence;
  } else if (sequence > reflected_) {
    reflected_ = sequence;
  }
}

}  // namespace dfs
