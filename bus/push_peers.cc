#include "bus/push_peers.h"

#include "bus/socket.h"

namespace dfs {

PushPeers::PushPeers(zmq::context_t& ctx, int send_hwm, std::chrono::milliseconds idle_close)
    : ctx_(ctx), send_hwm_(send_hwm), idle_close_(idle_close) {}

Status PushPeers::send(const std::string& endpoint, Envelope&& env, Clock::time_point now) {
  auto it = peers_.find(endpoint);
  if (it == peers_.end()) {
    SocketOptions opts;
    opts.send_hwm = send_hwm_;
    opts.linger_ms = 0;
    zmq::socket_t socket = make_socket(ctx_, zmq::socket_type::push, opts);
    auto watch = std::make_unique<ConnectionWatch>(ctx_, socket.handle());
    try {
      socket.connect(endpoint);
    } catch (const zmq::error_t& e) {
      return Status(Code::kUnavailable, "cannot connect to " + endpoint + ": " + e.what());
    }
    it = peers_.emplace(endpoint, Peer{std::move(socket), now, std::move(watch)}).first;
  }
  it->second.last_used = now;
  Status s = send_envelope(it->second.socket, Framing::kPlain, std::move(env));
  if (s.code() == Code::kTimeout) {
    return Status(Code::kTimeout,
                  "the queue to " + endpoint + " is full (the peer is not reading)");
  }
  return s;
}

void PushPeers::forget(const std::string& endpoint) { peers_.erase(endpoint); }

std::vector<std::string> PushPeers::lost() {
  std::vector<std::string> out;
  for (auto& [endpoint, peer] : peers_) {
    if (peer.watch->lost()) out.push_back(endpoint);
  }
  return out;
}

void PushPeers::close_idle(Clock::time_point now) {
  std::erase_if(peers_, [&](const auto& p) { return now - p.second.last_used > idle_close_; });
}

}  // namespace dfs
