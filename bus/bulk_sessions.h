// A server's bulk-channel sessions (bus/bulk_seal.h): opened over a CURVE
// connection, each belongs to the key that opened it, and messages on the
// bulk socket act with that key's authority. Bounded: a key holds at most
// kPerKey sessions, the table kMax, and a session unused for `idle` goes.
// Not thread-safe: the worker's socket thread owns it.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

#include "bus/bulk_seal.h"

namespace dfs {

// The ZAP domain of bulk sockets: they take the PLAIN mechanism, and the
// process's ZAP handler admits a connection only if it presents a session
// the gate holds (bulk_gate_username and _password). So a peer that holds no
// session cannot connect at all, and cannot make a worker buffer anything.
inline constexpr const char* kBulkZapDomain = "worker.bulk";

// The sessions a process's bulk sockets admit connections for. Thread-safe:
// the ZAP handler's thread asks, the socket thread allows and forgets.
class BulkGate {
 public:
  void allow(std::string_view session, std::string_view key);
  void forget(std::string_view session);
  bool admits(const std::string& username, const std::string& password) const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::string> allowed_;  // username -> password
};

BulkGate& process_bulk_gate();

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

  // `gate` (if any) admits connections for exactly the sessions held.
  explicit BulkSessions(std::chrono::milliseconds idle, BulkGate* gate = nullptr)
      : idle_(idle), gate_(gate) {}
  ~BulkSessions() {
    while (!sessions_.empty()) erase(sessions_.begin());
  }
  BulkSessions(const BulkSessions&) = delete;
  BulkSessions& operator=(const BulkSessions&) = delete;

  // A new session for `peer_key`. kBusy when the key holds kPerKey already
  // (its oldest are not evicted: one client must not push out its own
  // transfers in flight) or the table is full of sessions in use.
  Result<BulkSecret> open(const std::string& peer_key, Clock::time_point now);
  // The session `id` names; null when there is none. The caller marks it
  // used once a message opened under it: anyone may name a session.
  Session* find(std::string_view id);
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
  BulkGate* gate_;
  Table sessions_;
  std::map<std::string, size_t> per_key_;
};

}  // namespace dfs
