// A progress line on stderr for put and get when stderr is a terminal:
// bytes done of total, percent and rate, redrawn a few times a second.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "client/client.h"

namespace dfs {

class ProgressBar {
 public:
  // `total` 0 means unknown (standard input). Draws only if `enabled`.
  ProgressBar(std::string label, uint64_t total, bool enabled);
  ~ProgressBar();  // finish()
  ProgressFn callback();
  void finish();

 private:
  void draw(bool final);

  std::string label_;
  uint64_t total_;
  bool enabled_;
  std::atomic<int64_t> done_{0};
  std::chrono::steady_clock::time_point start_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace dfs
