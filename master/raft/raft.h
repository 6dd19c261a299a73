// The Raft consensus core: a pure state machine. It owns no socket, thread,
// clock, file or hidden randomness. The caller feeds it messages (step),
// clock ticks (tick) and commands (propose), and collects a Ready batch:
//
//   1. persist ready.hard_state (if set) and ready.entries (replacing any
//      stored entries from ready.entries.front().index on), durably;
//   2. then send ready.messages -- they may depend on what was persisted;
//   3. then apply ready.committed in order;
//   4. call advance(ready).
//
// Election uses randomized timeouts (jitter from a seeded generator in the
// config), pre-vote, and check-quorum: a leader that has not heard from a
// majority within an election timeout steps down, and a node that heard from
// a leader within one ignores (pre-)vote requests, so a rejoining node cannot
// disrupt a healthy leader. Replication pipelines batches of entries to
// followers that keep up and probes one message at a time for those that do
// not, backing off over whole conflicting terms. An entry commits only by
// counting replicas of an entry of the leader's current term.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "codec/raft_messages.h"

namespace dfs::raft {

struct Config {
  NodeId id = 0;
  std::vector<NodeId> voters;  // every member, this node included
  int election_tick = 10;      // ticks; the timeout is randomized in [this, 2 * this)
  int heartbeat_tick = 1;
  size_t max_entries_per_append = 64;
  size_t max_inflight_appends = 32;  // unacknowledged appends per follower
  uint64_t seed = 1;
};

// What a restarted node recovers from its storage.
struct Persisted {
  HardState hard_state;
  std::vector<Entry> entries;  // indexes 1..n, in order
};

struct Ready {
  std::optional<HardState> hard_state;
  std::vector<Entry> entries;
  std::vector<Message> messages;
  std::vector<Entry> committed;
  bool empty() const {
    return !hard_state && entries.empty() && messages.empty() && committed.empty();
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

  bool has_ready() const;
  Ready ready();
  void advance(const Ready& ready);

  NodeId id() const { return config_.id; }
  Role role() const { return role_; }
  uint64_t term() const { return term_; }
  NodeId leader() const { return leader_; }
  uint64_t commit_index() const { return commit_; }
  uint64_t last_index() const { return entries_.size(); }
  // The whole log (entries 1..last_index()), persisted or not.
  const std::vector<Entry>& log() const { return entries_; }

 private:
  struct Progress {
    uint64_t match = 0;
    uint64_t next = 1;
    bool replicating = false;  // pipelining; otherwise probing one append at a time
    size_t inflight = 0;
    bool probe_sent = false;
    bool recent_active = false;
  };

  uint64_t term_at(uint64_t index) const;  // 0 when out of range
  HardState hard_state() const;            // what must be on disk now
  uint64_t last_term() const { return term_at(last_index()); }
  bool up_to_date(uint64_t log_term, uint64_t index) const;
  size_t quorum() const { return config_.voters.size() / 2 + 1; }

  void become_follower(uint64_t term, NodeId leader);
  void become_pre_candidate();
  void become_candidate();
  void become_leader();
  void campaign(bool pre);
  void reset_election_timer();
  void set_term(uint64_t term);

  // A reply to `m` of `kind`, carrying this node's term.
  Message answer(const Message& m, MsgKind kind) const;
  void send(Message m);
  void send_append(NodeId to, bool allow_empty);
  void broadcast_append();
  void broadcast_heartbeat();
  void maybe_commit();
  void append(std::vector<Entry> entries);  // truncating conflicts

  void step_leader(const Message& m);
  void step_candidate(const Message& m);
  void step_follower(const Message& m);
  void handle_append(const Message& m);
  void handle_heartbeat(const Message& m);
  void handle_vote(const Message& m);
  bool in_lease() const;

  Config config_;
  std::mt19937_64 rng_;
  Role role_ = Role::kFollower;
  uint64_t term_ = 0;
  NodeId vote_ = 0;
  NodeId leader_ = 0;
  std::vector<Entry> entries_;  // entries_[i] has index i + 1
  uint64_t commit_ = 0;
  uint64_t applied_ = 0;  // handed out in a Ready
  uint64_t stable_ = 0;   // entries persisted up to here
  int election_elapsed_ = 0;
  int heartbeat_elapsed_ = 0;
  int randomized_timeout_ = 0;
  std::map<NodeId, bool> votes_;
  std::map<NodeId, Progress> progress_;
  std::vector<Message> outbox_;
  HardState persisted_hs_;
};

}  // namespace dfs::raft
