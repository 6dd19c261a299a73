#include "bus/bulk_sessions.h"

namespace dfs {

void BulkGate::allow(std::string_view session, std::string_view key) {
  std::lock_guard lock(mu_);
  allowed_[bulk_gate_username(session)] = bulk_gate_password(key);
}

void BulkGate::forget(std::string_view session) {
  std::lock_guard lock(mu_);
  allowed_.erase(bulk_gate_username(session));
}

bool BulkGate::admits(const std::string& username, const std::string& password) const {
  std::lock_guard lock(mu_);
  auto it = allowed_.find(username);
  return it != allowed_.end() && it->second == password;
}

BulkGate& process_bulk_gate() {
  static BulkGate* gate = new BulkGate;  // never destroyed: the ZAP thread may outlive statics
  return *gate;
}

Result<BulkSecret> BulkSessions::open(const std::string& peer_key, Clock::time_point now) {
  auto held = per_key_.find(peer_key);
  if (held != per_key_.end() && held->second >= kPerKey) {
    return Status(Code::kBusy, "this key holds " + std::to_string(kPerKey) + " bulk sessions");
  }
  if (sessions_.size() >= kMax) {
    sweep(now, [](const std::string&) { return true; });
    if (sessions_.size() >= kMax) return Status(Code::kBusy, "too many bulk sessions");
  }
  auto secret = BulkSecret::random();
  if (!secret.is_ok()) return secret.status();
  Session s{peer_key, BulkOpener(secret.value(), BulkDirection::kToServer),
            BulkSealer(secret.value(), BulkDirection::kToClient), now};
  // 128 random bits: a collision is not a case to handle, but never a reuse.
  if (!sessions_.try_emplace(secret->session, std::move(s)).second) {
    return Status(Code::kInternal, "bulk session id collision");
  }
  ++per_key_[peer_key];
  if (gate_) gate_->allow(secret->session, secret->key);
  return secret;
}

BulkSessions::Session* BulkSessions::find(std::string_view id) {
  auto it = sessions_.find(std::string(id));
  return it == sessions_.end() ? nullptr : &it->second;
}

BulkSessions::Table::iterator BulkSessions::erase(Table::iterator it) {
  if (gate_) gate_->forget(it->first);
  auto k = per_key_.find(it->second.peer_key);
  if (k != per_key_.end() && --k->second == 0) per_key_.erase(k);
  return sessions_.erase(it);
}

}  // namespace dfs
