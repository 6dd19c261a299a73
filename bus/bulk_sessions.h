// A server's bulk-channel sessions (bus/bulk_seal.h): opened over a CURVE
// connection, each belongs to the key that opened it, and messages on the
// bulk socket act with that key's authority. Bounded: a key holds at most
// kPerKey sessions, the table kMax, and a session unused for `idle` goes.
// Not thread-safe: the worker's socket thread owns it.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <unordered_map>

#include "bus/bulk_seal.h"

namespace dfs {

class BulkSessions {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kMax = 16384;
  static constexpr size_t kPerKey = 1024;

  struct Session {
    std::string peer_key;  // Z85: whose authority its messages carry
    BulkOpener in;         // client to server
    BulkSealer out;        // server to client
    Clock::time_point used;
  };

  explicit BulkSessions(std::chrono::milliseconds idle) : idle_(idle) {}

  // A new session for `peer_key`. kBusy when the key holds kPerKey already
  // (its oldest are not evicted: one client must not push out its own
  // transfers in flight) or the table is full of sessions in use.
  Result<BulkSecret> open(const std::string& peer_key, Clock::time_point now);
  // The session `id` names, marked used; null when there is none.
  Session* find(std::string_view id, Clock::time_point now);
  // Drops sessions unused for the idle time, and those whose key
  // `still_allowed` refuses (a revocation). Returns how many went.
  template <typename Pred>
  size_t sweep(Clock::time_point now, Pred still_allowed) {
    size_t n = 0;
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      if (now - it->second.used >= idle_ || !still_allowed(it->second.peer_key)) {
        it = erase(it);
        ++n;
      } else {
        ++it;
      }
    }
    return n;
  }
  size_t size() const { return sessions_.size(); }

 private:
  using Table = std::unordered_map<std::string, Session>;
  Table::iterator erase(Table::iterator it);

  std::chrono::milliseconds idle_;
  Table sessions_;
  std::map<std::string, size_t> per_key_;
};

}  // namespace dfs
