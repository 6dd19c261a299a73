#include "bus/dialer.h"

#include <spdlog/spdlog.h>

#include "bus/security.h"
#include "bus/socket.h"

namespace dfs {

Dialer::Dialer(zmq::context_t& ctx, std::function<zmq::socket_t()> make)
    : ctx_(ctx), make_(std::move(make)), socket_(make_()) {
  watch_ = std::make_unique<ConnectionWatch>(ctx_, socket_.handle());
}

Dialer::~Dialer() { watch_.reset(); }

Status Dialer::dial(const std::string& endpoint, const std::string& server_key) {
  Status s = connect_to(socket_, endpoint, server_key);
  if (s.is_ok()) keys_[endpoint] = server_key;
  return s;
}

Status Dialer::dial_master(const std::string& endpoint, const HostPort& master) {
  auto key = process_security().master_key(master.host + ":" + std::to_string(master.port));
  if (!key.is_ok()) return key.status();
  return dial(endpoint, key.value());
}

std::optional<Status> Dialer::other_mode() {
  if (watch_->handshook()) {
    earlier_mode_failures_ = 0;
    return std::nullopt;
  }
  if (watch_->mode_mismatch()) return watch_->handshake_failure();
  if (earlier_mode_failures_ + watch_->mode_failures() < 3) return std::nullopt;
  return Status(Code::kUnavailable,
                "every handshake with the servers fails: they run in the other security mode "
                "(one side has --insecure, the other CURVE keys; processes of one cluster must "
                "agree), or this process has a wrong key for them");
}

bool Dialer::redial_refused(Clock::time_point now) {
  if (!redial_at_ && !watch_->take_refused().empty()) redial_at_ = now + std::chrono::seconds(1);
  if (!redial_at_ || now < *redial_at_) return false;
  redial_at_.reset();
  spdlog::info("dialing {} endpoint(s) again on a fresh socket after a refused handshake",
               keys_.size());
  earlier_mode_failures_ += watch_->mode_failures();
  watch_.reset();
  socket_ = make_();
  watch_ = std::make_unique<ConnectionWatch>(ctx_, socket_.handle());
  for (const auto& [endpoint, key] : keys_) {
    Status s = connect_to(socket_, endpoint, key);
    if (!s.is_ok()) spdlog::warn("{}", s.message());
  }
  return true;
}

}  // namespace dfs
