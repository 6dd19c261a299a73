// Socket construction with the options every dfs socket must set explicitly:
// LINGER (so shutdown never hangs), HWMs (so no queue is unbounded) and, where
// it applies, ROUTER_MANDATORY and IMMEDIATE.
#pragma once

#include <zmq.hpp>

#include <string>

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
};

zmq::socket_t make_socket(zmq::context_t& ctx, zmq::socket_type type, const SocketOptions& opts);

// The process's one ZeroMQ context (one I/O thread), for code that may run
// many times in a process, such as a Client per thread: a context each would
// add two threads each, and on a small machine their wakeups cost more than
// the work. Never destroyed, since ending a context waits for every socket
// in the process to close.
zmq::context_t& process_context();

}  // namespace dfs
