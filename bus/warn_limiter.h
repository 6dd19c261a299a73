// Rate limits warnings about bad input per peer: a peer sending garbage in a
// loop gets one log line a minute (saying how many it stood for), not one
// per frame. Pure: the caller passes the time. Not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>

namespace dfs {

class WarnLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // At most `max_peers` peers are remembered; past that the oldest are
  // forgotten, so a flood of made-up peers costs bounded memory.
  explicit WarnLimiter(std::chrono::milliseconds period = std::chrono::minutes(1),
                       size_t max_peers = 4096);

  // Counts one warning about `peer`. Returns 0 to stay quiet, or the number
  // of warnings the line to log now stands for (this one and those held back
  // since the last line).
  uint64_t admit(const std::string& peer, Clock::time_point now);
  uint64_t total() const { return total_; }

 private:
  struct Slot {
    Clock::time_point last_logged;
    uint64_t held = 0;
  };
  std::chrono::milliseconds period_;
  size_t max_peers_;
  std::unordered_map<std::string, Slot> peers_;
  uint64_t total_ = 0;
};

// Logs "dropping a bad message on WHERE (from SENDER; N in the last
// minute): WHY" if `limiter` admits it. `sender` is the sender's key, else
// its routing id.
void warn_bad_input(WarnLimiter& limiter, const std::string& sender, const char* where,
                    const std::string& why);

}  // namespace dfs
