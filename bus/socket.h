// Socket construction with the options every dfs socket must set explicitly:
// LINGER (so shutdown never hangs), HWMs (so no queue is unbounded) and, where
// it applies, ROUTER_MANDATORY, IMMEDIATE and link heartbeats; and its security: in secure
// mode (bus/security.h) a socket that serves a domain is a CURVE server, one
// given a server key a CURVE client.
#pragma once

#include <zmq.hpp>

#include <optional>
#include <string>

#include "bus/access_policy.h"
#include "bus/curve_keys.h"
#include "bus/endpoints.h"
#include "codec/codec.h"

namespace dfs {

struct SocketOptions {
  int linger_ms = 0;
  int send_hwm = 1000;
  int recv_hwm = 1000;
  std::string identity;           // stable routing id, set before connect
  bool immediate = false;         // queue only to completed connections
  bool router_mandatory = false;  // a send to an unknown peer fails instead of vanishing
  int reconnect_ivl_ms = 100;
  int reconnect_ivl_max_ms = 2000;  // capped backoff
  // A long-lived link between daemons: a ZMTP PING this often, the
  // connection closed and redialled when nothing came back within ten (long
  // enough for a PING queued behind 32 MiB of Raft appends on a 100 Mbit/s
  // link), and each dial given up after one. Without it, a link cut for a
  // while waits on TCP's retransmission backoff, which reaches minutes,
  // before it carries anything again. 0: none. Only for sockets that never
  // stop reading for a full queue (see the worker's jobs link).
  int heartbeat_ms = 0;
  // Each dial given up after this long (0: as heartbeat_ms, or the OS's
  // SYN retries, about two minutes, toward a host that does not answer).
  int connect_timeout_ms = 0;
  // Larger inbound messages (any one frame) close the connection before
  // they are taken in. The default fits a data frame and its header.
  int64_t max_message_bytes = 2 << 20;
  std::optional<Domain> serves;  // a bound socket: CURVE server for this ZAP domain
                                 // (a connecting one gets its server's key in connect_to)
};

// The heartbeat of links between daemons (SocketOptions::heartbeat_ms).
inline constexpr int kLinkHeartbeatMs = 1000;

// What sockets that take message bodies of any size allow (a commit of a
// file of 100,000 chunks, a Raft batch): the codec's limit on a body.
inline constexpr int64_t kMaxInboundBytes = static_cast<int64_t>(kMaxBodyBytes);

zmq::socket_t make_socket(zmq::context_t& ctx, zmq::socket_type type, const SocketOptions& opts);

// Connects `s` to `endpoint`, whose server presents `server_key` (ignored in
// insecure mode). One socket may connect to several servers with different
// keys: the key in force at each connect is the one that connection uses.
// `own` is the key pair to present; null: the process's own (process_security()).
Status connect_to(zmq::socket_t& s, const std::string& endpoint, const std::string& server_key,
                  const KeyPair* own = nullptr);

// The process's one ZeroMQ context (one I/O thread), for code that may run
// many times in a process, such as a Client per thread: a context each would
// add two threads each, and on a small machine their wakeups cost more than
// the work. Never destroyed, since ending a context waits for every socket
// in the process to close.
zmq::context_t& process_context();

}  // namespace dfs
