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
  if (s.is_ok()) targets_[endpoint] = Target{server_key, std::nullopt};
  return s;
}

Status Dialer::dial_master(const std::string& endpoint, const HostPort& master) {
  auto key = process_security().master_key(master);
  if (!key.is_ok()) return key.status();
  Status s = connect_to(socket_, endpoint, key.value());
  if (s.is_ok()) targets_[endpoint] = Target{key.value(), master};
  return s;
}

bool Dialer::any_handshook() {
  if (watch_->handshook()) {
    ever_handshook_ = true;
    earlier_mode_failures_ = 0;
  }
  return ever_handshook_;
}

std::optional<Status> Dialer::other_mode() {
  if (any_handshook()) return std::nullopt;
  if (watch_->mode_mismatch()) return watch_->handshake_failure();
  if (earlier_mode_failures_ + watch_->mode_failures() < 3) return std::nullopt;
  return Status(Code::kUnavailable,
                "every handshake with the servers fails: they run in the other security mode "
                "(one side has --insecure, the other CURVE keys; processes of one cluster must "
                "agree), or this process has a wrong key for them");
}

bool Dialer::redial_refused(Clock::time_point now) {
  if (!redial_at_ && !watch_->take_refused().empty()) redial_at_ = now + redial_delay_;
  if (!redial_at_ || now < *redial_at_) return false;
  redial_at_.reset();
  // Refused again and again: wait longer each time, up to 30 s.
  redial_delay_ = watch_->handshook() ? std::chrono::seconds(1)
                                      : std::min(redial_delay_ * 2, std::chrono::seconds(30));
  (void)any_handshook();
  spdlog::info("dialing {} endpoint(s) again on a fresh socket after a refused handshake",
               targets_.size());
  remake();
  return true;
}

void Dialer::redial() {
  (void)any_handshook();
  remake();
}

void Dialer::remake() {
  earlier_mode_failures_ += watch_->mode_failures();
  watch_.reset();
  socket_ = make_();
  watch_ = std::make_unique<ConnectionWatch>(ctx_, socket_.handle());
  for (auto& [endpoint, target] : targets_) {
    if (target.master) {
      auto key = process_security().master_key(*target.master);
      if (key.is_ok()) target.key = key.value();
    }
    Status s = connect_to(socket_, endpoint, target.key);
    if (!s.is_ok()) spdlog::warn("{}", s.message());
  }
}

}  // namespace dfs
