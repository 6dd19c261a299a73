#include "bus/socket.h"

#include "bus/security.h"

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
  s.set(zmq::sockopt::maxmsgsize, opts.max_message_bytes);
  if (opts.heartbeat_ms > 0) {
    s.set(zmq::sockopt::heartbeat_ivl, opts.heartbeat_ms);
    s.set(zmq::sockopt::heartbeat_timeout, 10 * opts.heartbeat_ms);
  }
  const int connect_timeout =
      opts.connect_timeout_ms > 0 ? opts.connect_timeout_ms : opts.heartbeat_ms;
  if (connect_timeout > 0) s.set(zmq::sockopt::connect_timeout, connect_timeout);
  const Security& sec = process_security();
  if (sec.secure() && opts.serves) {
    s.set(zmq::sockopt::curve_server, 1);
    s.set(zmq::sockopt::curve_secretkey, sec.own().secret_key);
    s.set(zmq::sockopt::zap_domain, std::string(domain_name(*opts.serves)));
  }
  return s;
}

Status connect_to(zmq::socket_t& s, const std::string& endpoint, const std::string& server_key,
                  const KeyPair* own) {
  const Security& sec = process_security();
  try {
    if (sec.secure()) {
      if (server_key.empty()) {
        return invalid_argument("no key known for the server at " + endpoint);
      }
      s.set(zmq::sockopt::curve_serverkey, server_key);
      const KeyPair& me = own != nullptr ? *own : sec.own();
      s.set(zmq::sockopt::curve_publickey, me.public_key);
      s.set(zmq::sockopt::curve_secretkey, me.secret_key);
    }
    s.connect(endpoint);
  } catch (const zmq::error_t& e) {
    return Status(Code::kUnavailable, "cannot connect to " + endpoint + ": " + e.what());
  }
  return Status::ok();
}

zmq::context_t& process_context() {
  static zmq::context_t* ctx = new zmq::context_t(1);
  return *ctx;
}

}  // namespace dfs
