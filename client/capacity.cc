#include "client/capacity.h"

#include <algorithm>
#include <map>
#include <string>

namespace dfs {

SpaceTotals live_space(const std::vector<WorkerInfo>& workers) {
  struct Group {
    uint64_t capacity = 0, free = 0, fs_size = 0, fs_free = 0;
  };
  std::map<std::string, Group> groups;
  SpaceTotals t;
  for (const auto& w : workers) {
    if (w.state != "live") continue;
    ++t.workers;
    t.used += w.used;
    // A worker that does not say which filesystem it is on counts alone.
    Group& g = groups[w.fs_id.empty() ? "worker:" + w.id : w.fs_id];
    g.capacity += w.capacity;
    g.free += w.capacity > w.used ? w.capacity - w.used : 0;
    g.fs_size = std::max(g.fs_size, w.fs_size);
    g.fs_free = std::max(g.fs_free, w.fs_free);
  }
  for (const auto& [id, g] : groups) {
    t.capacity += g.fs_size ? std::min(g.capacity, g.fs_size) : g.capacity;
    t.free += g.fs_size ? std::min(g.free, g.fs_free) : g.free;
  }
  t.filesystems = groups.size();
  return t;
}

}  // namespace dfs
