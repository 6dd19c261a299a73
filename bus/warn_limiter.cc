#include "bus/warn_limiter.h"

#include <spdlog/spdlog.h>

namespace dfs {

WarnLimiter::WarnLimiter(std::chrono::milliseconds period, size_t max_peers)
    : period_(period), max_peers_(max_peers) {}

uint64_t WarnLimiter::admit(const std::string& peer, Clock::time_point now) {
  ++total_;
  auto it = peers_.find(peer);
  if (it == peers_.end()) {
    if (peers_.size() >= max_peers_) {
      // Forget the peers that have been quiet the longest period: those
      // would log at once anyway.
      for (auto p = peers_.begin(); p != peers_.end();) {
        p = now - p->second.last_logged >= period_ ? peers_.erase(p) : std::next(p);
      }
      if (peers_.size() >= max_peers_) peers_.erase(peers_.begin());
    }
    peers_.emplace(peer, Slot{now, 0});
    return 1;
  }
  Slot& slot = it->second;
  ++slot.held;
  if (now - slot.last_logged < period_) return 0;
  uint64_t n = slot.held;
  slot = Slot{now, 0};
  return n;
}

void warn_bad_input(WarnLimiter& limiter, const std::string& sender, const char* where,
                    const std::string& why) {
  uint64_t n = limiter.admit(sender, WarnLimiter::Clock::now());
  if (n > 0) {
    spdlog::warn("dropping a bad message on {} (from {}; {} in the last minute): {}", where,
                 sender.empty() ? "an unnamed peer" : sender, n, why);
  }
}

}  // namespace dfs
