// ReadIndex: linearizable reads without writing to the log. The leader
// notes its commit index, then waits for a majority to answer a heartbeat
// sent after the read arrived: no other leader can have committed anything
// newer meanwhile.
#include "master/raft/raft.h"

#include <algorithm>

#include "master/raft/faults.h"

namespace dfs::raft {

Status Raft::read_index(uint64_t context) {
  if (role_ == Role::kLeader) return start_read(context, config_.id);
  if (leader_ == 0) return Status(Code::kNotLeader, "no leader known");
  Message m;
  m.kind = static_cast<uint8_t>(MsgKind::kReadIndex);
  m.to = leader_;
  m.term = term_;
  m.context = context;
  send(m);
  return Status::ok();
}

Status Raft::start_read(uint64_t context, NodeId from) {
  if (reads_.size() + reads_parked_.size() >= config_.max_pending_reads) {
    return Status(Code::kUnavailable, "too many reads waiting for the leader");
  }
  PendingRead r{0, context, from, 0};
  if (!committed_in_term()) {
    // Until an entry of this term commits, the leader may not know the
    // newest commit index.
    reads_parked_.push_back(r);
    return Status::ok();
  }
  r.index = commit_;
  r.seq = ++read_seq_;
  reads_.push_back(r);
  if (auto self = progress_.find(config_.id); self != progress_.end()) {
    self->second.read_ack = read_seq_;
  }
  if (fault_active(Fault::kReadWithoutQuorum)) {
    release(reads_.back());
    reads_.pop_back();
    return Status::ok();
  }
  // A single voter confirms itself at once. Otherwise one heartbeat round,
  // sent with the next Ready, confirms every read that arrived before it.
  // While a round is out, reads gather for the next one, sent when it is
  // answered: under load a round confirms many reads, and the followers
  // answer one heartbeat per round rather than per Ready.
  release_confirmed_reads();
  return Status::ok();
}

void Raft::release_confirmed_reads() {
  // A read is confirmed once a majority answered a heartbeat sent after it
  // arrived: no other leader could have committed anything meanwhile.
  uint64_t confirmed = quorum_value(&Progress::read_ack);
  while (!reads_.empty() && reads_.front().seq <= confirmed) {
    release(reads_.front());
    reads_.pop_front();
  }
  // The round out is answered: the reads that gathered meanwhile go next.
  // (A round whose messages were lost is redone by the next tick's heartbeat.)
  if (!reads_.empty() && confirmed >= read_round_) heartbeat_due_ = true;
}

void Raft::release(const PendingRead& r) {
  if (r.from == config_.id) {
    read_states_.push_back(ReadState{r.context, r.index});
    return;
  }
  Message m;
  m.kind = static_cast<uint8_t>(MsgKind::kReadIndexResp);
  m.to = r.from;
  m.term = term_;
  m.context = r.context;
  m.index = r.index;
  send(m);
}

}  // namespace dfs::raft
