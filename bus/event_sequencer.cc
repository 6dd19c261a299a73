#include "bus/event_sequencer.h"

namespace dfs {

EventSequencer::Verdict EventSequencer::on_event(uint64_t epoch, uint64_t sequence) {
  Verdict v;
  if (epoch != epoch_) {
    // A leader this listener has not followed yet: its events from 1 on
    // are news; whatever the previous leader published after our last
    // look, and the new one's state, need a fresh look.
    v.fresh = true;
    v.need_snapshot = true;
    v.missed = sequence > 1 && epoch_ != 0 ? sequence - 1 : 0;
    if (v.missed) ++gaps_;
    epoch_ = epoch;
    last_ = sequence;
    return v;
  }
  if (sequence <= last_) return v;  // reflected already (or a repeat)
  if (sequence > last_ + 1) {
    v.missed = sequence - last_ - 1;
    v.need_snapshot = true;
    ++gaps_;
  }
  v.fresh = true;
  last_ = sequence;
  return v;
}

void EventSequencer::on_snapshot(uint64_t epoch, uint64_t sequence) {
  if (epoch == 0) return;
  if (epoch != epoch_) {
    epoch_ = epoch;
    last_ = sequence;
  } else if (sequence > last_) {
    last_ = sequence;
  }
}

}  // namespace dfs
