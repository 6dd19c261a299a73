// A fixed sequence of writes to a Raft log store, shared by the crash test
// and the child process it kills: appends, a conflicting truncation, hard
// state changes, a snapshot from a leader and a local compaction. `model`
// applies the same steps to memory, so the test knows what each prefix of
// the sequence leaves on disk.
#pragma once

#include <string>
#include <vector>

#include "master/raft/raft.h"

namespace dfs::raft::testing {

struct Step {
  Ready ready;                        // for LogStore::save
  std::optional<Snapshot> compacted;  // for LogStore::save_snapshot instead
};

inline Entry entry(uint64_t term, uint64_t index) {
  return Entry{term, index, static_cast<uint8_t>(EntryType::kNormal),
               "t" + std::to_string(term) + "i" + std::to_string(index) + std::string(200, 'x')};
}

inline std::vector<Step> write_sequence() {
  std::vector<Step> steps;
  auto ready = [&](std::optional<HardState> hs, std::vector<Entry> entries,
                   std::optional<Snapshot> snap = std::nullopt) {
    Step s;
    s.ready.hard_state = hs;
    s.ready.entries = std::move(entries);
    s.ready.snapshot = std::move(snap);
    steps.push_back(std::move(s));
  };
  ready(HardState{1, 0, 0}, {entry(1, 1)});
  ready(HardState{2, 2, 0}, {});
  for (uint64_t i = 2; i <= 40; i += 3) {
    ready(HardState{2, 2, i - 1}, {entry(2, i), entry(2, i + 1), entry(2, i + 2)});
  }
  // A new leader overwrites an uncommitted tail.
  ready(HardState{3, 0, 30}, {entry(3, 35), entry(3, 36)});
  ready(HardState{3, 0, 36}, {});
  // The application compacts through 20.
  Step compact;
  compact.compacted = Snapshot{SnapshotMeta{20, 2, Membership{{1, 2, 3}, {}}}, "state@20"};
  steps.push_back(compact);
  ready(HardState{4, 1, 36}, {entry(4, 37)});
  // A leader's snapshot replaces the whole log.
  ready(HardState{5, 0, 60}, {},
        Snapshot{SnapshotMeta{60, 5, Membership{{1, 2, 3}, {4}}}, std::string(100000, 's')});
  ready(HardState{5, 0, 61}, {entry(5, 61), entry(5, 62)});
  return steps;
}

// What the store holds after `step` (a Persisted like a node reloads).
inline void model(Persisted& p, const Step& step) {
  if (step.compacted) {
    const Snapshot& s = *step.compacted;
    uint64_t drop = s.meta.index - p.snapshot.meta.index;
    p.entries.erase(p.entries.begin(), p.entries.begin() + static_cast<long>(drop));
    p.snapshot = s;
    return;
  }
  const Ready& rd = step.ready;
  if (rd.snapshot) {
    p.snapshot = *rd.snapshot;
    p.entries.clear();
  }
  if (!rd.entries.empty()) {
    p.entries.resize(rd.entries.front().index - p.snapshot.meta.index - 1);
    for (const auto& e : rd.entries) p.entries.push_back(e);
  }
  if (rd.hard_state) p.hard_state = *rd.hard_state;
}

}  // namespace dfs::raft::testing
