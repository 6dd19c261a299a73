#include "master/raft/raft.h"

#include <algorithm>
#include <array>

#include "codec/codec.h"
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
      snapshot_(std::move(persisted.snapshot)),
      entries_(std::move(persisted.entries)),
      persisted_hs_(persisted.hard_state),
      joining_(persisted.hard_state.joining) {
  commit_ = std::clamp(persisted.hard_state.commit, snapshot_.meta.index, last_index());
  // The application restores its state from the snapshot before it runs us.
  applied_ = snapshot_.meta.index;
  stable_ = last_index();
  bool fresh = term_ == 0 && snapshot_.meta.index == 0 && entries_.empty();
  if (fresh && config_.joining) joining_ = kJoiningUnknown;  // persisted with the first Ready
  if (fresh && !config_.voters.empty() && !config_.joining) {
    // A founding member: the group's first entry names its members. Every
    // founder writes the same entry, so their logs agree on it. A joining
    // node waits for the leader's log instead.
    entries_.push_back(Entry{1, 1, static_cast<uint8_t>(EntryType::kMembership),
                             encode(Membership{config_.voters, config_.learners})});
    term_ = 1;  // no node's term is older than an entry in its log
  }
  for (const auto& e : entries_) {
    if (e.is_membership()) conf_indexes_.push_back(e.index);
  }
  membership_changed();
  reset_election_timer();
}

// ---- log ----

std::optional<uint64_t> Raft::term_at(uint64_t index) const {
  if (index == snapshot_.meta.index) return snapshot_.meta.term;
  if (index < snapshot_.meta.index || index > last_index()) return std::nullopt;
  return entry(index).term;
}

bool Raft::up_to_date(uint64_t log_term, uint64_t index) const {
  if (fault_active(Fault::kVoteWithoutLogCheck)) return true;
  return log_term > last_term() || (log_term == last_term() && index >= last_index());
}

void Raft::append(std::vector<Entry> entries) {
  bool conf_changed = false;
  for (auto& e : entries) {
    if (e.index < first_index()) continue;  // inside the snapshot: committed, so ours
    if (e.index <= last_index()) {
      if (term_at(e.index) == e.term) continue;  // already have it
      // A conflict: everything from here on was never committed.
      entries_.resize(e.index - first_index());
      stable_ = std::min(stable_, e.index - 1);
      while (!conf_indexes_.empty() && conf_indexes_.back() >= e.index) {
        conf_indexes_.pop_back();
        conf_changed = true;
      }
    }
    if (e.index != last_index() + 1) break;  // a gap: never from a valid message
    if (e.is_membership()) {
      conf_indexes_.push_back(e.index);
      conf_changed = true;
    }
    entries_.push_back(std::move(e));
  }
  if (conf_changed) membership_changed();
}

uint64_t Raft::quorum_value(uint64_t Progress::*field) const {
  // Called for every read and every answer: no allocation for groups of
  // the usual sizes.
  constexpr size_t kOnStack = 16;
  std::array<uint64_t, kOnStack> small;
  std::vector<uint64_t> large;
  size_t n = membership_.voters.size();
  if (n == 0) return 0;
  uint64_t* values = small.data();
  if (n > kOnStack) {
    large.resize(n);
    values = large.data();
  }
  size_t i = 0;
  for (NodeId v : membership_.voters) {
    auto it = progress_.find(v);
    values[i++] = it == progress_.end() ? 0 : it->second.*field;
  }
  // The quorum()-th largest: what a majority has reached.
  std::nth_element(values, values + (quorum() - 1), values + n, std::greater<>());
  return values[quorum() - 1];
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
  transferee_ = 0;
  // Reads not yet confirmed are dropped: their callers time out and retry.
  reads_.clear();
  reads_parked_.clear();
  reset_election_timer();
}

void Raft::become_pre_candidate() {
  // A pre-vote changes neither term nor vote: a node that cannot win
  // disturbs nobody.
  role_ = Role::kPreCandidate;
  leader_ = 0;
  votes_.clear();
  reads_.clear();
  reads_parked_.clear();
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
  transferee_ = 0;
  read_round_ = 0;  // no round out: every read_ack starts again from 0
  for (auto& [id, pr] : progress_) {
    pr = Progress{};
    pr.next = last_index() + 1;
    pr.recent_active = true;
  }
  // An entry of the new term: earlier terms' entries commit with it.
  append({Entry{term_, last_index() + 1, static_cast<uint8_t>(EntryType::kEmpty), ""}});
  if (auto self = progress_.find(config_.id); self != progress_.end()) {
    self->second.match = last_index();
  }
  broadcast_append();
  maybe_commit();
}

void Raft::campaign(bool pre, bool transfer) {
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
  for (NodeId v : membership_.voters) {
    if (v == config_.id) continue;
    Message m;
    m.kind = static_cast<uint8_t>(pre ? MsgKind::kPreVote : MsgKind::kVote);
    m.to = v;
    m.term = pre ? term_ + 1 : term_;
    m.index = last_index();
    m.log_term = last_term();
    m.transfer = transfer;
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
    if (transferee_ != 0 && ++transfer_elapsed_ >= config_.election_tick) {
      transferee_ = 0;  // the target did not take over in time: lead on
    }
    if (election_elapsed_ >= config_.election_tick) {
      election_elapsed_ = 0;
      // Check quorum: step down unless a majority of voters was heard from.
      size_t active = 0;
      for (auto& [id, pr] : progress_) {
        if (membership_.is_voter(id) && (id == config_.id || pr.recent_active)) ++active;
        pr.recent_active = false;
      }
      if (active < quorum() && !fault_active(Fault::kNoCheckQuorum)) {
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
  if (election_elapsed_ >= randomized_timeout_) {
    if (is_voter() && !awaiting_log()) {
      campaign(/*pre=*/true);
    } else {
      // Learners, removed nodes and a rejoining node with no log yet never campaign.
      reset_election_timer();
    }
  }
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
  bool from_leader =
      kind == MsgKind::kAppend || kind == MsgKind::kHeartbeat || kind == MsgKind::kSnapshot;
  if (m.term > term_ && fault_active(Fault::kIgnoreNewerTerm) && role_ == Role::kLeader) return;
  if (m.term > term_) {
    if (kind == MsgKind::kPreVote || kind == MsgKind::kVote) {
      // A leader we heard from recently is alive: ignore the challenger,
      // unless that leader asked for it (a leadership transfer).
      if (in_lease() && !m.transfer && !fault_active(Fault::kIgnoreLease)) return;
    }
    if (kind == MsgKind::kPreVote) {
      // Answered below without changing our term.
    } else if (kind == MsgKind::kPreVoteResp && !m.reject) {
      // A granted pre-vote carries the term we would campaign at.
    } else {
      become_follower(m.term, from_leader ? m.from : 0);
    }
  } else if (m.term < term_) {
    if (fault_active(Fault::kCountStaleReplies) && role_ == Role::kLeader &&
        (kind == MsgKind::kAppendResp || kind == MsgKind::kHeartbeatResp)) {
      step_leader(m);
      return;
    }
    if (from_leader) {
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
  bool grant = can_vote && up_to_date(m.log_term, m.index) && !awaiting_log();
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
    case MsgKind::kHeartbeat:
    case MsgKind::kSnapshot:
      // A leader of our term exists: follow it.
      become_follower(m.term, m.from);
      step_follower(m);
      return;
    default:
      break;
  }
  if (m.msg_kind() != want || !membership_.is_voter(m.from)) return;
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
    case MsgKind::kSnapshot:
      leader_ = m.from;
      election_elapsed_ = 0;
      handle_snapshot(m);
      break;
    case MsgKind::kReadIndexResp:
      read_states_.push_back(ReadState{m.context, m.index});
      break;
    case MsgKind::kTimeoutNow:
      // Our leader hands over: campaign at once, past every lease.
      if (m.from == leader_ && is_voter()) campaign(/*pre=*/false, /*transfer=*/true);
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
  if (m.index <= last_index() && term_or_zero(m.index) == m.log_term) {
    append(m.entries);
    update_joining(m);
    uint64_t last_new = m.index + m.entries.size();
    commit_ = std::max(commit_, std::min(m.commit, last_new));
    r.index = last_new;
    send(r);
    return;
  }
  // No match at m.index: skip back over our entries of any term newer than
  // the leader's there, so the leader's next probe jumps a whole term.
  uint64_t hint = std::min(m.index, last_index());
  while (hint > commit_ && term_or_zero(hint) > m.log_term) --hint;
  r.reject = true;
  r.index = m.index;
  r.hint = hint;
  r.log_term = term_or_zero(hint);
  r.rejoining = awaiting_log() && last_index() == 0;
  send(r);
}

void Raft::update_joining(const Message& m) {
  if (joining_ == 0) return;
  if (joining_ == kJoiningUnknown && m.msg_kind() == MsgKind::kHeartbeat) {
    joining_ = std::max<uint64_t>(m.index, 1);
  }
  if (joining_ != kJoiningUnknown && last_index() >= joining_) joining_ = 0;  // caught up
}

void Raft::handle_heartbeat(const Message& m) {
  update_joining(m);
  // The leader sends at most what it knows we match.
  commit_ = std::max(commit_, std::min(m.commit, last_index()));
  Message r = answer(m, MsgKind::kHeartbeatResp);
  r.context = m.context;
  r.rejoining = awaiting_log() && last_index() == 0;
  send(r);
}

void Raft::step_leader(const Message& m) {
  if (m.msg_kind() == MsgKind::kReadIndex) {
    (void)start_read(m.context, m.from);  // a refused remote read times out
    return;
  }
  auto it = progress_.find(m.from);
  if (it == progress_.end()) return;
  Progress& pr = it->second;
  if (m.rejoining && (pr.match > 0 || pr.replicating)) {
    // It lost the log it once acknowledged (its disk was replaced): what we
    // knew of its progress is void. Probe it from the start.
    pr = Progress{};
    pr.next = 1;
    pr.recent_active = true;
  }
  switch (m.msg_kind()) {
    case MsgKind::kAppendResp:
      handle_append_resp(m, pr);
      break;
    case MsgKind::kSnapshotResp:
      handle_snapshot_resp(m, pr);
      break;
    case MsgKind::kHeartbeatResp:
      pr.recent_active = true;
      pr.probe_sent = false;
      pr.piece_sent = false;  // resend a piece whose answer was lost
      // Answers to pipelined appends may have been lost: free a slot so
      // replication cannot stall on them.
      if (pr.replicating && pr.inflight >= config_.max_inflight_appends) --pr.inflight;
      if (m.context > pr.read_ack) {
        pr.read_ack = m.context;
        release_confirmed_reads();
      }
      // A follower behind us gets an append, empty if need be: a prober
      // whose probe went unanswered, a newcomer whose log we know nothing
      // of, or a replicating follower whose appends were all lost (its next
      // index already past our log, so only an empty append at it finds
      // the gap). Without this, an idle leader never catches up a follower
      // that restarted while appends to it were in flight.
      if (pr.match < last_index()) send_append(m.from, /*allow_empty=*/true);
      break;
    default:
      break;
  }
}

void Raft::handle_append_resp(const Message& m, Progress& pr) {
  pr.recent_active = true;
  if (pr.snapshotting) return;  // answers to appends sent before the snapshot
  if (m.reject) {
    if (pr.replicating) {
      // Pipelined appends were lost or refused: probe from what matches.
      if (m.index <= pr.match) return;  // a stale refusal
      pr.next = pr.match + 1;
    } else {
      // Only the refusal of the one probe in flight moves next back. The
      // follower's terms up to its hint are at most m.log_term, so none of
      // our entries of a newer term before it can match either: skip them.
      if (m.index + 1 != pr.next) return;
      uint64_t probe = std::min(m.index - 1, m.hint);
      while (probe > pr.match && term_or_zero(probe) > m.log_term) --probe;
      pr.next = std::max(pr.match + 1, probe + 1);
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
    maybe_finish_transfer(m.from);
  } else if (pr.replicating && pr.inflight > 0) {
    --pr.inflight;
  }
  pr.probe_sent = false;
  appends_due_ = true;  // the rest of the log, up to the inflight limit
}

void Raft::send_append(NodeId to, bool allow_empty) {
  Progress& pr = progress_[to];
  if (!pr.snapshotting && pr.next < first_index()) {
    // What it needs next was compacted away: send the snapshot.
    pr.snapshotting = true;
    pr.snapshot_index = snapshot_.meta.index;
    pr.snapshot_offset = 0;
    pr.piece_sent = false;
    pr.replicating = false;
    pr.inflight = 0;
  }
  if (pr.snapshotting) {
    send_snapshot_piece(to);
    return;
  }
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
  m.log_term = term_or_zero(m.index);
  m.commit = commit_;
  uint64_t end = std::min<uint64_t>(last_index(), m.index + config_.max_entries_per_append);
  // Bounded in bytes too, so a message stays under what a peer decodes;
  // always at least one entry, or a big one would never travel.
  size_t bytes = 0;
  for (uint64_t i = pr.next; i <= end; ++i) {
    bytes += entry(i).data.size();
    if (!m.entries.empty() && bytes > config_.max_bytes_per_append) {
      end = i - 1;
      break;
    }
    m.entries.push_back(entry(i));
  }
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
  read_round_ = read_seq_;
  for (auto& [id, pr] : progress_) {
    if (id == config_.id) continue;
    Message m;
    m.kind = static_cast<uint8_t>(MsgKind::kHeartbeat);
    m.to = id;
    m.term = term_;
    m.commit = std::min(pr.match, commit_);
    m.context = read_seq_;
    m.index = last_index();
    send(m);
  }
}

void Raft::maybe_commit() {
  uint64_t candidate = quorum_value(&Progress::match);
  // Counting replicas commits only an entry of the current term; earlier
  // terms' entries commit with it (the paper's figure 8).
  bool current_term = term_or_zero(candidate) == term_ || fault_active(Fault::kCommitOldTerm);
  if (candidate <= commit_ || !current_term) return;
  bool first_in_term = !committed_in_term();
  commit_ = candidate;
  commit_due_ = true;  // followers learn it in the next Ready's appends
  if (first_in_term) {
    // Reads parked until this leader knew the newest commit can go now.
    std::vector<PendingRead> parked;
    parked.swap(reads_parked_);
    for (const auto& r : parked) (void)start_read(r.context, r.from);
  }
  maybe_step_down_removed();
}

// ---- the application's calls ----

Status Raft::can_propose() const {
  if (role_ != Role::kLeader) {
    return Status(Code::kNotLeader,
                  leader_ ? "node " + std::to_string(leader_) : std::string("no leader known"));
  }
  if (transferee_ != 0) {
    return Status(Code::kUnavailable,
                  "leadership is moving to node " + std::to_string(transferee_));
  }
  return Status::ok();
}

Result<uint64_t> Raft::propose(std::string data) {
  DFS_RETURN_IF_ERROR(can_propose());
  return propose_entry(EntryType::kNormal, std::move(data));
}

Result<uint64_t> Raft::propose_entry(EntryType type, std::string data) {
  append({Entry{term_, last_index() + 1, static_cast<uint8_t>(type), std::move(data)}});
  uint64_t index = last_index();
  if (auto self = progress_.find(config_.id); self != progress_.end()) {
    self->second.match = index;
  }
  // Sent when the Ready is collected: proposals made together travel in
  // one append per follower instead of one each.
  appends_due_ = true;
  maybe_commit();  // a single-node group commits at once
  return index;
}

// ---- ready ----

HardState Raft::hard_state() const {
  HardState hs{term_, vote_, commit_, joining_};
  if (fault_active(Fault::kForgetVote)) hs.vote = 0;
  return hs;
}

bool Raft::has_ready() const {
  HardState hs = hard_state();
  return !outbox_.empty() || stable_ < last_index() || !(hs == persisted_hs_) ||
         applied_ < commit_ || snapshot_unsaved_ || !read_states_.empty() || appends_due_ ||
         commit_due_ || heartbeat_due_;
}

void Raft::flush_due_messages() {
  if (role_ != Role::kLeader) {
    appends_due_ = commit_due_ = heartbeat_due_ = false;
    return;
  }
  if (heartbeat_due_) broadcast_heartbeat();
  if (appends_due_ || commit_due_) {
    for (auto& [id, pr] : progress_) {
      if (id == config_.id) continue;
      size_t before = outbox_.size();
      while (pr.next <= last_index()) {
        size_t sent = outbox_.size();
        send_append(id, false);
        if (outbox_.size() == sent) break;
      }
      // Nothing new to send, but the commit index moved: an empty append says so.
      if (commit_due_ && outbox_.size() == before) send_append(id, true);
    }
  }
  appends_due_ = commit_due_ = heartbeat_due_ = false;
}

Ready Raft::ready() {
  flush_due_messages();
  Ready rd;
  HardState hs = hard_state();
  if (!(hs == persisted_hs_)) rd.hard_state = hs;
  if (snapshot_unsaved_) rd.snapshot = snapshot_;
  uint64_t from = std::max(stable_, snapshot_.meta.index) + 1;
  for (uint64_t i = from; i <= last_index(); ++i) rd.entries.push_back(entry(i));
  rd.messages = std::move(outbox_);
  outbox_.clear();
  rd.reads = std::move(read_states_);
  read_states_.clear();
  uint64_t apply_to = commit_;
  if (fault_active(Fault::kApplyBeforeCommit)) apply_to = last_index();
  for (uint64_t i = applied_ + 1; i <= apply_to; ++i) rd.committed.push_back(entry(i));
  return rd;
}

void Raft::advance(const Ready& rd) {
  if (rd.hard_state) persisted_hs_ = *rd.hard_state;
  if (rd.snapshot && rd.snapshot->meta.index == snapshot_.meta.index) snapshot_unsaved_ = false;
  if (!rd.entries.empty()) stable_ = std::max(stable_, rd.entries.back().index);
  stable_ = std::min<uint64_t>(stable_, last_index());
  if (!rd.committed.empty()) applied_ = std::max(applied_, rd.committed.back().index);
}

}  // namespace dfs::raft
