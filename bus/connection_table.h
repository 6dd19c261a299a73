// Which key each inbound connection speaks for, so that the connections of
// a key the keyring stops listing can be closed at once rather than left
// open until the peer goes away.
//
// libzmq offers no handle on one peer's connection to a bound socket, but
// each message it delivers names the descriptor it came in on (ZMQ_SRCFD).
// Shutting that descriptor down makes libzmq drop the connection as it
// would a lost one; the peer redials, and its handshake is refused.
// A descriptor is reused once libzmq closes it, so each record keeps the
// peer's address and a connection is cut only while the descriptor still
// leads to that address.
#pragma once

#include <mutex>
#include <set>
#include <string>
#include <unordered_map>

namespace dfs {

class ConnectionTable {
 public:
  // `fd` delivered a message sent with public key `key`.
  void record(int fd, const std::string& key);
  // Shuts down every recorded connection of a key in `keys`; returns how
  // many it cut.
  size_t cut(const std::set<std::string>& keys);
  // Shuts down `fd` if it is still the connection `key` was recorded on: a
  // message from a key no longer listed may have waited in libzmq's queue
  // after its connection closed and the descriptor went to another peer.
  bool cut_one(int fd, const std::string& key);

 private:
  struct Connection {
    std::string key;
    std::string peer;  // the address at the other end, when recorded
  };
  mutable std::mutex mu_;
  std::unordered_map<int, Connection> by_fd_;
};

}  // namespace dfs
