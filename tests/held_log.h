// A ReplicatedLog for unit tests that holds every proposal and read until
// the test delivers them, so a story can put events between a proposal and
// its application (a report racing a commit, a leader change mid-request).
#pragma once

#include <chrono>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "codec/commands.h"
#include "master/master_service.h"

namespace dfs::test {

class HeldLog : public ReplicatedLog {
 public:
  struct Held {
    LogPosition pos;
    std::string data;
  };

  explicit HeldLog(uint64_t last_index = 0) : last_(last_index) {}

  Result<LogPosition> propose(std::string data) override {
    if (!leader_) return Status(Code::kNotLeader, "not the leader");
    entries_.push_back({{++last_, term_}, std::move(data)});
    return entries_.back().pos;
  }
  Status read_index(uint64_t context) override {
    if (!leader_) return Status(Code::kNotLeader, "not the leader");
    reads_.push_back(context);
    return Status::ok();
  }

  // Applies the first `n` held entries (all by default), then releases the
  // held reads when every entry went.
  void deliver(MasterService& service, size_t n = SIZE_MAX) {
    while (n-- > 0 && !entries_.empty()) {
      Held e = std::move(entries_.front());
      entries_.pop_front();
      service.on_applied(e.pos.index, e.pos.term, e.data);
    }
    if (entries_.empty()) {
      for (uint64_t c : std::exchange(reads_, {})) service.on_read_ready(c);
    }
  }
  // The commands held, decoded.
  std::vector<Command> held_commands() const {
    std::vector<Command> out;
    for (const auto& e : entries_) out.push_back(decode<Command>(e.data).value());
    return out;
  }
  // Another leader wrote `data` at the first held entry's index, in a newer term.
  void replace_first(std::string data) {
    entries_.front().pos.term = ++term_;
    entries_.front().data = std::move(data);
  }
  std::optional<std::chrono::steady_clock::duration> since_current(
      std::chrono::steady_clock::time_point) const override {
    return since_current_;
  }
  void set_leader(bool leader) { leader_ = leader; }
  // How long ago this master's state was last known current (none: never).
  void set_since_current(std::optional<std::chrono::steady_clock::duration> since) {
    since_current_ = since;
  }
  size_t held() const { return entries_.size(); }

 private:
  uint64_t last_;
  uint64_t term_ = 1;
  bool leader_ = true;
  std::optional<std::chrono::steady_clock::duration> since_current_ =
      std::chrono::steady_clock::duration::zero();
  std::deque<Held> entries_;
  std::vector<uint64_t> reads_;
};

}  // namespace dfs::test
