// The messages and records of the Raft core (master/raft): log entries, the
// hard state a node persists, and the one message type the nodes exchange.
#pragma once

#include "codec/messages.h"

namespace dfs::raft {

using NodeId = uint64_t;  // 0 means "none"

// kConfChange entries carry a msgpack ConfChange; a node uses the newest
// membership in its log, committed or not (single-server changes).
// kMembership carries a whole msgpack Membership: every founding member
// writes the same one as entry 1, so the log itself says who started the
// group and a node added later learns it from the log.
enum class EntryType : uint8_t { kNormal = 1, kEmpty = 2, kConfChange = 3, kMembership = 4 };

struct Entry {
  uint64_t term = 0;
  uint64_t index = 0;
  uint8_t type = static_cast<uint8_t>(EntryType::kNormal);
  std::string data;
  DFS_MSGPACK_MAP(term, index, type, data);
  Status validate() const;
  bool operator==(const Entry&) const = default;
  // A kConfChange or kMembership entry.
  bool is_membership() const {
    return type == static_cast<uint8_t>(EntryType::kConfChange) ||
           type == static_cast<uint8_t>(EntryType::kMembership);
  }
};

// What a node must have on disk before it sends anything that depends on it.
struct HardState {
  uint64_t term = 0;
  NodeId vote = 0;
  uint64_t commit = 0;
  // A node rejoining after losing its storage (Config::joining): 0 when not,
  // kJoiningUnknown until a leader's heartbeat names its last index, then
  // that index, which the node's log must reach before it may vote.
  uint64_t joining = 0;
  DFS_MSGPACK_MAP(term, vote, commit, joining);
  Status validate() const { return Status::ok(); }
  bool operator==(const HardState&) const = default;
};

inline constexpr uint64_t kJoiningUnknown = ~uint64_t{0};

// Who takes part: voters elect and count toward commit; learners only
// receive the log (a new node catches up as one before it is promoted).
struct Membership {
  std::vector<NodeId> voters;
  std::vector<NodeId> learners;
  DFS_MSGPACK_MAP(voters, learners);
  Status validate() const { return Status::ok(); }
  bool is_voter(NodeId id) const;
  bool is_learner(NodeId id) const;
  bool is_member(NodeId id) const { return is_voter(id) || is_learner(id); }
  bool operator==(const Membership&) const = default;
};

enum class ConfChangeKind : uint8_t { kAddLearner = 1, kPromote = 2, kRemove = 3 };

// One single-server membership change.
struct ConfChange {
  uint8_t kind = 0;
  NodeId node = 0;
  DFS_MSGPACK_MAP(kind, node);
  Status validate() const;
  ConfChangeKind change_kind() const { return static_cast<ConfChangeKind>(kind); }
  // The membership after this change; a change that does not apply (adding
  // a member, promoting a non-learner) leaves it as it is.
  Membership applied_to(Membership m) const;
};

// Where a snapshot stands: the last index and term it covers and the
// membership as of that index.
struct SnapshotMeta {
  uint64_t index = 0;
  uint64_t term = 0;
  Membership membership;
  DFS_MSGPACK_MAP(index, term, membership);
  Status validate() const { return Status::ok(); }
  bool operator==(const SnapshotMeta&) const = default;
};

// The application's state as of meta.index; `data` is opaque to Raft.
struct Snapshot {
  SnapshotMeta meta;
  std::string data;
  DFS_MSGPACK_MAP(meta, data);
  Status validate() const { return Status::ok(); }
  bool operator==(const Snapshot&) const = default;
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
  kSnapshot = 9,
  kSnapshotResp = 10,
  kReadIndex = 11,
  kReadIndexResp = 12,
  kTimeoutNow = 13,
};

const char* kind_name(MsgKind kind);

inline constexpr size_t kMaxEntriesPerMessage = 4096;
inline constexpr size_t kMaxSnapshotPiece = 64u << 20;

// One Raft message. Fields unused by a kind stay zero.
//   PreVote/Vote:   term (the candidate's, +1 for a pre-vote), index/log_term
//                   of the candidate's last entry
//   *Resp:          reject
//   Append:         index/log_term of the entry before `entries`, commit
//   AppendResp:     index = last index now matching (or the probed index
//                   when rejecting), hint = where the follower's log may match
//                   and log_term = the follower's term there
//   Heartbeat:      commit; context = the leader's newest read sequence;
//                   index = the leader's last index (for a rejoining node)
//   HeartbeatResp:  context echoed
//   Snapshot:       snapshot (meta), offset of `data` in the snapshot's
//                   bytes, done on the last piece
//   SnapshotResp:   index = the snapshot's index and offset = the next byte
//                   wanted, hint = the offset of the piece answered; when
//                   done, index = how far the log now matches
//   ReadIndex:      context = the asking application's read id
//   ReadIndexResp:  context echoed, index = the commit index to read at
//   TimeoutNow:     campaign now (leadership transfer)
//   Vote/PreVote:   transfer = part of a leadership transfer, which may
//                   depose a leader the voter still hears from
//   AppendResp:     rejoining = a refusal from a node that lost its storage
//                   and holds no log yet: its old progress is void
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
  uint64_t context = 0;
  SnapshotMeta snapshot;
  uint64_t offset = 0;
  std::string data;
  bool done = false;
  bool transfer = false;
  bool rejoining = false;
  DFS_MSGPACK_MAP(kind, from, to, term, log_term, index, commit, entries, reject, hint, context,
                  snapshot, offset, data, done, transfer, rejoining);
  Status validate() const;
  MsgKind msg_kind() const { return static_cast<MsgKind>(kind); }
};

// The masters' snapshot: Raft carries only this manifest of a RocksDB
// checkpoint of the namespace; a follower that receives it fetches the files
// it names from the sender, piece by piece, before Raft installs it.
struct SnapshotFile {
  std::string name;  // a plain file name inside the checkpoint directory
  uint64_t size = 0;
  std::string sha256;  // hex
  DFS_MSGPACK_MAP(name, size, sha256);
  Status validate() const;
};

struct SnapshotManifest {
  uint64_t index = 0;  // the namespace's applied index in the checkpoint
  std::vector<SnapshotFile> files;
  DFS_MSGPACK_MAP(index, files);
  Status validate() const;
};

inline constexpr size_t kMaxSnapshotFiles = 100000;
inline constexpr size_t kMaxSnapshotFilePiece = 8u << 20;

// A follower asks the master that sent a manifest for bytes of one file.
struct SnapshotFileRequest {
  static constexpr MsgType kType = MsgType::kSnapshotFileRequest;
  NodeId from = 0;
  NodeId to = 0;
  uint64_t index = 0;  // the snapshot's index
  std::string name;
  uint64_t offset = 0;
  uint64_t max = 0;  // bytes wanted, at most kMaxSnapshotFilePiece
  DFS_MSGPACK_MAP(from, to, index, name, offset, max);
  Status validate() const;
};

// The bytes at `offset` (eof when they end the file), or `error` when the
// sender no longer holds that snapshot (it compacted again) or cannot read it.
struct SnapshotFileReply {
  static constexpr MsgType kType = MsgType::kSnapshotFileReply;
  NodeId from = 0;
  NodeId to = 0;
  uint64_t index = 0;
  std::string name;
  uint64_t offset = 0;
  std::string data;
  bool eof = false;
  std::string error;
  DFS_MSGPACK_MAP(from, to, index, name, offset, data, eof, error);
  Status validate() const;
};

}  // namespace dfs::raft
