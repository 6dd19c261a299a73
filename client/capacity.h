// The cluster's space as `dfs df` reports it: workers that share a
// filesystem (several on one disk, as a local cluster runs) share its free
// space, so it is counted once per filesystem, not once per worker.
#pragma once

#include <cstdint>
#include <vector>

#include "codec/messages.h"

namespace dfs {

struct SpaceTotals {
  uint64_t capacity = 0;  // what the live workers may hold, per filesystem at most its size
  uint64_t used = 0;      // chunk bytes stored
  uint64_t free = 0;      // what can still be stored, per filesystem at most its free space
  size_t workers = 0;     // live workers counted
  size_t filesystems = 0;
};

// Totals over the live workers in `workers`.
SpaceTotals live_space(const std::vector<WorkerInfo>& workers);

}  // namespace dfs
