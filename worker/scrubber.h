// The worker's background check of its own chunks: it re-reads every
// stored chunk at a throttled rate and checks its bytes against the SHA-256
// in its header, so a flipped bit, a truncated file or a damaged header is
// found before a reader needs the chunk. A chunk seen in one pass and gone in
// the next without being deleted on the master's orders counts as missing.
// What it finds goes to the masters with the heartbeats (Heartbeat.bad) until
// the chunk is deleted, so a lost heartbeat loses nothing; and each finished
// pass sends an inventory report at once, which tells the master of any
// recorded chunk the worker no longer holds.
//
// `check` is the pure part (one chunk, one verdict); the thread only paces it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "worker/chunk_store.h"

namespace dfs {

class Scrubber {
 public:
  struct Options {
    uint64_t bytes_per_second = 20ull << 20;  // 0: never scrub
    // A finished pass waits this long before the next one starts.
    std::chrono::milliseconds pass_interval{std::chrono::hours(1)};
  };

  Scrubber(ChunkStore* store, Options options);
  ~Scrubber();  // stops and joins

  // Chunks found bad, each with why, that are still in the store.
  std::vector<std::pair<std::string, std::string>> bad();
  // Reads the chunk and says what is wrong with it ("" when it is good).
  static std::string check(ChunkStore& store, const std::string& id);
  uint64_t passes() const;

 private:
  void run(const std::stop_token& stop);
  // Waits `d` unless stopped first; false when stopped.
  bool pause(const std::stop_token& stop, std::chrono::nanoseconds d);

  ChunkStore* store_;
  Options options_;
  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  std::map<std::string, std::string> bad_;  // chunk id -> why
  uint64_t passes_ = 0;
  std::jthread thread_;
};

}  // namespace dfs
