// A deterministic simulator for the Raft core: N nodes (plus spares that
// membership changes may bring in), a network that drops, delays, duplicates
// and reorders messages and can be partitioned, nodes that crash (losing
// everything not persisted) and restart, nodes that compact their logs into
// snapshots, clients that propose commands and make linearizable reads, and
// an operator who moves leadership and changes membership. One seed drives
// every choice, so a run replays exactly. An invariant checker, written apart
// from the algorithm, looks at every step.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "master/raft/raft.h"

namespace dfs::raft::sim {

struct SimOptions {
  int nodes = 3;   // voters at the start
  int spares = 2;  // more nodes, members only once added
  uint64_t seed = 1;
  int steps = 3000;          // with faults
  int heal_steps = 600;      // after healing: everything must settle within this
  double drop = 0.05;        // per message
  double duplicate = 0.02;   // per message
  int max_delay = 3;         // steps a message usually takes at most
  double long_delay = 0.03;  // per message: held up to long_delay_steps instead
  int long_delay_steps = 40;
  double crash = 0.006;   // per node per step
  double restart = 0.05;  // per down node per step
  double pause = 0.003;   // per node per step: freezes (a stalled process), then resumes
                          // with its memory
  int max_pause_steps = 60;
  // A message a partition or a pause keeps from its node is held (this
  // share of them; the rest are lost) and delivered once the way is open
  // again, late, among newer traffic: what a stalled process's socket
  // buffers or a healed link deliver.
  double hold = 0.5;
  int max_hold_steps = 300;
  double partition = 0.006;    // per step: a new partition
  double heal = 0.01;          // per step while partitioned
  double propose = 0.3;        // per step: a client proposes
  double process_ready = 0.8;  // per node per step: persist, send and apply
  double read = 0.2;           // per step: a client asks some node for a read
  double compact = 0.02;       // per node per step: snapshot and compact the log
  double transfer = 0.004;     // per step: move leadership to another voter
  double conf_change = 0.015;  // per step: add, promote or remove a member
  // Several pieces a snapshot (they are a few KiB), but few enough that one
  // goes across between two compactions of the leader (every ~50 steps):
  // a new snapshot restarts the transfer, as it does in the masters, where
  // the piece is the file manifest and the files travel on their own.
  size_t snapshot_piece_bytes = 1024;
  // Liveness bounds, in steps (one tick each): a leader that cannot reach a
  // majority of its voters steps down within step_down_steps; after healing,
  // every voter holds the leader's applied state within heal_steps, and the
  // leader then keeps its term for stable_steps (nothing deposes it).
  int step_down_steps = 60;
  int stable_steps = 200;
};

// Why a run failed, and when.
struct Violation {
  int step = 0;
  std::string what;
};

class Simulation {
 public:
  explicit Simulation(SimOptions options);
  // Runs the whole scenario; the first invariant broken, if any.
  std::optional<Violation> run();

  // For tests that script their own scenarios.
  void step_once();
  std::optional<Violation> violation() const { return violation_; }
  NodeId leader() const;  // the up leader with the highest term, or 0

  // What a run went through, so a test can show the simulator is not gentle.
  struct Stats {
    size_t leaders = 0;  // terms that had a leader
    size_t crashes = 0;
    size_t partitions = 0;
    size_t commands = 0;             // distinct client commands applied
    uint64_t committed = 0;          // highest committed index
    size_t reads = 0;                // linearizable reads served
    size_t snapshots_installed = 0;  // from a leader
    size_t transfers = 0;            // leaderships handed over on request
    size_t conf_changes = 0;         // membership changes committed
    size_t late_deliveries = 0;      // held messages delivered after a partition or pause
  };
  Stats stats() const;

 private:
  struct InFlight {
    int deliver_at;
    uint64_t order;  // tie-break drawn from the seed: reorders same-step messages
    Message message;
    int held_since = 0;  // the step a partition or pause first held it up (0: never)
  };
  struct Node {
    std::unique_ptr<Raft> raft;  // null while down
    Persisted disk;
    uint64_t applied = 0;  // the application's last applied index
    // The application's state: the commands applied, with their indexes.
    std::vector<std::pair<uint64_t, std::string>> state;
    std::vector<ReadState> waiting_reads;  // until applied reaches them
    int paused_until = 0;                  // frozen while now_ < this
    uint64_t checked_commit = 0;           // commits recorded by the checker so far
    uint64_t leader_checked_term = 0;
    // While it leads: the term, and the commit index it knew on taking over.
    uint64_t leading_term = 0;
    uint64_t commit_on_taking_over = 0;
    int without_quorum_since = 0;  // leading but cut off from a majority since this step
  };
  struct ClientRead {
    NodeId node = 0;
    uint64_t must_see = 0;  // the newest index acknowledged when the read began
  };

  void start(NodeId id);
  void crash(NodeId id);
  void process_ready(NodeId id);
  void deliver_due();
  void send(const Message& m);
  void maybe_partition();
  void client_propose();
  void client_read();
  void operator_actions();
  void maybe_compact(NodeId id);
  void restore(NodeId id, const Snapshot& snapshot);
  void serve_reads(NodeId id);
  std::vector<NodeId> all_ids() const;
  bool connected(NodeId from, NodeId to) const;
  bool chance(double p);
  bool running(const Node& n) const { return n.raft && now_ >= n.paused_until; }

  // The checker.
  void fail(const std::string& what);
  void check_persisted(NodeId id, const std::vector<Entry>& appended);
  void check_step();
  void check_applied(NodeId id, const Entry& e);
  std::string expected_state(uint64_t index);
  void record_commits(NodeId id);
  void check_leader_has_quorum(NodeId id);
  // Every voter of the leader's membership has applied what it applied.
  bool converged();
  void hold_or_drop(InFlight&& f, int until);

  SimOptions options_;
  std::mt19937_64 rng_;
  int now_ = 0;
  uint64_t order_ = 0;
  std::map<NodeId, Node> nodes_;
  std::vector<InFlight> network_;
  std::set<std::pair<NodeId, NodeId>> blocked_;  // (from, to) pairs that cannot talk
  bool faults_ = true;
  size_t crashes_ = 0;
  size_t partitions_ = 0;

  // Client commands: wanted until some node applies them.
  uint64_t next_command_ = 1;
  std::set<std::string> wanted_;
  std::set<std::string> applied_commands_;
  uint64_t acked_index_ = 0;  // newest index of a command some node applied
  uint64_t next_read_ = 1;
  std::map<uint64_t, ClientRead> reads_;  // by context
  size_t reads_served_ = 0;
  size_t late_deliveries_ = 0;
  size_t snapshots_installed_ = 0;
  size_t transfers_ = 0;
  std::pair<NodeId, uint64_t> pending_transfer_{0, 0};  // (to, term it was asked in)
  std::set<uint64_t> conf_changes_;                     // indexes of committed membership changes

  // What the checker has seen.
  std::optional<Violation> violation_;
  std::map<uint64_t, NodeId> leader_of_term_;
  std::map<std::pair<uint64_t, uint64_t>, std::pair<uint64_t, std::string>>
      seen_entries_;                          // (index, term) -> (previous entry's term, data)
  std::map<uint64_t, Entry> committed_;       // index -> the entry committed there
  std::map<uint64_t, uint64_t> commit_term_;  // index -> a term no earlier than its commit
  std::map<uint64_t, Entry> applied_;         // index -> the entry applied there
};

}  // namespace dfs::raft::sim
