// What a timed bench phase measured: operations, failures, and latency
// percentiles, from each client's latencies (ms).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace dfs {

struct Figures {
  uint64_t ops = 0;
  uint64_t failures = 0;
  double seconds = 0;
  double p50_ms = 0, p99_ms = 0;
};

inline Figures summarize(const std::vector<std::vector<double>>& latencies, uint64_t failures,
                         double seconds) {
  Figures f;
  f.seconds = seconds;
  std::vector<double> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  f.ops = all.size();
  f.failures = failures;
  if (!all.empty()) {
    f.p50_ms = all[all.size() / 2];
    f.p99_ms = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  }
  return f;
}

}  // namespace dfs
