#include "codec/raft_messages.h"

#include "codec/sha256.h"

#include <algorithm>

namespace dfs::raft {

Status Entry::validate() const {
  if (index == 0) return invalid_argument("log entry at index 0");
  if (type != static_cast<uint8_t>(EntryType::kNormal) &&
      type != static_cast<uint8_t>(EntryType::kEmpty) &&
      type != static_cast<uint8_t>(EntryType::kConfChange) &&
      type != static_cast<uint8_t>(EntryType::kMembership)) {
    return invalid_argument("bad log entry type");
  }
  return Status::ok();
}

namespace {
bool contains(const std::vector<NodeId>& ids, NodeId id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}
void erase(std::vector<NodeId>& ids, NodeId id) {
  ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
}
}  // namespace

bool Membership::is_voter(NodeId id) const { return contains(voters, id); }
bool Membership::is_learner(NodeId id) const { return contains(learners, id); }

Status ConfChange::validate() const {
  if (kind < static_cast<uint8_t>(ConfChangeKind::kAddLearner) ||
      kind > static_cast<uint8_t>(ConfChangeKind::kRemove)) {
    return invalid_argument("bad membership change kind " + std::to_string(kind));
  }
  if (node == 0) return invalid_argument("membership change without a node");
  return Status::ok();
}

Membership ConfChange::applied_to(Membership m) const {
  switch (change_kind()) {
    case ConfChangeKind::kAddLearner:
      if (!m.is_member(node)) m.learners.push_back(node);
      break;
    case ConfChangeKind::kPromote:
      if (m.is_learner(node)) {
        erase(m.learners, node);
        m.voters.push_back(node);
      }
      break;
    case ConfChangeKind::kRemove:
      erase(m.voters, node);
      erase(m.learners, node);
      break;
  }
  return m;
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
    case MsgKind::kSnapshot:
      return "Snapshot";
    case MsgKind::kSnapshotResp:
      return "SnapshotResp";
    case MsgKind::kReadIndex:
      return "ReadIndex";
    case MsgKind::kReadIndexResp:
      return "ReadIndexResp";
    case MsgKind::kTimeoutNow:
      return "TimeoutNow";
  }
  return "?";
}

Status Message::validate() const {
  if (kind < static_cast<uint8_t>(MsgKind::kPreVote) ||
      kind > static_cast<uint8_t>(MsgKind::kTimeoutNow)) {
    return invalid_argument("bad raft message kind " + std::to_string(kind));
  }
  if (from == 0 || to == 0) return invalid_argument("raft message without from or to");
  if (entries.size() > kMaxEntriesPerMessage) return invalid_argument("too many entries");
  if (data.size() > kMaxSnapshotPiece) return invalid_argument("snapshot piece too large");
  for (size_t i = 0; i < entries.size(); ++i) {
    DFS_RETURN_IF_ERROR(entries[i].validate());
    if (entries[i].index != index + 1 + i) return invalid_argument("entries not consecutive");
  }
  return Status::ok();
}

namespace {
// A name that stays inside the directory it is joined to.
bool is_plain_file_name(const std::string& name) {
  return !name.empty() && name.size() <= 255 && name != "." && name != ".." &&
         name.find('/') == std::string::npos && name.find('\0') == std::string::npos;
}
}  // namespace

Status SnapshotFile::validate() const {
  if (!is_plain_file_name(name)) return invalid_argument("bad snapshot file name");
  if (!is_sha256_hex(sha256)) return invalid_argument("bad snapshot file checksum");
  return Status::ok();
}

Status SnapshotManifest::validate() const {
  if (index == 0) return invalid_argument("snapshot manifest without an index");
  if (files.empty() || files.size() > kMaxSnapshotFiles) {
    return invalid_argument("snapshot manifest with " + std::to_string(files.size()) + " files");
  }
  for (const auto& f : files) {
    if (Status s = f.validate(); !s.is_ok()) return s;
  }
  return Status::ok();
}

Status SnapshotFileRequest::validate() const {
  if (!is_plain_file_name(name)) return invalid_argument("bad snapshot file name");
  if (max == 0 || max > kMaxSnapshotFilePiece) return invalid_argument("bad snapshot piece size");
  return Status::ok();
}

Status SnapshotFileReply::validate() const {
  if (!is_plain_file_name(name)) return invalid_argument("bad snapshot file name");
  if (data.size() > kMaxSnapshotFilePiece) return invalid_argument("snapshot piece too big");
  return Status::ok();
}

}  // namespace dfs::raft
