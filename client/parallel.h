// Runs a job over indices 0..n-1 on up to `threads` threads, each with its
// own context (sockets are per thread). Stops handing out indices after the
// first failure and returns that failure.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "codec/status.h"

namespace dfs {

template <typename Context>
Status parallel_for(size_t n, int threads, const std::function<Context()>& make_context,
                    const std::function<Status(size_t index, Context& ctx)>& job) {
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  Status first_error;
  auto run = [&] {
    Context ctx = make_context();
    while (!failed.load()) {
      size_t i = next.fetch_add(1);
      if (i >= n) break;
      Status s = job(i, ctx);
      if (!s.is_ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (!failed.exchange(true)) first_error = s;
      }
    }
  };
  size_t count = std::min<size_t>(n, static_cast<size_t>(std::max(1, threads)));
  std::vector<std::thread> pool;
  for (size_t t = 1; t < count; ++t) pool.emplace_back(run);
  if (count > 0) run();
  for (auto& t : pool) t.join();
  return first_error;
}

}  // namespace dfs
