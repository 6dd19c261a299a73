// One PUSH socket per peer endpoint, made on first use. PUSH round-robins
// over every peer it is connected to, so a socket shared by several peers
// would scatter a chunk's frames; one per peer keeps each stream whole and
// ordered. Sends never block: a full queue is an error the caller acts on.
//
// With the bulk channel enabled (secure mode), chunk frames to a peer go
// sealed to its bulk socket instead (bus/bulk_seal.h), once a session asked
// for over the PUSH socket has been answered. A chunk keeps the route its
// first frame took, so its frames never overtake each other; everything
// else (acks, aborts, the session requests) stays on the PUSH socket.
#pragma once

#include <zmq.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "bus/bulk_seal.h"
#include "bus/connection_watch.h"
#include "bus/wire.h"
#include "codec/messages.h"

namespace dfs {

class PushPeers {
 public:
  using Clock = std::chrono::steady_clock;
  // Chunks a peer's bulk route carries at once; past it, new chunks go by PUSH.
  static constexpr size_t kMaxBulkChunks = 4096;
  // A session asked for and not answered in this long is asked for again;
  // a bulk route that failed is tried again after as long.
  static constexpr std::chrono::seconds kBulkAskAgain{10};
  // A bulk route unused this long is dropped (the peer forgets a session
  // idle for 10 minutes) and asked for afresh when next needed.
  static constexpr std::chrono::minutes kBulkIdle{5};

  // `send_hwm` bounds the messages queued per peer; sockets unused for
  // `idle_close` are closed.
  PushPeers(zmq::context_t& ctx, int send_hwm, std::chrono::milliseconds idle_close);

  // Sends chunk frames by peers' bulk channels from now on; `self` is named
  // in the session requests (the peer answers to self.pipeline).
  void enable_bulk(WorkerAddr self) { self_ = std::move(self); }

  // Queues `env` for the PULL socket at `endpoint`, whose server presents
  // `key`. kTimeout when the peer's queue is full (it is not reading),
  // kUnavailable when the socket fails. A socket is kept per endpoint and
  // key, so a sender naming a wrong key for a peer gets a socket of its own
  // that fails, and does not disturb the streams of others.
  Status send(const std::string& endpoint, const std::string& key, Envelope&& env,
              Clock::time_point now);
  // A BulkSessionReply that came on our pipeline socket from `sender_key`
  // in answer to request `request_id`: the peer asked is ready for bulk
  // frames. A reply nobody asked for, or from a key other than the peer
  // asked, is ignored (false).
  bool on_bulk_session(const std::string& sender_key, uint64_t request_id,
                       const BulkSessionReply& reply);
  // Closes the socket to `endpoint` with `key`, discarding whatever is still
  // queued on it: after a peer failed, its stale frames must not arrive later.
  void forget(const std::string& endpoint, const std::string& key);
  void close_idle(Clock::time_point now);
  // Peers whose connection dropped since it was up (they died, or closed
  // the port), or that no longer hold our bulk session: what was queued to
  // them is lost, and the writes that depend on them can fail now rather
  // than at their timeout.
  // As (endpoint, key) pairs; a refused handshake counts as lost.
  std::vector<std::pair<std::string, std::string>> lost();
  size_t size() const { return peers_.size(); }
  // Whether chunks to that peer would start on its bulk route now.
  bool bulk_route_up(const std::string& endpoint, const std::string& key);
  // Chunk frames sent sealed on bulk channels, for tests and stats.
  uint64_t bulk_frames() const { return bulk_frames_; }

 private:
  struct Bulk {
    uint64_t asked = 0;          // the request id of the session asked for (0: none)
    Clock::time_point asked_at;  // or, with asked 0, when a failed route may be tried again
    std::optional<zmq::socket_t> socket;     // set once the session is ready
    std::unique_ptr<ConnectionWatch> watch;  // the socket's; reset before it
    std::string session;
    std::unique_ptr<BulkSealer> sealer;
    Clock::time_point ready_at;    // when the session was answered
    Clock::time_point used;        // the last frame sent by it
    std::set<std::string> chunks;  // chunks whose frames take this route
  };
  struct Peer {
    zmq::socket_t socket;
    Clock::time_point last_used;
    std::unique_ptr<ConnectionWatch> watch;  // after socket: stopped before it closes
    Bulk bulk;
  };
  // Whether `env` (a ReplicaFrame or ReplicaAbort) goes by the bulk socket;
  // asks for a session when there is none.
  bool takes_bulk(Peer& peer, const Envelope& env, Clock::time_point now);
  Status send_sealed(Peer& peer, Envelope&& env);
  // Whether the bulk route is up: connected, its handshake done, room to send.
  static bool bulk_writable(Bulk& b);
  // Ends the bulk route; chunks go by PUSH until a new session after `retry`.
  static void drop_bulk(Bulk& b, Clock::time_point retry);

  zmq::context_t& ctx_;
  int send_hwm_;
  std::chrono::milliseconds idle_close_;
  std::optional<WorkerAddr> self_;
  uint64_t next_ask_;  // from a random start: another worker cannot guess our requests
  uint64_t bulk_frames_ = 0;
  std::map<std::pair<std::string, std::string>, Peer> peers_;  // by endpoint and key
};

}  // namespace dfs
