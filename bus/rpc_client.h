// Request/reply over one DEALER socket with ids and deadlines. Not
// thread-safe: one RpcClient per thread, like the socket it owns.
#pragma once

#include <zmq.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "bus/curve_keys.h"

#include "bus/connection_watch.h"
#include "bus/socket.h"
#include "bus/wire.h"

namespace dfs {

class RpcClient {
 public:
  // Requests are queued only to a completed connection (ZMQ_IMMEDIATE): a
  // send waits at most `connect_timeout` for one, so a peer that is down is
  // reported within that time rather than after a whole request timeout.
  // `queue` bounds the requests (and replies) the socket holds unsent (unread).
  // `server_key` is the CURVE public key the peer must present (ignored in
  // insecure mode); a refused handshake is reported at once, not as a timeout.
  // `identity` is the key pair presented (null: the process's own).
  // `bulk`: the peer is a worker, and chunk reads and writes go by its bulk
  // channel (bus/bulk_seal.h) in secure mode, opened on the first of them;
  // a worker without one is spoken to over CURVE alone.
  RpcClient(zmq::context_t& ctx, std::string endpoint, std::string server_key = "",
            std::chrono::milliseconds connect_timeout = std::chrono::milliseconds(2000),
            int queue = 64, std::shared_ptr<const KeyPair> identity = nullptr, bool bulk = false);
  ~RpcClient();

  const std::string& endpoint() const { return endpoint_; }

  // Sends a request and returns its reply, or kTimeout after `timeout`.
  // Replies to earlier, abandoned requests are discarded. After a timeout the
  // socket is rebuilt so an undelivered request cannot reach the peer later.
  Result<Envelope> call(Envelope&& request, std::chrono::milliseconds timeout);

  template <typename Req, typename Rep>
  Result<Rep> call(const Req& request, std::chrono::milliseconds timeout) {
    auto env = call(make_envelope(request), timeout);
    if (!env.is_ok()) return env.status();
    return decode_reply<Rep>(env.value());
  }

  // Streaming use (windowed transfers): send without waiting, then collect
  // replies. send() assigns and returns the request id.
  Result<uint64_t> send(Envelope&& request);
  // As send, but fails at once (kUnavailable) when the request cannot be
  // queued to a completed connection without waiting.
  Result<uint64_t> send_now(Envelope&& request);
  // Whether a request can be queued now (a connection is up, with room).
  bool connected();
  // Why the peer refused the security handshake, if it did (see
  // ConnectionWatch::handshake_failure).
  std::optional<Status> handshake_failure() { return watch_->handshake_failure(); }
  bool handshake_failure_is_final() const { return watch_->handshake_failure_is_final(); }
  // Waits up to `timeout` for any reply to a request sent on this socket;
  // kUnavailable at once if the connection drops first (the peer died),
  // since whatever was sent on it will not be answered.
  Result<Envelope> recv(std::chrono::milliseconds timeout);
  // Drops the socket (and the bulk channel) and anything queued on them.
  void reset();
  // Whether chunk data goes by the bulk channel now (for tests and stats).
  bool bulk_open() const { return bulk_ != nullptr; }
  // The socket's handle, for polling several clients at once (POLLOUT:
  // its connection is up).
  void* handle() { return socket_.handle(); }

 private:
  Result<uint64_t> send_as(Envelope&& request, uint64_t id);
  // Waits up to the connect timeout for room to send on `socket` (with
  // `watch`: reporting a refused or failed connection at once).
  Status wait_for_room(zmq::socket_t& socket, ConnectionWatch* watch);
  bool goes_bulk(const Envelope& request) const;
  // Asks the peer for a session and connects to its bulk socket; a peer
  // that has none, or whose bulk socket cannot be reached, is noted
  // (bulk_retry_at_) and is not an error.
  Status open_bulk();
  Result<uint64_t> send_bulk(Envelope&& request, uint64_t id);
  Result<uint64_t> send_by_route(Envelope&& request);
  // Opens a message from the bulk socket: nullopt when it does not open
  // (it is dropped), kUnavailable when the peer forgot our session.
  std::optional<Result<Envelope>> take_bulk();

  struct Bulk;

  zmq::context_t& ctx_;
  std::string endpoint_;
  std::string server_key_;
  std::shared_ptr<const KeyPair> identity_;
  std::chrono::milliseconds connect_timeout_;
  int queue_;
  zmq::socket_t socket_;
  Status connected_;  // why the socket could not connect (no key for the peer), if so
  std::unique_ptr<ConnectionWatch> watch_;  // declared after socket_: closed before it
  bool bulk_wanted_ = false;
  // Until then CURVE carries everything: the peer refused a session (no
  // bulk channel, or no room), or its bulk socket could not be reached.
  std::chrono::steady_clock::time_point bulk_retry_at_{};
  std::unique_ptr<Bulk> bulk_;
  // Requests sent and not yet answered (since the last reset): the route
  // between CURVE and the bulk channel changes only when there are none.
  uint64_t in_flight_ = 0;
  uint64_t next_id_ = 1;
  uint64_t oldest_live_id_ = 1;  // replies to ids below this are stale
};

}  // namespace dfs
