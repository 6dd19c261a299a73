// The messages and records of the Raft core (master/raft): log entries, the
// hard state a node persists, and the one message type the nodes exchange.
#pragma once

#include "codec/messages.h"

namespace dfs::raft {

using NodeId = uint64_t;  // 0 means "none"

enum class EntryType : uint8_t { kNormal = 1, kEmpty = 2 };

struct Entry {
  uint64_t term = 0;
  uint64_t index = 0;
  uint8_t type = static_cast<uint8_t>(EntryType::kNormal);
  std::string data;
  MSGPACK_DEFINE_MAP(term, index, type, data);
  Status validate() const;
  bool operator==(const Entry&) const = default;
};

// What a node must have on disk before it sends anything that depends on it.
struct HardState {
  uint64_t term = 0;
  NodeId vote = 0;
  uint64_t commit = 0;
  MSGPACK_DEFINE_MAP(term, vote, commit);
  Status validate() const { return Status::ok(); }
  bool operator==(const HardState&) const = default;
};

enum class MsgKind : uint8_t {
  kPreVote = 1,
  kPreVoteResp = 2,
  kVote = 3,
  kVoteResp = 4,
  kAppend = 5,
  kAppendResp = 6,
  kHeartbeat = 7,
  kHeartbeatResp = 8,
};

const char* kind_name(MsgKind kind);

inline constexpr size_t kMaxEntriesPerMessage = 4096;

// One Raft message. Fields unused by a kind stay zero.
//   PreVote/Vote:   term (the candidate's, +1 for a pre-vote), index/log_term
//                   of the candidate's last entry
//   *Resp:          reject
//   Append:         index/log_term of the entry before `entries`, commit
//   AppendResp:     index = last index now matching (or the probed index
//                   when rejecting), hint = where the follower's log may match
//   Heartbeat:      commit
struct Message {
  static constexpr MsgType kType = MsgType::kRaftMessage;
  uint8_t kind = 0;
  NodeId from = 0;
  NodeId to = 0;
  uint64_t term = 0;
  uint64_t log_term = 0;
  uint64_t index = 0;
  uint64_t commit = 0;
  std::vector<Entry> entries;
  bool reject = false;
  uint64_t hint = 0;
  MSGPACK_DEFINE_MAP(kind, from, to, term, log_term, index, commit, entries, reject, hint);
  Status validate() const;
  MsgKind msg_kind() const { return static_cast<MsgKind>(kind); }
};

}  // namespace dfs::raft
