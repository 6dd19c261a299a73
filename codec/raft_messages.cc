#include "codec/raft_messages.h"

namespace dfs::raft {

Status Entry::validate() const {
  if (index == 0) return invalid_argument("log entry at index 0");
  if (type != static_cast<uint8_t>(EntryType::kNormal) &&
      type != static_cast<uint8_t>(EntryType::kEmpty)) {
    return invalid_argument("bad log entry type");
  }
  return Status::ok();
}

const char* kind_name(MsgKind kind) {
  switch (kind) {
    case MsgKind::kPreVote:
      return "PreVote";
    case MsgKind::kPreVoteResp:
      return "PreVoteResp";
    case MsgKind::kVote:
      return "Vote";
    case MsgKind::kVoteResp:
      return "VoteResp";
    case MsgKind::kAppend:
      return "Append";
    case MsgKind::kAppendResp:
      return "AppendResp";
    case MsgKind::kHeartbeat:
      return "Heartbeat";
    case MsgKind::kHeartbeatResp:
      return "HeartbeatResp";
  }
  return "?";
}

Status Message::validate() const {
  if (kind < static_cast<uint8_t>(MsgKind::kPreVote) ||
      kind > static_cast<uint8_t>(MsgKind::kHeartbeatResp)) {
    return invalid_argument("bad raft message kind " + std::to_string(kind));
  }
  if (from == 0 || to == 0) return invalid_argument("raft message without from or to");
  if (entries.size() > kMaxEntriesPerMessage) return invalid_argument("too many entries");
  for (size_t i = 0; i < entries.size(); ++i) {
    DFS_RETURN_IF_ERROR(entries[i].validate());
    if (entries[i].index != index + 1 + i) return invalid_argument("entries not consecutive");
  }
  return Status::ok();
}

}  // namespace dfs::raft
