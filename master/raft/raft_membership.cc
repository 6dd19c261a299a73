// Membership changes, one server at a time, and leadership transfer.
#include "master/raft/raft.h"

#include <algorithm>

#include "codec/codec.h"

namespace dfs::raft {

namespace {
// A membership entry that does not decode changes nothing: only a leader
// (or the founding members, identically) writes them, from validated values.
Membership apply_entry(const Entry& e, Membership m) {
  if (e.type == static_cast<uint8_t>(EntryType::kMembership)) {
    auto whole = decode<Membership>(e.data);
    return whole.is_ok() ? std::move(whole).value() : m;
  }
  auto cc = decode<ConfChange>(e.data);
  return cc.is_ok() ? cc->applied_to(std::move(m)) : m;
}
}  // namespace

Membership Raft::membership_at(uint64_t index) const {
  Membership m = snapshot_.meta.index > 0 ? snapshot_.meta.membership
                                          : Membership{config_.voters, config_.learners};
  for (uint64_t i : conf_indexes_) {
    if (i <= index) m = apply_entry(entry(i), std::move(m));
  }
  return m;
}

void Raft::membership_changed() {
  membership_ = membership_at(last_index());
  sync_progress();
  if (transferee_ != 0 && !membership_.is_voter(transferee_)) transferee_ = 0;
  if (role_ == Role::kLeader) maybe_commit();  // a smaller quorum may commit more
}

void Raft::sync_progress() {
  for (auto it = progress_.begin(); it != progress_.end();) {
    it = membership_.is_member(it->first) ? std::next(it) : progress_.erase(it);
  }
  auto add = [&](NodeId id) {
    auto [it, fresh] = progress_.try_emplace(id);
    if (fresh) {
      it->second.next = last_index() + 1;
      it->second.recent_active = true;  // a newcomer gets an election timeout to answer
    }
  };
  for (NodeId v : membership_.voters) add(v);
  for (NodeId l : membership_.learners) add(l);
  if (auto self = progress_.find(config_.id); self != progress_.end()) {
    self->second.match = last_index();
  }
}

void Raft::maybe_step_down_removed() {
  // A leader that removed itself leads until that change commits, then hands
  // over to the most caught-up voter and leaves.
  if (role_ != Role::kLeader || is_voter()) return;
  if (!conf_indexes_.empty() && conf_indexes_.back() > commit_) return;
  flush_due_messages();  // the others learn the commit of its removal before it goes
  NodeId best = 0;
  uint64_t best_match = 0;
  for (NodeId v : membership_.voters) {
    if (progress_[v].match > best_match) {
      best = v;
      best_match = progress_[v].match;
    }
  }
  if (best != 0 && best_match == last_index()) {
    Message m;
    m.kind = static_cast<uint8_t>(MsgKind::kTimeoutNow);
    m.to = best;
    m.term = term_;
    send(m);
  }
  become_follower(term_, 0);
}

Result<uint64_t> Raft::propose_conf_change(ConfChange change) {
  DFS_RETURN_IF_ERROR(change.validate());
  DFS_RETURN_IF_ERROR(can_propose());
  if (!committed_in_term()) {
    return Status(Code::kUnavailable, "the leader has not committed an entry of its term yet");
  }
  if (!conf_indexes_.empty() && conf_indexes_.back() > commit_) {
    return Status(Code::kUnavailable, "a membership change is still in progress");
  }
  std::string node = "node " + std::to_string(change.node);
  switch (change.change_kind()) {
    case ConfChangeKind::kAddLearner:
      if (membership_.is_member(change.node)) {
        return Status(Code::kAlreadyExists, node + " is already a member");
      }
      break;
    case ConfChangeKind::kPromote: {
      if (!membership_.is_learner(change.node)) {
        return invalid_argument(node + " is not a learner");
      }
      uint64_t match = progress_[change.node].match;
      if (match + config_.max_entries_per_append < last_index()) {
        return Status(Code::kUnavailable, "learner " + node + " has not caught up (at " +
                                              std::to_string(match) + " of " +
                                              std::to_string(last_index()) + ")");
      }
      break;
    }
    case ConfChangeKind::kRemove:
      if (!membership_.is_member(change.node)) return not_found(node + " is not a member");
      if (membership_.voters.size() == 1 && membership_.is_voter(change.node)) {
        return invalid_argument("cannot remove the last voter");
      }
      break;
  }
  return propose_entry(EntryType::kConfChange, encode(change));
}

Status Raft::transfer_leadership(NodeId to) {
  if (role_ != Role::kLeader) return can_propose();
  if (to == config_.id) return invalid_argument("node " + std::to_string(to) + " already leads");
  if (!membership_.is_voter(to)) {
    return invalid_argument("node " + std::to_string(to) + " is not a voter");
  }
  transferee_ = to;
  transfer_elapsed_ = 0;
  if (progress_[to].match == last_index()) {
    maybe_finish_transfer(to);
  } else {
    send_append(to, true);
  }
  return Status::ok();
}

void Raft::maybe_finish_transfer(NodeId to) {
  if (role_ != Role::kLeader || transferee_ != to) return;
  if (progress_[to].match != last_index()) return;
  Message m;
  m.kind = static_cast<uint8_t>(MsgKind::kTimeoutNow);
  m.to = to;
  m.term = term_;
  send(m);
}

}  // namespace dfs::raft
