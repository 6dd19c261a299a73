// The seam between the master and its log: what the master needs from a
// replicated log, whichever carries it (LocalLog for one master, the Raft
// driver for a group). Proposals return at once with the position the entry
// will hold; the driver later hands every committed entry, in order, to
// MasterService::on_applied on every replica, whoever proposed it.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "codec/messages.h"
#include "codec/status.h"

namespace dfs {

struct LogPosition {
  uint64_t index = 0;
  uint64_t term = 0;
  bool operator==(const LogPosition&) const = default;
};

class ReplicatedLog {
 public:
  virtual ~ReplicatedLog() = default;
  // Appends `data` if this node leads and returns where it will sit; the
  // entry may still be lost if leadership changes before it commits (its
  // index then applies with another term). kNotLeader otherwise. Never
  // applies anything itself: entries reach the service only from the
  // driver's pump, after propose has returned.
  virtual Result<LogPosition> propose(std::string data) = 0;
  // Asks for a linearizable read: MasterService::on_read_ready(context)
  // comes back once the state applied so far may be served. A request lost
  // with a leadership change never comes back: callers bound their wait.
  virtual Status read_index(uint64_t context) = 0;

  // This master's id in the group (0: not in one).
  virtual uint64_t id() const { return 0; }
  // The group's members as this master sees them (a follower knows less:
  // no match indexes). A log of one node alone has none.
  virtual std::vector<MemberInfo> members(std::chrono::steady_clock::time_point) const {
    return {};
  }
  // How long ago this master's state was last known to hold everything its
  // group had committed: for a follower, when it asked its leader a read
  // index that it has since applied up to; for a leader, when a majority
  // (itself included) last answered. None when never since it started. A log
  // of one node is always current.
  virtual std::optional<std::chrono::steady_clock::duration> since_current(
      std::chrono::steady_clock::time_point) const {
    return std::chrono::steady_clock::duration::zero();
  }
  // Hands the leadership to master `id`; kInvalidArgument when it cannot lead.
  virtual Status transfer(uint64_t id) {
    return invalid_argument("this log has no other member to hand over to");
  }
};

}  // namespace dfs
