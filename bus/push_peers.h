// One PUSH socket per peer endpoint, made on first use. PUSH round-robins
// over every peer it is connected to, so a socket shared by several peers
// would scatter a chunk's frames; one per peer keeps each stream whole and
// ordered. Sends never block: a full queue is an error the caller acts on.
#pragma once

#include <zmq.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bus/connection_watch.h"
#include "bus/wire.h"

namespace dfs {

class PushPeers {
 public:
  using Clock = std::chrono::steady_clock;

  // `send_hwm` bounds the messages queued per peer; sockets unused for
  // `idle_close` are closed.
  PushPeers(zmq::context_t& ctx, int send_hwm, std::chrono::milliseconds idle_close);

  // Queues `env` for the PULL socket at `endpoint`, whose server presents
  // `key`. kTimeout when the peer's queue is full (it is not reading),
  // kUnavailable when the socket fails. A socket is kept per endpoint and
  // key, so a sender naming a wrong key for a peer gets a socket of its own
  // that fails, and does not disturb the streams of others.
  Status send(const std::string& endpoint, const std::string& key, Envelope&& env,
              Clock::time_point now);
  // Closes the socket to `endpoint` with `key`, discarding whatever is still
  // queued on it: after a peer failed, its stale frames must not arrive later.
  void forget(const std::string& endpoint, const std::string& key);
  void close_idle(Clock::time_point now);
  // Peers whose connection dropped since it was up (they died, or closed
  // the port): what was queued to them is lost, and the writes that depend
  // on them can fail now rather than at their timeout.
  // As (endpoint, key) pairs; a refused handshake counts as lost.
  std::vector<std::pair<std::string, std::string>> lost();
  size_t size() const { return peers_.size(); }

 private:
  struct Peer {
    zmq::socket_t socket;
    Clock::time_point last_used;
    std::unique_ptr<ConnectionWatch> watch;  // after socket: stopped before it closes
  };
  zmq::context_t& ctx_;
  int send_hwm_;
  std::chrono::milliseconds idle_close_;
  std::map<std::pair<std::string, std::string>, Peer> peers_;  // by endpoint and key
};

}  // namespace dfs
