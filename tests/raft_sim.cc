#include "tests/raft_sim.h"

#include <algorithm>

namespace dfs::raft::sim {

namespace {
std::string describe(const Entry& e) {
  return "(term " + std::to_string(e.term) + ", '" + e.data + "')";
}
}  // namespace

Simulation::Simulation(SimOptions options) : options_(options), rng_(options.seed) {
  for (int i = 1; i <= options_.nodes; ++i) start(static_cast<NodeId>(i));
}

bool Simulation::chance(double p) {
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng_) < p;
}

void Simulation::start(NodeId id) {
  Node& n = nodes_[id];
  Config c;
  c.id = id;
  for (int i = 1; i <= options_.nodes; ++i) c.voters.push_back(static_cast<NodeId>(i));
  c.election_tick = 10;
  c.heartbeat_tick = 2;
  // Small batches and windows, so a new leader re-replicates old entries in
  // several appends: the situations where commit rules matter.
  c.max_entries_per_append = 2;
  c.max_inflight_appends = 2;
  c.seed = rng_();
  n.raft = std::make_unique<Raft>(c, n.disk);
  // The application's state is memory: it replays from the first entry.
  n.applied = 0;
  n.checked_commit = 0;
}

void Simulation::crash(NodeId id) {
  nodes_[id].raft.reset();
  ++crashes_;
}

Simulation::Stats Simulation::stats() const {
  return Stats{leader_of_term_.size(), crashes_, partitions_, applied_commands_.size(),
               committed_.empty() ? 0 : committed_.rbegin()->first};
}

bool Simulation::connected(NodeId from, NodeId to) const { return !blocked_.count({from, to}); }

void Simulation::send(const Message& m) {
  if (faults_ && chance(options_.drop)) return;
  int copies = faults_ && chance(options_.duplicate) ? 2 : 1;
  for (int i = 0; i < copies; ++i) {
    int limit =
        faults_ && chance(options_.long_delay) ? options_.long_delay_steps : options_.max_delay;
    int delay = 1 + static_cast<int>(rng_() % static_cast<uint64_t>(limit));
    network_.push_back({now_ + delay, rng_(), m});
  }
}

void Simulation::deliver_due() {
  std::vector<InFlight> due;
  auto split = std::stable_partition(network_.begin(), network_.end(),
                                     [&](const InFlight& f) { return f.deliver_at > now_; });
  due.assign(std::make_move_iterator(split), std::make_move_iterator(network_.end()));
  network_.erase(split, network_.end());
  std::sort(due.begin(), due.end(),
            [](const InFlight& a, const InFlight& b) { return a.order < b.order; });
  for (auto& f : due) {
    const Message& m = f.message;
    if (!connected(m.from, m.to)) continue;
    Node& n = nodes_[m.to];
    if (!n.raft) continue;
    n.raft->step(m);
  }
}

void Simulation::process_ready(NodeId id) {
  Node& n = nodes_[id];
  if (!n.raft || !n.raft->has_ready()) return;
  Ready rd = n.raft->ready();
  // 1. persist
  if (rd.hard_state) n.disk.hard_state = *rd.hard_state;
  if (!rd.entries.empty()) {
    n.disk.entries.resize(rd.entries.front().index - 1);
    for (const auto& e : rd.entries) n.disk.entries.push_back(e);
    check_persisted(id, rd.entries);
  }
  // 2. send
  for (const auto& m : rd.messages) send(m);
  // 3. apply
  for (const auto& e : rd.committed) check_applied(id, e);
  n.raft->advance(rd);
}

void Simulation::maybe_partition() {
  if (!blocked_.empty()) {
    if (chance(options_.heal)) blocked_.clear();
    return;
  }
  if (!chance(options_.partition)) return;
  ++partitions_;
  int n = options_.nodes;
  auto block_both = [&](NodeId a, NodeId b) {
    blocked_.insert({a, b});
    blocked_.insert({b, a});
  };
  switch (rng_() % 4) {
    case 0: {  // a random split into two sides
      std::vector<NodeId> side;
      for (int i = 1; i <= n; ++i) {
        if (rng_() % 2) side.push_back(static_cast<NodeId>(i));
      }
      for (int a = 1; a <= n; ++a) {
        for (int b = 1; b <= n; ++b) {
          bool sa = std::count(side.begin(), side.end(), a) > 0;
          bool sb = std::count(side.begin(), side.end(), b) > 0;
          if (sa != sb) blocked_.insert({static_cast<NodeId>(a), static_cast<NodeId>(b)});
        }
      }
      break;
    }
    case 1: {  // one node isolated
      NodeId x = 1 + rng_() % static_cast<uint64_t>(n);
      for (int b = 1; b <= n; ++b) {
        if (static_cast<NodeId>(b) != x) block_both(x, static_cast<NodeId>(b));
      }
      break;
    }
    case 2: {  // the leader isolated
      NodeId x = leader();
      if (x == 0) break;
      for (int b = 1; b <= n; ++b) {
        if (static_cast<NodeId>(b) != x) block_both(x, static_cast<NodeId>(b));
      }
      break;
    }
    default: {  // asymmetric: one node hears nothing but can still send
      NodeId x = 1 + rng_() % static_cast<uint64_t>(n);
      for (int b = 1; b <= n; ++b) {
        if (static_cast<NodeId>(b) != x) blocked_.insert({static_cast<NodeId>(b), x});
      }
      break;
    }
  }
}

NodeId Simulation::leader() const {
  NodeId best = 0;
  uint64_t term = 0;
  for (const auto& [id, n] : nodes_) {
    if (n.raft && n.raft->role() == Role::kLeader && n.raft->term() >= term) {
      best = id;
      term = n.raft->term();
    }
  }
  return best;
}

void Simulation::client_propose() {
  if (faults_ && wanted_.size() < 20 && chance(options_.propose)) {
    wanted_.insert("c" + std::to_string(next_command_++));
  }
  if (wanted_.empty()) return;
  // A client retries a command it has not seen applied, at whichever node
  // claims to lead (possibly a stale one).
  std::vector<NodeId> leaders;
  for (auto& [id, n] : nodes_) {
    if (n.raft && n.raft->role() == Role::kLeader) leaders.push_back(id);
  }
  if (leaders.empty() || !chance(0.5)) return;
  NodeId to = leaders[rng_() % leaders.size()];
  auto it = wanted_.begin();
  std::advance(it, static_cast<long>(rng_() % wanted_.size()));
  (void)nodes_[to].raft->propose(*it);
}

void Simulation::step_once() {
  ++now_;
  if (faults_) {
    for (auto& [id, n] : nodes_) {
      if (n.raft && chance(options_.crash)) {
        crash(id);
      } else if (!n.raft && chance(options_.restart)) {
        start(id);
      }
    }
    maybe_partition();
  }
  for (auto& [id, n] : nodes_) {
    if (n.raft) n.raft->tick();
  }
  deliver_due();
  client_propose();
  for (auto& [id, n] : nodes_) {
    if (!faults_ || chance(options_.process_ready)) process_ready(id);
  }
  check_step();
}

std::optional<Violation> Simulation::run() {
  for (int i = 0; i < options_.steps && !violation_; ++i) step_once();
  if (violation_) return violation_;
  // Heal: every node up, no partition, no loss. A leader must emerge and
  // every command clients still want must be applied, in bounded time.
  faults_ = false;
  blocked_.clear();
  for (auto& [id, n] : nodes_) {
    if (!n.raft) start(id);
  }
  for (int i = 0; i < options_.heal_steps && !violation_; ++i) {
    step_once();
    if (wanted_.empty() && leader() != 0) break;
  }
  if (!violation_ && leader() == 0)
    fail("no leader " + std::to_string(options_.heal_steps) + " steps after the network healed");
  if (!violation_ && !wanted_.empty()) {
    fail(std::to_string(wanted_.size()) + " commands (e.g. " + *wanted_.begin() + ") not applied " +
         std::to_string(options_.heal_steps) + " steps after healing");
  }
  return violation_;
}

// ---- the checker ----

void Simulation::fail(const std::string& what) {
  if (!violation_) violation_ = Violation{now_, what};
}

void Simulation::check_persisted(NodeId id, const std::vector<Entry>& appended) {
  // Log matching, by induction: two logs with an entry of the same index and
  // term hold the same command there and agree on the term before it.
  const auto& log = nodes_[id].disk.entries;
  for (const auto& e : appended) {
    uint64_t prev_term = e.index >= 2 ? log[e.index - 2].term : 0;
    auto [it, fresh] = seen_entries_.try_emplace({e.index, e.term}, prev_term, e.data);
    if (!fresh && (it->second.first != prev_term || it->second.second != e.data)) {
      fail("log matching: node " + std::to_string(id) + " holds " + describe(e) + " at index " +
           std::to_string(e.index) + " after term " + std::to_string(prev_term) +
           ", another node '" + it->second.second + "' after term " +
           std::to_string(it->second.first));
    }
  }
}

void Simulation::record_commits(NodeId id) {
  // Committed entries stay committed: once any node commits an index,
  // every later commit of that index is the same entry.
  Node& n = nodes_[id];
  const auto& log = n.raft->log();
  uint64_t commit = std::min<uint64_t>(n.raft->commit_index(), log.size());
  for (uint64_t i = n.checked_commit + 1; i <= commit; ++i) {
    auto [it, fresh] = committed_.try_emplace(i, log[i - 1]);
    if (!fresh && !(it->second == log[i - 1])) {
      fail("committed entry changed: node " + std::to_string(id) + " commits " +
           describe(log[i - 1]) + " at index " + std::to_string(i) + ", earlier " +
           describe(it->second));
    }
  }
  n.checked_commit = std::max(n.checked_commit, commit);
}

void Simulation::check_applied(NodeId id, const Entry& e) {
  Node& n = nodes_[id];
  record_commits(id);
  if (e.index != n.applied + 1) {
    fail("node " + std::to_string(id) + " applied index " + std::to_string(e.index) + " after " +
         std::to_string(n.applied));
  }
  n.applied = e.index;
  // Only what is committed is applied, and every node applies the same.
  auto c = committed_.find(e.index);
  if (c == committed_.end() || !(c->second == e)) {
    fail("node " + std::to_string(id) + " applied " + describe(e) + " at index " +
         std::to_string(e.index) + ", which is not what committed there");
  }
  auto [it, fresh] = applied_.try_emplace(e.index, e);
  if (!fresh && !(it->second == e)) {
    fail("state machine safety: node " + std::to_string(id) + " applied " + describe(e) +
         " at index " + std::to_string(e.index) + ", another node " + describe(it->second));
  }
  if (e.type == static_cast<uint8_t>(EntryType::kNormal)) {
    wanted_.erase(e.data);
    applied_commands_.insert(e.data);
  }
}

void Simulation::check_step() {
  for (auto& [id, n] : nodes_) {
    if (!n.raft) continue;
    const Raft& r = *n.raft;
    const auto& log = r.log();
    record_commits(id);
    if (r.role() != Role::kLeader) continue;
    // Election safety: one leader per term.
    auto [lt, fresh] = leader_of_term_.try_emplace(r.term(), id);
    if (!fresh && lt->second != id) {
      fail("two leaders in term " + std::to_string(r.term()) + ": nodes " +
           std::to_string(lt->second) + " and " + std::to_string(id));
    }
    // Leader completeness: a new leader holds every committed entry.
    if (n.leader_checked_term != r.term()) {
      n.leader_checked_term = r.term();
      for (const auto& [index, e] : committed_) {
        if (index > log.size() || !(log[index - 1] == e)) {
          fail("leader completeness: node " + std::to_string(id) + " leads term " +
               std::to_string(r.term()) + " without committed entry " + describe(e) + " at index " +
               std::to_string(index));
          break;
        }
      }
    }
  }
}

}  // namespace dfs::raft::sim
