#include "master/raft/raft.h"

#include <algorithm>

#include "master/raft/faults.h"

namespace dfs::raft {

const char* role_name(Role role) {
  switch (role) {
    case Role::kFollower:
      return "follower";
    case Role::kPreCandidate:
      return "pre-candidate";
    case Role::kCandidate:
      return "candidate";
    case Role::kLeader:
      return "leader";
  }
  return "?";
}

Raft::Raft(Config config, Persisted persisted)
    : config_(std::move(config)),
      rng_(config_.seed),
      term_(persisted.hard_state.term),
      vote_(persisted.hard_state.vote),
      entries_(std::move(persisted.entries)),
      commit_(std::min<uint64_t>(persisted.hard_state.commit, entries_.size())),
      stable_(entries_.size()),
      persisted_hs_(persisted.hard_state) {
  for (NodeId v : config_.voters) progress_[v] = Progress{};
  reset_election_timer();
}

// ---- log ----

uint64_t Raft::term_at(uint64_t index) const {
  if (index == 0 || index > entries_.size()) return 0;
  return entries_[index - 1].term;
}

bool Raft::up_to_date(uint64_t log_term, uint64_t index) const {
  if (fault_active(Fault::kVoteWithoutLogCheck)) return true;
  return log_term > last_term() || (log_term == last_term() && index >= last_index());
}

void Raft::append(std::vector<Entry> entries) {
  for (auto& e : entries) {
    if (e.index <= last_index()) {
      if (term_at(e.index) == e.term) continue;  // already have it
      // A conflict: everything from here on was never committed.
      entries_.resize(e.index - 1);
      stable_ = std::min(stable_, e.index - 1);
    }
    entries_.push_back(std::move(e));
  }
}

// ---- roles ----

void Raft::set_term(uint64_t term) {
  if (term != term_) {
    term_ = term;
    vote_ = 0;
  }
}

void Raft::reset_election_timer() {
  election_elapsed_ = 0;
  randomized_timeout_ = config_.election_tick +
                        static_cast<int>(rng_() % static_cast<uint64_t>(config_.election_tick));
}

void Raft::become_follower(uint64_t term, NodeId leader) {
  set_term(term);
  role_ = Role::kFollower;
  leader_ = leader;
  reset_election_timer();
}

void Raft::become_pre_candidate() {
  // A pre-vote changes neither term nor vote: a node that cannot win
  // disturbs nobody.
  role_ = Role::kPreCandidate;
  leader_ = 0;
  votes_.clear();
  reset_election_timer();
}

void Raft::become_candidate() {
  set_term(term_ + 1);
  vote_ = config_.id;
  role_ = Role::kCandidate;
  leader_ = 0;
  votes_.clear();
  reset_election_timer();
}

void Raft::become_leader() {
  role_ = Role::kLeader;
  leader_ = config_.id;
  heartbeat_elapsed_ = 0;
  election_elapsed_ = 0;
  for (auto& [id, pr] : progress_) {
    pr = Progress{};
    pr.next = last_index() + 1;
    pr.recent_active = true;
  }
  progress_[config_.id].match = last_index();
  // An entry of the new term: earlier terms' entries commit with it.
  append({Entry{term_, last_index() + 1, static_cast<uint8_t>(EntryType::kEmpty), ""}});
  progress_[config_.id].match = last_index();
  broadcast_append();
  maybe_commit();
}

void Raft::campaign(bool pre) {
  if (pre) {
    become_pre_candidate();
  } else {
    become_candidate();
  }
  votes_[config_.id] = true;
  if (votes_.size() >= quorum()) {  // a single-node group
    if (pre) {
      campaign(false);
    } else {
      become_leader();
    }
    return;
  }
  for (NodeId v : config_.voters) {
    if (v == config_.id) continue;
    Message m;
    m.kind = static_cast<uint8_t>(pre ? MsgKind::kPreVote : MsgKind::kVote);
    m.to = v;
    m.term = pre ? term_ + 1 : term_;
    m.index = last_index();
    m.log_term = last_term();
    send(m);
  }
}

bool Raft::in_lease() const {
  // Heard from a leader less than an election timeout ago.
  return leader_ != 0 && election_elapsed_ < config_.election_tick;
}

// ---- the clock ----

void Raft::tick() {
  if (role_ == Role::kLeader) {
    ++heartbeat_elapsed_;
    ++election_elapsed_;
    if (election_elapsed_ >= config_.election_tick) {
      election_elapsed_ = 0;
      // Check quorum: step down unless a majority was heard from.
      size_t active = 0;
      for (auto& [id, pr] : progress_) {
        if (id == config_.id || pr.recent_active) ++active;
        pr.recent_active = false;
      }
      if (active < quorum()) {
        become_follower(term_, 0);
        return;
      }
    }
    if (heartbeat_elapsed_ >= config_.heartbeat_tick) {
      heartbeat_elapsed_ = 0;
      broadcast_heartbeat();
    }
    return;
  }
  ++election_elapsed_;
  if (election_elapsed_ >= randomized_timeout_) campaign(/*pre=*/true);
}

// ---- messages ----

Message Raft::answer(const Message& m, MsgKind kind) const {
  Message r;
  r.kind = static_cast<uint8_t>(kind);
  r.to = m.from;
  r.term = term_;
  return r;
}

void Raft::send(Message m) {
  m.from = config_.id;
  outbox_.push_back(std::move(m));
}

void Raft::step(const Message& m) {
  if (m.to != config_.id) return;
  MsgKind kind = m.msg_kind();
  if (m.term > term_) {
    if (kind == MsgKind::kPreVote || kind == MsgKind::kVote) {
      // A leader we heard from recently is alive: ignore the challenger.
      if (in_lease()) return;
    }
    if (kind == MsgKind::kPreVote) {
      // Answered below without changing our term.
    } else if (kind == MsgKind::kPreVoteResp && !m.reject) {
      // A granted pre-vote carries the term we would campaign at.
    } else {
      bool from_leader = kind == MsgKind::kAppend || kind == MsgKind::kHeartbeat;
      become_follower(m.term, from_leader ? m.from : 0);
    }
  } else if (m.term < term_) {
    if (kind == MsgKind::kAppend || kind == MsgKind::kHeartbeat) {
      if (fault_active(Fault::kAcceptStaleAppend) && kind == MsgKind::kAppend) {
        handle_append(m);
        return;
      }
      // A deposed leader: tell it the current term so it steps down.
      Message r = answer(m, MsgKind::kAppendResp);
      r.reject = true;
      send(r);
    } else if (kind == MsgKind::kPreVote) {
      Message r = answer(m, MsgKind::kPreVoteResp);
      r.reject = true;
      send(r);
    }
    return;  // anything else from an old term is stale
  }

  if (kind == MsgKind::kPreVote || kind == MsgKind::kVote) {
    handle_vote(m);
    return;
  }
  switch (role_) {
    case Role::kLeader:
      step_leader(m);
      break;
    case Role::kPreCandidate:
    case Role::kCandidate:
      step_candidate(m);
      break;
    case Role::kFollower:
      step_follower(m);
      break;
  }
}

void Raft::handle_vote(const Message& m) {
  bool pre = m.msg_kind() == MsgKind::kPreVote;
  // A vote can go to the node we already voted for, or to anyone if we have
  // not voted this term and know no leader; a pre-vote to anyone with a
  // newer term. Either way only to a log at least as up to date as ours.
  bool can_vote = vote_ == m.from || (vote_ == 0 && leader_ == 0) || (pre && m.term > term_);
  bool grant = can_vote && up_to_date(m.log_term, m.index);
  Message r = answer(m, pre ? MsgKind::kPreVoteResp : MsgKind::kVoteResp);
  r.reject = !grant;
  // A granted pre-vote echoes the candidate's term; a refusal tells ours.
  r.term = grant && pre ? m.term : term_;
  if (grant && !pre) {
    vote_ = m.from;
    election_elapsed_ = 0;
  }
  send(r);
}

void Raft::step_candidate(const Message& m) {
  MsgKind want = role_ == Role::kPreCandidate ? MsgKind::kPreVoteResp : MsgKind::kVoteResp;
  switch (m.msg_kind()) {
    case MsgKind::kAppend:
      become_follower(m.term, m.from);
      handle_append(m);
      return;
    case MsgKind::kHeartbeat:
      become_follower(m.term, m.from);
      handle_heartbeat(m);
      return;
    default:
      break;
  }
  if (m.msg_kind() != want) return;
  votes_.emplace(m.from, !m.reject);
  size_t granted = 0, refused = 0;
  for (auto& [id, yes] : votes_) (yes ? granted : refused)++;
  if (granted >= quorum()) {
    if (role_ == Role::kPreCandidate) {
      campaign(/*pre=*/false);
    } else {
      become_leader();
    }
  } else if (refused >= quorum()) {
    become_follower(term_, 0);
  }
}

void Raft::step_follower(const Message& m) {
  switch (m.msg_kind()) {
    case MsgKind::kAppend:
      leader_ = m.from;
      election_elapsed_ = 0;
      handle_append(m);
      break;
    case MsgKind::kHeartbeat:
      leader_ = m.from;
      election_elapsed_ = 0;
      handle_heartbeat(m);
      break;
    default:
      break;  // late answers to a campaign we gave up
  }
}

void Raft::handle_append(const Message& m) {
  Message r = answer(m, MsgKind::kAppendResp);
  if (m.index < commit_) {
    // Everything up to commit_ is settled; say how far we match.
    r.index = commit_;
    send(r);
    return;
  }
  if (m.index <= last_index() && term_at(m.index) == m.log_term) {
    append(m.entries);
    uint64_t last_new = m.index + m.entries.size();
    commit_ = std::max(commit_, std::min(m.commit, last_new));
    r.index = last_new;
    send(r);
    return;
  }
  // No match at m.index: skip back over our entries of any term newer than
  // the leader's there, so the leader's next probe jumps a whole term.
  uint64_t hint = std::min(m.index, last_index());
  while (hint > commit_ && term_at(hint) > m.log_term) --hint;
  r.reject = true;
  r.index = m.index;
  r.hint = hint;
  send(r);
}

void Raft::handle_heartbeat(const Message& m) {
  // The leader sends at most what it knows we match.
  commit_ = std::max(commit_, std::min(m.commit, last_index()));
  send(answer(m, MsgKind::kHeartbeatResp));
}

void Raft::step_leader(const Message& m) {
  auto it = progress_.find(m.from);
  if (it == progress_.end()) return;
  Progress& pr = it->second;
  switch (m.msg_kind()) {
    case MsgKind::kAppendResp:
      pr.recent_active = true;
      if (m.reject) {
        if (pr.replicating) {
          // Pipelined appends were lost or refused: probe from what matches.
          if (m.index <= pr.match) return;  // a stale refusal
          pr.next = pr.match + 1;
        } else {
          // Only the refusal of the one probe in flight moves next back.
          if (m.index + 1 != pr.next) return;
          pr.next = std::max(pr.match + 1, std::min(m.index, m.hint + 1));
        }
        pr.replicating = false;
        pr.inflight = 0;
        pr.probe_sent = false;
        send_append(m.from, true);
        return;
      }
      if (m.index > pr.match) {
        pr.match = m.index;
        pr.next = std::max(pr.next, m.index + 1);
        if (!pr.replicating) {
          pr.replicating = true;
          pr.inflight = 0;
          pr.next = pr.match + 1;
        } else if (pr.inflight > 0) {
          --pr.inflight;
        }
        maybe_commit();
      } else if (pr.replicating && pr.inflight > 0) {
        --pr.inflight;
      }
      pr.probe_sent = false;
      while (pr.next <= last_index()) {
        size_t before = outbox_.size();
        send_append(m.from, false);
        if (outbox_.size() == before) break;
      }
      break;
    case MsgKind::kHeartbeatResp:
      pr.recent_active = true;
      pr.probe_sent = false;
      // Answers to pipelined appends may have been lost: free a slot so
      // replication cannot stall on them.
      if (pr.replicating && pr.inflight >= config_.max_inflight_appends) --pr.inflight;
      if (pr.match < last_index()) send_append(m.from, false);
      break;
    default:
      break;
  }
}

void Raft::send_append(NodeId to, bool allow_empty) {
  Progress& pr = progress_[to];
  if (pr.replicating) {
    if (pr.inflight >= config_.max_inflight_appends) return;
  } else if (pr.probe_sent) {
    return;
  }
  if (!allow_empty && pr.next > last_index()) return;
  Message m;
  m.kind = static_cast<uint8_t>(MsgKind::kAppend);
  m.to = to;
  m.term = term_;
  m.index = pr.next - 1;
  m.log_term = term_at(m.index);
  m.commit = commit_;
  uint64_t end = std::min<uint64_t>(last_index(), m.index + config_.max_entries_per_append);
  for (uint64_t i = pr.next; i <= end; ++i) m.entries.push_back(entries_[i - 1]);
  if (pr.replicating) {
    // Optimistic: the next append starts after these.
    pr.next = end + 1;
    ++pr.inflight;
  } else {
    pr.probe_sent = true;
  }
  send(std::move(m));
}

void Raft::broadcast_append() {
  for (auto& [id, pr] : progress_) {
    if (id != config_.id) send_append(id, true);
  }
}

void Raft::broadcast_heartbeat() {
  for (auto& [id, pr] : progress_) {
    if (id == config_.id) continue;
    Message m;
    m.kind = static_cast<uint8_t>(MsgKind::kHeartbeat);
    m.to = id;
    m.term = term_;
    m.commit = std::min(pr.match, commit_);
    send(m);
  }
}

void Raft::maybe_commit() {
  std::vector<uint64_t> matches;
  for (auto& [id, pr] : progress_) matches.push_back(pr.match);
  std::sort(matches.begin(), matches.end(), std::greater<>());
  uint64_t candidate = matches[quorum() - 1];
  // Counting replicas commits only an entry of the current term; earlier
  // terms' entries commit with it (the paper's figure 8).
  bool current_term = term_at(candidate) == term_ || fault_active(Fault::kCommitOldTerm);
  if (candidate > commit_ && current_term) {
    commit_ = candidate;
    broadcast_append();
  }
}

Result<uint64_t> Raft::propose(std::string data) {
  if (role_ != Role::kLeader) {
    return Status(Code::kNotLeader,
                  leader_ ? "node " + std::to_string(leader_) : std::string("no leader known"));
  }
  append(
      {Entry{term_, last_index() + 1, static_cast<uint8_t>(EntryType::kNormal), std::move(data)}});
  progress_[config_.id].match = last_index();
  for (auto& [id, pr] : progress_) {
    if (id != config_.id) send_append(id, false);
  }
  maybe_commit();  // a single-node group commits at once
  return last_index();
}

// ---- ready ----

HardState Raft::hard_state() const {
  HardState hs{term_, vote_, commit_};
  if (fault_active(Fault::kForgetVote)) hs.vote = 0;
  return hs;
}

bool Raft::has_ready() const {
  HardState hs = hard_state();
  return !outbox_.empty() || stable_ < last_index() || !(hs == persisted_hs_) || applied_ < commit_;
}

Ready Raft::ready() {
  Ready rd;
  HardState hs = hard_state();
  if (!(hs == persisted_hs_)) rd.hard_state = hs;
  rd.entries.assign(entries_.begin() + static_cast<long>(stable_), entries_.end());
  rd.messages = std::move(outbox_);
  outbox_.clear();
  uint64_t apply_to = commit_;
  if (fault_active(Fault::kApplyBeforeCommit)) apply_to = last_index();
  for (uint64_t i = applied_ + 1; i <= apply_to; ++i) rd.committed.push_back(entries_[i - 1]);
  return rd;
}

void Raft::advance(const Ready& rd) {
  if (rd.hard_state) persisted_hs_ = *rd.hard_state;
  if (!rd.entries.empty()) stable_ = std::max(stable_, rd.entries.back().index);
  stable_ = std::min<uint64_t>(stable_, last_index());
  if (!rd.committed.empty()) applied_ = std::max(applied_, rd.committed.back().index);
}

}  // namespace dfs::raft
