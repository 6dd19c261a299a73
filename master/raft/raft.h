// The Raft consensus core: a pure state machine. It owns no socket, thread,
// clock, file or hidden randomness. The caller feeds it messages (step),
// clock ticks (tick), commands (propose, propose_conf_change), read requests
// (read_index) and snapshots of its state (compact), and collects a Ready
// batch:
//
//   1. persist, durably and atomically: ready.snapshot (if set: it replaces
//      every stored entry), ready.entries (replacing any stored entries from
//      ready.entries.front().index on) and ready.hard_state (if set);
//   2. then send ready.messages -- they may depend on what was persisted;
//   3. then restore the state machine from ready.snapshot (if set) and apply
//      ready.committed in order;
//   4. serve each of ready.reads once the applied index reaches its index;
//   5. call advance(ready).
//
// Election uses randomized timeouts (jitter from a seeded generator in the
// config), pre-vote, and check-quorum: a leader that has not heard from a
// majority within an election timeout steps down, and a node that heard from
// a leader within one ignores (pre-)vote requests, so a rejoining node cannot
// disrupt a healthy leader. Replication pipelines batches of entries to
// followers that keep up and probes one message at a time for those that do
// not, backing off over whole conflicting terms; a follower whose next entry
// was compacted away gets the snapshot instead, in pieces. An entry commits
// only by counting replicas of an entry of the leader's current term.
//
// Membership changes one server at a time; each node uses the newest
// membership in its log, committed or not, so two configurations in force at
// once always share a majority.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "codec/raft_messages.h"

namespace dfs::raft {

struct Config {
  NodeId id = 0;
  // The membership the group starts with, used until the log or a snapshot
  // says otherwise. A node that joins later starts with neither and waits
  // for the leader to reach it.
  std::vector<NodeId> voters;
  std::vector<NodeId> learners;
  int election_tick = 10;  // ticks; the timeout is randomized in [this, 2 * this)
  int heartbeat_tick = 1;
  size_t max_entries_per_append = 64;
  size_t max_bytes_per_append = 8u << 20;  // payload bytes; one entry may be larger
  size_t max_inflight_appends = 32;        // unacknowledged appends per follower
  size_t snapshot_piece_bytes = 1u << 20;
  size_t max_pending_reads = 4096;
  uint64_t seed = 1;
  // This node lost its storage and rejoins a group that already exists. It
  // may have voted in the current term before losing the record of it, and
  // it acknowledged entries it no longer has, so until its log reaches the
  // leader's last index as of the first heartbeat it hears, it grants no
  // vote and never campaigns: its vote could otherwise elect a second leader
  // in a term, or a leader missing entries it helped commit. The state is
  // kept in the hard state, so a restart in between goes on joining.
  bool joining = false;
};

// What a restarted node recovers from its storage.
struct Persisted {
  HardState hard_state;
  Snapshot snapshot;           // meta.index == 0: none
  std::vector<Entry> entries;  // snapshot.meta.index + 1 .. n, in order
};

// A read that may be served once the state machine has applied `index`.
struct ReadState {
  uint64_t context = 0;
  uint64_t index = 0;
};

struct Ready {
  std::optional<HardState> hard_state;
  std::optional<Snapshot> snapshot;  // received from the leader
  std::vector<Entry> entries;
  std::vector<Message> messages;
  std::vector<Entry> committed;
  std::vector<ReadState> reads;
  bool empty() const {
    return !hard_state && !snapshot && entries.empty() && messages.empty() && committed.empty() &&
           reads.empty();
  }
};

enum class Role { kFollower, kPreCandidate, kCandidate, kLeader };
const char* role_name(Role role);

class Raft {
 public:
  Raft(Config config, Persisted persisted);

  void tick();
  // A message from a peer. Messages for another node are ignored.
  void step(const Message& m);
  // Appends a command to the log if this node leads; returns its index, or
  // kNotLeader naming the leader if one is known (as "node N").
  Result<uint64_t> propose(std::string data);
  // Appends a membership change. Refused while another change is
  // uncommitted, before the leader has committed an entry of its term, and
  // for promoting a learner that has not caught up.
  Result<uint64_t> propose_conf_change(ConfChange change);
  // Asks for a linearizable read: a ReadState with this context comes back
  // in a Ready once the leader has confirmed it still leads. A follower
  // forwards the request; a request lost on the way never comes back, so
  // the caller bounds its wait.
  Status read_index(uint64_t context);
  // Hands leadership to a caught-up voter; proposals are refused until it
  // takes over or an election timeout passes.
  Status transfer_leadership(NodeId to);
  // The application's state as of applied index `index`: the log up to it is
  // dropped. Returns the snapshot for the caller to persist.
  Result<Snapshot> compact(uint64_t index, std::string data);

  bool has_ready() const;
  Ready ready();
  void advance(const Ready& ready);

  NodeId id() const { return config_.id; }
  Role role() const { return role_; }
  uint64_t term() const { return term_; }
  NodeId leader() const { return leader_; }
  uint64_t commit_index() const { return commit_; }
  uint64_t first_index() const { return snapshot_.meta.index + 1; }
  uint64_t last_index() const { return snapshot_.meta.index + entries_.size(); }
  // A joining node that has not caught up yet (it neither votes nor campaigns).
  bool awaiting_log() const { return joining_ != 0; }
  // The entries still held: first_index() .. last_index().
  const std::vector<Entry>& entries() const { return entries_; }
  const SnapshotMeta& snapshot_meta() const { return snapshot_.meta; }
  // On a leader, the newest index known to be on member `id`.
  std::optional<uint64_t> match_of(NodeId id) const {
    auto it = progress_.find(id);
    if (role_ != Role::kLeader || it == progress_.end()) return std::nullopt;
    return id == config_.id ? last_index() : it->second.match;
  }
  // The newest membership in the log.
  const Membership& membership() const { return membership_; }
  NodeId transferring_to() const { return transferee_; }

 private:
  struct Progress {
    uint64_t match = 0;
    uint64_t next = 1;
    bool replicating = false;  // pipelining; otherwise probing one append at a time
    size_t inflight = 0;
    bool probe_sent = false;
    bool recent_active = false;
    // Sending the snapshot instead of entries: its index, the next byte
    // to send, and whether a piece is unanswered.
    bool snapshotting = false;
    uint64_t snapshot_index = 0;
    uint64_t snapshot_offset = 0;
    bool piece_sent = false;
    uint64_t read_ack = 0;  // newest read sequence it confirmed
  };
  struct PendingRead {
    uint64_t seq = 0;
    uint64_t context = 0;
    NodeId from = 0;  // who asked: this node or a follower
    uint64_t index = 0;
  };

  std::optional<uint64_t> term_at(uint64_t index) const;  // none when compacted or beyond
  uint64_t term_or_zero(uint64_t index) const { return term_at(index).value_or(0); }
  const Entry& entry(uint64_t index) const { return entries_[index - first_index()]; }
  HardState hard_state() const;  // what must be on disk now
  uint64_t last_term() const { return term_or_zero(last_index()); }
  bool up_to_date(uint64_t log_term, uint64_t index) const;
  size_t quorum() const { return membership_.voters.size() / 2 + 1; }
  bool is_voter() const { return membership_.is_voter(config_.id); }
  bool committed_in_term() const { return term_or_zero(commit_) == term_; }
  // The quorum-th highest of a per-voter value: what a majority has reached.
  uint64_t quorum_value(uint64_t Progress::*field) const;

  // Ok when this node may append proposals now; otherwise why not.
  Status can_propose() const;
  Result<uint64_t> propose_entry(EntryType type, std::string data);

  void become_follower(uint64_t term, NodeId leader);
  void become_pre_candidate();
  void become_candidate();
  void become_leader();
  void campaign(bool pre, bool transfer = false);
  void reset_election_timer();
  void set_term(uint64_t term);

  // A reply to `m` of `kind`, carrying this node's term.
  Message answer(const Message& m, MsgKind kind) const;
  void send(Message m);
  void send_append(NodeId to, bool allow_empty);
  void send_snapshot_piece(NodeId to);
  void broadcast_append();
  void broadcast_heartbeat();
  // What the leader deferred to the next Ready: appends of new entries and
  // of the commit index, and the heartbeat that confirms reads. Deferring
  // coalesces what a batch of requests would otherwise send one by one.
  void flush_due_messages();
  void maybe_commit();
  void append(std::vector<Entry> entries);         // truncating conflicts
  Membership membership_at(uint64_t index) const;  // as of `index` in the log
  void membership_changed();
  void sync_progress();
  void maybe_finish_transfer(NodeId to);
  void maybe_step_down_removed();

  void step_leader(const Message& m);
  void step_candidate(const Message& m);
  void step_follower(const Message& m);
  void handle_append(const Message& m);
  void handle_heartbeat(const Message& m);
  void handle_snapshot(const Message& m);
  void handle_vote(const Message& m);
  void handle_append_resp(const Message& m, Progress& pr);
  void handle_snapshot_resp(const Message& m, Progress& pr);
  bool in_lease() const;

  // Reads (leader side).
  Status start_read(uint64_t context, NodeId from);
  // Releases the reads a majority confirmed, and marks the next heartbeat
  // round due when reads wait and no round is out.
  void release_confirmed_reads();
  void release(const PendingRead& r);

  Config config_;
  std::mt19937_64 rng_;
  Role role_ = Role::kFollower;
  uint64_t term_ = 0;
  NodeId vote_ = 0;
  NodeId leader_ = 0;
  Snapshot snapshot_;           // the newest, covering 1..snapshot_.meta.index
  std::vector<Entry> entries_;  // first_index() .. last_index()
  uint64_t commit_ = 0;
  uint64_t applied_ = 0;  // handed out in a Ready
  uint64_t stable_ = 0;   // entries persisted up to here
  bool snapshot_unsaved_ = false;
  int election_elapsed_ = 0;
  int heartbeat_elapsed_ = 0;
  int randomized_timeout_ = 0;
  std::map<NodeId, bool> votes_;
  std::map<NodeId, Progress> progress_;
  std::vector<Message> outbox_;
  bool appends_due_ = false;
  bool commit_due_ = false;
  bool heartbeat_due_ = false;
  HardState persisted_hs_;
  uint64_t joining_ = 0;  // HardState::joining
  void update_joining(const Message& from_leader);

  Membership membership_;
  std::vector<uint64_t> conf_indexes_;  // conf-change entries still in entries_

  NodeId transferee_ = 0;
  int transfer_elapsed_ = 0;

  uint64_t read_seq_ = 0;
  uint64_t read_round_ = 0;                // the read sequence the latest heartbeat round carried
  std::deque<PendingRead> reads_;          // waiting for a quorum, by seq
  std::vector<PendingRead> reads_parked_;  // waiting for a commit in this term
  std::vector<ReadState> read_states_;     // ready for the application

  // A snapshot arriving in pieces (follower side).
  SnapshotMeta incoming_meta_;
  std::string incoming_data_;
};

}  // namespace dfs::raft
