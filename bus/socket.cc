#include "bus/socket.h"

namespace dfs {

zmq::socket_t make_socket(zmq::context_t& ctx, zmq::socket_type type, const SocketOptions& opts) {
  zmq::socket_t s(ctx, type);
  s.set(zmq::sockopt::linger, opts.linger_ms);
  s.set(zmq::sockopt::sndhwm, opts.send_hwm);
  s.set(zmq::sockopt::rcvhwm, opts.recv_hwm);
  s.set(zmq::sockopt::reconnect_ivl, opts.reconnect_ivl_ms);
  s.set(zmq::sockopt::reconnect_ivl_max, opts.reconnect_ivl_max_ms);
  if (!opts.identity.empty()) s.set(zmq::sockopt::routing_id, opts.identity);
  if (opts.immediate) s.set(zmq::sockopt::immediate, 1);
  if (opts.router_mandatory) s.set(zmq::sockopt::router_mandatory, 1);
  return s;
}

zmq::context_t& process_context() {
  static zmq::context_t* ctx = new zmq::context_t(1);
  return *ctx;
}

}  // namespace dfs
