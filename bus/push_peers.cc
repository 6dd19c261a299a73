#include "bus/push_peers.h"

#include "bus/socket.h"

namespace dfs {

PushPeers::PushPeers(zmq::context_t& ctx, int send_hwm, std::chrono::milliseconds idle_close)
    : ctx_(ctx), send_hwm_(send_hwm), idle_close_(idle_close) {}

Status PushPeers::send(const std::string& endpoint, const std::string& key, Envelope&& env,
                       Clock::time_point now) {
  auto it = peers_.find({endpoint, key});
  if (it == peers_.end()) {
    SocketOptions opts;
    opts.send_hwm = send_hwm_;
    opts.linger_ms = 0;
    zmq::socket_t socket = make_socket(ctx_, zmq::socket_type::push, opts);
    auto watch = std::make_unique<ConnectionWatch>(ctx_, socket.handle());
    Status s = connect_to(socket, endpoint, key);
    if (!s.is_ok()) return s;
    it = peers_
             .emplace(std::make_pair(endpoint, key), Peer{std::move(socket), now, std::move(watch)})
             .first;
  }
  it->second.last_used = now;
  Status s = send_envelope(it->second.socket, Framing::kPlain, std::move(env));
  if (s.code() == Code::kTimeout) {
    return Status(Code::kTimeout,
                  "the queue to " + endpoint + " is full (the peer is not reading)");
  }
  return s;
}

void PushPeers::forget(const std::string& endpoint, const std::string& key) {
  peers_.erase({endpoint, key});
}

std::vector<std::pair<std::string, std::string>> PushPeers::lost() {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& [where, peer] : peers_) {
    // A refused handshake (a wrong key) is as final as a dropped connection.
    if (peer.watch->lost() || peer.watch->handshake_failure()) out.push_back(where);
  }
  return out;
}

void PushPeers::close_idle(Clock::time_point now) {
  std::erase_if(peers_, [&](const auto& p) { return now - p.second.last_used > idle_close_; });
}

}  // namespace dfs
