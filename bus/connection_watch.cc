#include "bus/connection_watch.h"

#include <zmq.h>

#include <atomic>
#include <cstring>
#include <utility>

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
  if (zmq_socket_monitor(watched_, ep.c_str(),
                         ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_CONNECT_RETRIED |
                             ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                             ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                             ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) != 0) {
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

std::optional<Status> ConnectionWatch::handshake_failure() {
  read_events();
  return handshake_failure_;
}

bool ConnectionWatch::handshook() {
  read_events();
  return handshook_;
}

std::vector<std::string> ConnectionWatch::take_refused() {
  read_events();
  return std::exchange(refused_endpoints_, {});
}

bool ConnectionWatch::mode_mismatch() {
  read_events();
  return mode_mismatch_;
}

size_t ConnectionWatch::mode_failures() {
  read_events();
  return mode_failures_;
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
    uint32_t value = 0;
    if (event.size() >= 6) std::memcpy(&value, static_cast<const char*>(event.data()) + 2, 4);
    std::string peer = address.to_string();
    if ((id == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH || id == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
         id == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) &&
        refused_endpoints_.size() < 64) {
      refused_endpoints_.push_back(peer);
    }
    if (id == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
      handshook_ = true;
      mode_mismatch_ = false;
      mode_failures_ = 0;
      handshake_failure_.reset();
      failure_final_ = false;
    } else if (id == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
      failure_final_ = true;
      handshake_failure_ =
          Status(Code::kPermissionDenied, peer + " refused this process's key (status " +
                                              std::to_string(value) +
                                              "): it is not in that cluster's keyring");
    } else if (id == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL &&
               value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH) {
      mode_mismatch_ = true;
      failure_final_ = true;
      ++mode_failures_;
      handshake_failure_ =
          Status(Code::kUnavailable,
                 peer +
                     " runs in the other security mode (one side has --insecure, the other CURVE "
                     "keys): processes of one cluster must agree");
    } else if (id == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
               id == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
      if (id == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) ++mode_failures_;
      failure_final_ = false;
      handshake_failure_ = Status(
          Code::kUnavailable,
          peer + " broke off the security handshake (error " + std::to_string(value) +
              "): it runs in the other security mode (--insecure against CURVE keys), or this "
              "process has a wrong key for it");
    }
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
