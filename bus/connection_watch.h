// Whether a connecting socket's peer is still there, from ZeroMQ's socket
// monitor: a peer that dies (kill -9, a closed port) ends the TCP
// connection, and the monitor says so at once, where a request would
// otherwise wait for its whole timeout. One watch per socket; not
// thread-safe, like the socket.
#pragma once

#include <zmq.hpp>

#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "codec/status.h"

namespace dfs {

class ConnectionWatch {
 public:
  // Starts watching the socket `socket_handle` (not yet connected, or just
  // connected), which outlives the watch.
  ConnectionWatch(zmq::context_t& ctx, void* socket_handle);
  ~ConnectionWatch();
  ConnectionWatch(const ConnectionWatch&) = delete;
  ConnectionWatch& operator=(const ConnectionWatch&) = delete;

  // Reads the events that arrived: true once a connection that was up has
  // dropped (and no new one is up yet).
  bool lost();
  // Reads the events that arrived: true when connecting was refused (no one
  // listens there: the peer is dead) and no connection is up.
  bool refused();
  // Reads the events that arrived: why the latest security handshake failed
  // (the peer refused our key, or speaks another security mode), if it did
  // and none succeeded since. kPermissionDenied or kUnavailable.
  std::optional<Status> handshake_failure();
  // Whether that failure is final: the peer refused our key, or said it
  // speaks the other mode. A failure with no detail may also be a peer that
  // died mid-handshake, which a retry elsewhere gets past.
  bool handshake_failure_is_final() const { return failure_final_; }
  // Whether any handshake has succeeded on this socket.
  bool handshook();
  // The endpoints whose security handshake failed since the last call.
  // libzmq never dials those again by itself.
  std::vector<std::string> take_refused();
  // Whether a peer refused the handshake for speaking the other security
  // mode (CURVE against --insecure) since the last success.
  bool mode_mismatch();
  // Handshakes since the last success that failed for the mode or with no
  // detail. Against a peer of the other mode ZeroMQ reports the mismatch
  // only some of the time (the peer may close first), so repeated failures
  // that are not refusals of our key say the same.
  size_t mode_failures();
  // For polling: readable when an event waits.
  void* handle() { return events_.handle(); }

  // A connection made or lost, as ZeroMQ's monitor reported it.
  struct Change {
    bool connected = false;
    std::string endpoint;
  };
  // Reads the events that arrived; returns the connects and disconnects
  // since the last call (the latest 64 at most).
  std::vector<Change> take_changes();

 private:
  void* watched_;
  zmq::socket_t events_;
  void read_events();
  bool up_ = false;
  bool lost_ = false;
  bool refused_ = false;
  bool handshook_ = false;
  bool mode_mismatch_ = false;
  size_t mode_failures_ = 0;
  std::optional<Status> handshake_failure_;
  bool failure_final_ = false;
  std::vector<std::string> refused_endpoints_;
  std::deque<Change> changes_;
};

}  // namespace dfs
