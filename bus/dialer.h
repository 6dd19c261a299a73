// One connecting socket to servers that check keys. libzmq gives up for good
// on a connection whose security handshake failed, but a refusal need not be
// final: a key added to a server's keyring a moment after we first dialed
// (a new worker or master) is let in once the server rereads it. So after a
// refusal the socket is made afresh, a second later (backing off to 30 s
// while refusals go on), and every endpoint dialed again, a master's with its
// key looked up again (dialing the one endpoint again on the same socket
// does not bring it back). Not thread-safe, like the socket.
#pragma once

#include <zmq.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "bus/connection_watch.h"
#include "bus/endpoints.h"
#include "codec/status.h"

namespace dfs {

class Dialer {
 public:
  using Clock = std::chrono::steady_clock;

  // `make` builds the socket with its options and subscriptions; it is
  // called again for each fresh socket.
  Dialer(zmq::context_t& ctx, std::function<zmq::socket_t()> make);
  ~Dialer();

  // The socket as it is now: a redial replaces it (poll its handle afresh).
  zmq::socket_t& socket() { return socket_; }
  // Its connections as ZeroMQ reports them (replaced with the socket).
  ConnectionWatch& watch() { return *watch_; }

  // Connects to `endpoint`, whose server presents `server_key` (see connect_to).
  Status dial(const std::string& endpoint, const std::string& server_key);
  // Connects to `endpoint`, one of the sockets of the master whose api is
  // `master` (its key from the keyring).
  Status dial_master(const std::string& endpoint, const HostPort& master);
  // Makes the socket afresh and dials everything again once a second has
  // passed since a handshake was refused. True when it did.
  bool redial_refused(Clock::time_point now);
  // Makes the socket afresh and dials everything again, now: for a link
  // quieter than its traffic allows, whose connection may be dead without
  // either end having been told (a peer's host gone, a long partition).
  void redial();
  // Whether the servers seem to run in the other security mode: no
  // handshake has ever succeeded (on any of its sockets), and one failed for
  // the mode (or three with no detail, across fresh sockets too). Why, if so.
  std::optional<Status> other_mode();

 private:
  zmq::context_t& ctx_;
  std::function<zmq::socket_t()> make_;
  zmq::socket_t socket_;
  std::unique_ptr<ConnectionWatch> watch_;  // stopped before the socket closes
  struct Target {
    std::string key;
    std::optional<HostPort> master;  // a master's socket: its key is looked up again
  };
  bool any_handshook();
  void remake();

  std::map<std::string, Target> targets_;  // by endpoint
  std::optional<Clock::time_point> redial_at_;
  std::chrono::seconds redial_delay_{1};
  bool ever_handshook_ = false;
  size_t earlier_mode_failures_ = 0;  // on sockets replaced since the last success
};

}  // namespace dfs
