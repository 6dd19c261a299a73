// Snapshots: the application compacts the log into one, and a leader sends
// it, one piece at a time, to a follower whose next entry is gone.
#include "master/raft/raft.h"

#include <algorithm>

namespace dfs::raft {

void Raft::handle_snapshot(const Message& m) {
  const SnapshotMeta& meta = m.snapshot;
  Message r = answer(m, MsgKind::kSnapshotResp);
  r.index = meta.index;
  r.hint = m.offset;  // which piece this answers
  if (meta.index <= commit_) {
    // Nothing new in it: our committed log already covers it.
    r.done = true;
    r.index = commit_;
    send(r);
    return;
  }
  if (m.offset == 0 || !(incoming_meta_ == meta)) {
    if (m.offset != 0) {  // a piece of a snapshot we never began: start over
      r.offset = 0;
      send(r);
      return;
    }
    incoming_meta_ = meta;
    incoming_data_.clear();
  }
  if (m.offset != incoming_data_.size()) {  // lost or repeated pieces
    r.offset = incoming_data_.size();
    send(r);
    return;
  }
  incoming_data_ += m.data;
  r.offset = incoming_data_.size();
  if (!m.done) {
    send(r);
    return;
  }
  // The whole snapshot is here. Keep the log after it only if the log
  // agrees with it at its index; otherwise that log is all stale.
  bool keep = term_at(meta.index) == meta.term;
  if (keep) {
    entries_.erase(entries_.begin(),
                   entries_.begin() + static_cast<long>(meta.index - snapshot_.meta.index));
  } else {
    entries_.clear();
  }
  snapshot_ = Snapshot{meta, std::move(incoming_data_)};
  incoming_meta_ = SnapshotMeta{};
  incoming_data_.clear();
  std::erase_if(conf_indexes_, [&](uint64_t i) { return i <= meta.index || !keep; });
  commit_ = meta.index;
  applied_ = meta.index;  // the application restores from the snapshot
  stable_ = meta.index;   // what follows is written again after the snapshot
  snapshot_unsaved_ = true;
  membership_changed();
  update_joining(m);
  r.done = true;
  r.index = meta.index;
  send(r);
}

void Raft::handle_snapshot_resp(const Message& m, Progress& pr) {
  pr.recent_active = true;
  if (m.done) {
    // Installed (or not needed): the follower's log matches through m.index.
    pr.match = std::max(pr.match, m.index);
    pr.next = pr.match + 1;
    pr.snapshotting = false;
    pr.piece_sent = false;
    pr.replicating = false;
    pr.probe_sent = false;
    maybe_commit();
    maybe_finish_transfer(m.from);
    if (role_ == Role::kLeader && pr.match < last_index()) send_append(m.from, false);
    return;
  }
  if (!pr.snapshotting || m.index != pr.snapshot_index) return;  // about another snapshot
  // The answer to the piece in flight says where the follower is, even
  // behind (it started over). An answer to an older piece counts only if
  // it moves forward: a piece resent after a silence is answered twice,
  // and acting on both would run two exchanges side by side, then more
  // with every resend, while none is ever lost.
  bool answers_current = m.hint == pr.snapshot_offset;
  bool forward = m.offset > pr.snapshot_offset;
  if (!answers_current && !forward) return;
  pr.snapshot_offset = m.offset;
  pr.piece_sent = false;
  send_snapshot_piece(m.from);
}

void Raft::send_snapshot_piece(NodeId to) {
  // One piece in flight at a time: the follower's answer says which byte it
  // wants next, so lost, repeated and reordered pieces all recover.
  Progress& pr = progress_[to];
  if (pr.snapshot_index != snapshot_.meta.index) {
    pr.snapshot_index = snapshot_.meta.index;  // compacted again meanwhile: start the newer one
    pr.snapshot_offset = 0;
    pr.piece_sent = false;
  }
  if (pr.piece_sent) return;
  const std::string& data = snapshot_.data;
  if (pr.snapshot_offset > data.size()) pr.snapshot_offset = 0;
  size_t n = std::min(config_.snapshot_piece_bytes, data.size() - pr.snapshot_offset);
  Message m;
  m.kind = static_cast<uint8_t>(MsgKind::kSnapshot);
  m.to = to;
  m.term = term_;
  m.snapshot = snapshot_.meta;
  m.offset = pr.snapshot_offset;
  m.data = data.substr(pr.snapshot_offset, n);
  m.done = pr.snapshot_offset + n == data.size();
  pr.piece_sent = true;
  send(std::move(m));
}

Result<Snapshot> Raft::compact(uint64_t index, std::string data) {
  if (index <= snapshot_.meta.index) {
    return invalid_argument("already compacted through " + std::to_string(snapshot_.meta.index));
  }
  if (index > applied_) {
    return invalid_argument("cannot compact through " + std::to_string(index) +
                            ": only applied through " + std::to_string(applied_));
  }
  SnapshotMeta meta{index, entry(index).term, membership_at(index)};
  entries_.erase(entries_.begin(),
                 entries_.begin() + static_cast<long>(index - snapshot_.meta.index));
  std::erase_if(conf_indexes_, [&](uint64_t i) { return i <= index; });
  snapshot_ = Snapshot{std::move(meta), std::move(data)};
  return snapshot_;
}

}  // namespace dfs::raft
