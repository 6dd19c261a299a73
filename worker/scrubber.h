// The worker's background check of its own chunks: it re-reads every
// stored chunk at a throttled rate and checks its bytes against the SHA-256
// in its header, so a flipped bit, a truncated file or a damaged header is
// found before a reader needs the chunk. A chunk seen in one pass and gone in
// the next without being deleted on the master's orders counts as missing.
// What it finds goes to the masters with the heartbeats (Heartbeat.bad) from
// the moment it is found until the chunk is deleted, so a lost heartbeat
// loses nothing; and each finished pass sends an inventory report at once,
// which tells the master of any recorded chunk the worker no longer holds.
//
// `check` (one chunk, one verdict) and ScrubFindings (what is still to tell)
// are the pure parts; the thread only paces them.
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

// The scrubber's findings until the master acts on them: each chunk found
// bad, with why and when. One is forgotten once it no longer holds (the
// chunk was deleted, or a missing one is back), or after `ttl`: a master
// that has not acted by then never will (it records no copy there, say),
// and a chunk still bad is found again by the next pass. At most `max`.
class ScrubFindings {
 public:
  using Clock = std::chrono::steady_clock;
  ScrubFindings(size_t max, std::chrono::milliseconds ttl) : max_(max), ttl_(ttl) {}

  // True when the chunk was not already a finding (and there was room).
  bool add(const std::string& id, const std::string& why, Clock::time_point now);
  // The findings still standing at `now`; settled(id, why) tells one that
  // no longer holds.
  template <typename Settled>
  std::vector<std::pair<std::string, std::string>> standing(Clock::time_point now,
                                                            Settled&& settled) {
    std::vector<std::pair<std::string, std::string>> out;
    for (auto it = found_.begin(); it != found_.end();) {
      bool gone = now - it->second.at >= ttl_ || settled(it->first, it->second.why);
      if (gone) {
        it = found_.erase(it);
      } else {
        out.emplace_back(it->first, it->second.why);
        ++it;
      }
    }
    return out;
  }
  size_t size() const { return found_.size(); }

 private:
  struct Finding {
    std::string why;
    Clock::time_point at;
  };
  size_t max_;
  std::chrono::milliseconds ttl_;
  std::map<std::string, Finding> found_;  // by chunk id
};

class Scrubber {
 public:
  struct Options {
    uint64_t bytes_per_second = 20ull << 20;  // 0: never scrub
    // A finished pass waits this long before the next one starts.
    std::chrono::milliseconds pass_interval{std::chrono::hours(1)};
    // A finding the master has not acted on within this long is dropped.
    std::chrono::milliseconds finding_ttl{std::chrono::minutes(10)};
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
  // Records a finding and logs it if new.
  void found(const std::string& id, const std::string& why);

  ChunkStore* store_;
  Options options_;
  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  ScrubFindings findings_;
  uint64_t passes_ = 0;
  std::jthread thread_;
};

}  // namespace dfs
