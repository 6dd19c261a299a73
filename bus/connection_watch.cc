#include "bus/connection_watch.h"

#include <zmq.h>

#include <atomic>
#include <cstring>

namespace dfs {
namespace {
std::string next_endpoint() {
  static std::atomic<uint64_t> n{0};
  return "inproc://connection-watch-" + std::to_string(++n);
}
}  // namespace

ConnectionWatch::ConnectionWatch(zmq::context_t& ctx, void* socket_handle)
    : watched_(socket_handle), events_(ctx, zmq::socket_type::pair) {
  std::string ep = next_endpoint();
  if (zmq_socket_monitor(
          watched_, ep.c_str(),
          ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_CONNECT_RETRIED) != 0) {
    throw zmq::error_t();
  }
  events_.set(zmq::sockopt::linger, 0);
  events_.connect(ep);
}

ConnectionWatch::~ConnectionWatch() {
  zmq_socket_monitor(watched_, nullptr, 0);  // stops the monitor's socket
}

bool ConnectionWatch::lost() {
  read_events();
  return lost_;
}

bool ConnectionWatch::refused() {
  read_events();
  return refused_ && !up_;
}

std::vector<ConnectionWatch::Change> ConnectionWatch::take_changes() {
  read_events();
  std::vector<Change> out(changes_.begin(), changes_.end());
  changes_.clear();
  return out;
}

void ConnectionWatch::read_events() {
  while (true) {
    zmq::message_t event, address;
    if (!events_.recv(event, zmq::recv_flags::dontwait)) break;
    if (event.more()) (void)events_.recv(address, zmq::recv_flags::dontwait);
    if (event.size() < 2) continue;
    uint16_t id = 0;
    std::memcpy(&id, event.data(), sizeof id);
    if (id == ZMQ_EVENT_CONNECTED || id == ZMQ_EVENT_DISCONNECTED) {
      changes_.push_back({id == ZMQ_EVENT_CONNECTED, address.to_string()});
      if (changes_.size() > 64) changes_.pop_front();
    }
    if (id == ZMQ_EVENT_CONNECTED) {
      up_ = true;
      lost_ = false;
      refused_ = false;
    } else if (id == ZMQ_EVENT_DISCONNECTED && up_) {
      up_ = false;
      lost_ = true;
    } else if (id == ZMQ_EVENT_CONNECT_RETRIED) {
      refused_ = true;  // an attempt failed; ZeroMQ tries again later
    }
  }
}

}  // namespace dfs
