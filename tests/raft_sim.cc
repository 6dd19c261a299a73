#include "tests/raft_sim.h"

#include <algorithm>

namespace dfs::raft::sim {

namespace {
std::string describe(const Entry& e) {
  return "(term " + std::to_string(e.term) + ", '" + e.data + "')";
}
}  // namespace

Simulation::Simulation(SimOptions options) : options_(options), rng_(options.seed) {
  for (NodeId id : all_ids()) start(id);
}

std::vector<NodeId> Simulation::all_ids() const {
  std::vector<NodeId> ids;
  for (int i = 1; i <= options_.nodes + options_.spares; ++i) ids.push_back(static_cast<NodeId>(i));
  return ids;
}

bool Simulation::chance(double p) {
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng_) < p;
}

void Simulation::start(NodeId id) {
  Node& n = nodes_[id];
  Config c;
  c.id = id;
  // Spares start knowing no group: they wait to be added.
  if (id <= static_cast<NodeId>(options_.nodes)) {
    for (int i = 1; i <= options_.nodes; ++i) c.voters.push_back(static_cast<NodeId>(i));
  }
  c.election_tick = 10;
  c.heartbeat_tick = 2;
  // Small batches and windows, so a new leader re-replicates old entries in
  // several appends: the situations where commit rules matter.
  c.max_entries_per_append = 2;
  c.max_inflight_appends = 2;
  c.snapshot_piece_bytes = options_.snapshot_piece_bytes;
  c.seed = rng_();
  n.raft = std::make_unique<Raft>(c, n.disk);
  // The application's state is memory: it restores from the snapshot on
  // disk and replays the entries after it.
  n.applied = 0;
  n.state.clear();
  n.waiting_reads.clear();
  n.paused_until = 0;
  n.checked_commit = 0;
  if (n.disk.snapshot.meta.index > 0) restore(id, n.disk.snapshot);
}

std::string Simulation::expected_state(uint64_t index) {
  std::string out;
  for (uint64_t i = 1; i <= index; ++i) {
    auto it = committed_.find(i);
    if (it == committed_.end()) {
      fail("a snapshot covers index " + std::to_string(i) + ", which no node committed");
      return out;
    }
    if (it->second.type != static_cast<uint8_t>(EntryType::kNormal)) continue;
    out += std::to_string(i) + ":" + it->second.data + ",";
  }
  return out;
}

void Simulation::restore(NodeId id, const Snapshot& snapshot) {
  Node& n = nodes_[id];
  const SnapshotMeta& meta = snapshot.meta;
  auto c = committed_.find(meta.index);
  if (c == committed_.end() || c->second.term != meta.term) {
    fail("node " + std::to_string(id) + " restores a snapshot at index " +
         std::to_string(meta.index) + " term " + std::to_string(meta.term) +
         " that does not end in a committed entry");
  }
  if (snapshot.data != expected_state(meta.index)) {
    fail("node " + std::to_string(id) + " restores a snapshot at index " +
         std::to_string(meta.index) + " whose state is not the committed commands");
  }
  // The state is "index:command," for each command applied.
  n.state.clear();
  size_t pos = 0;
  while (pos < snapshot.data.size()) {
    size_t colon = snapshot.data.find(':', pos);
    size_t comma = snapshot.data.find(',', colon);
    if (colon == std::string::npos || comma == std::string::npos) break;
    n.state.emplace_back(std::stoull(snapshot.data.substr(pos, colon - pos)),
                         snapshot.data.substr(colon + 1, comma - colon - 1));
    pos = comma + 1;
  }
  n.applied = meta.index;
}

void Simulation::maybe_compact(NodeId id) {
  Node& n = nodes_[id];
  if (!running(n) || !chance(options_.compact)) return;
  uint64_t first = n.raft->first_index();
  if (n.applied < first + 4) return;
  // Usually keep a few applied entries, so that followers just behind are
  // caught up from the log and those further behind get the snapshot.
  uint64_t index = n.applied - rng_() % 4;
  std::string data;
  for (const auto& [i, command] : n.state) {
    if (i <= index) data += std::to_string(i) + ":" + command + ",";
  }
  auto snapshot = n.raft->compact(index, data);
  if (!snapshot.is_ok()) {
    fail("node " + std::to_string(id) + " cannot compact through applied index " +
         std::to_string(index) + ": " + snapshot.status().message());
    return;
  }
  uint64_t dropped = index - n.disk.snapshot.meta.index;
  n.disk.entries.erase(n.disk.entries.begin(),
                       n.disk.entries.begin() +
                           static_cast<long>(std::min<uint64_t>(dropped, n.disk.entries.size())));
  n.disk.snapshot = *snapshot;
}

void Simulation::serve_reads(NodeId id) {
  Node& n = nodes_[id];
  std::vector<ReadState> later;
  for (const auto& r : n.waiting_reads) {
    if (r.index > n.applied) {
      later.push_back(r);
      continue;
    }
    auto it = reads_.find(r.context);
    if (it == reads_.end()) continue;
    // Linearizable: the state served holds every write acknowledged
    // before the read began.
    if (it->second.node != id || n.applied < it->second.must_see) {
      fail("linearizable read " + std::to_string(r.context) + " served by node " +
           std::to_string(id) + " at applied index " + std::to_string(n.applied) + ", but index " +
           std::to_string(it->second.must_see) + " was acknowledged before it began");
    }
    ++reads_served_;
    reads_.erase(it);
  }
  n.waiting_reads = std::move(later);
}

void Simulation::crash(NodeId id) {
  nodes_[id].raft.reset();
  ++crashes_;
}

Simulation::Stats Simulation::stats() const {
  return Stats{leader_of_term_.size(),
               crashes_,
               partitions_,
               applied_commands_.size(),
               committed_.empty() ? 0 : committed_.rbegin()->first,
               reads_served_,
               snapshots_installed_,
               transfers_,
               conf_changes_.size(),
               late_deliveries_};
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
    Node& n = nodes_[m.to];
    if (!connected(m.from, m.to)) {
      hold_or_drop(std::move(f), now_ + 1);  // tried again until the partition heals
      continue;
    }
    if (n.raft && !running(n)) {
      hold_or_drop(std::move(f), n.paused_until + static_cast<int>(rng_() % 3));
      continue;
    }
    if (!n.raft) continue;  // a crashed node's socket is gone
    if (f.held_since != 0) ++late_deliveries_;
    n.raft->step(m);
  }
}

void Simulation::hold_or_drop(InFlight&& f, int until) {
  if (f.held_since == 0) {
    if (!faults_ || !chance(options_.hold)) return;
    f.held_since = now_;
  } else if (now_ - f.held_since > options_.max_hold_steps) {
    return;
  }
  f.deliver_at = until;
  network_.push_back(std::move(f));
}

void Simulation::process_ready(NodeId id) {
  Node& n = nodes_[id];
  if (!running(n) || !n.raft->has_ready()) return;
  const bool leading = n.raft->role() == Role::kLeader;
  if (leading && n.leading_term != n.raft->term()) {
    n.leading_term = n.raft->term();
    n.commit_on_taking_over = n.raft->commit_index();
  }
  Ready rd = n.raft->ready();
  // A leader commits by counting replicas only an entry of its own term
  // (earlier ones commit with it): an older entry on a majority may still
  // be overwritten (the Raft paper's figure 8).
  if (leading && !rd.committed.empty() && rd.committed.back().index > n.commit_on_taking_over &&
      rd.committed.back().term != n.raft->term()) {
    fail("leader " + std::to_string(id) + " of term " + std::to_string(n.raft->term()) +
         " commits index " + std::to_string(rd.committed.back().index) + " of term " +
         std::to_string(rd.committed.back().term) + " by counting replicas");
    return;
  }
  // 1. persist
  if (rd.snapshot) {
    n.disk.snapshot = *rd.snapshot;
    n.disk.entries.clear();
  }
  if (!rd.entries.empty()) {
    uint64_t first = n.disk.snapshot.meta.index + 1;
    if (rd.entries.front().index < first ||
        rd.entries.front().index > first + n.disk.entries.size()) {
      fail("node " + std::to_string(id) + " persists entries from " +
           std::to_string(rd.entries.front().index) + " but its disk holds " +
           std::to_string(first) + ".." + std::to_string(first + n.disk.entries.size() - 1));
      return;
    }
    n.disk.entries.resize(rd.entries.front().index - first);
    for (const auto& e : rd.entries) n.disk.entries.push_back(e);
    check_persisted(id, rd.entries);
  }
  if (rd.hard_state) n.disk.hard_state = *rd.hard_state;
  // 2. send
  for (const auto& m : rd.messages) send(m);
  // 3. restore and apply
  if (rd.snapshot) {
    restore(id, *rd.snapshot);
    ++snapshots_installed_;
  }
  for (const auto& e : rd.committed) check_applied(id, e);
  // 4. serve reads
  n.waiting_reads.insert(n.waiting_reads.end(), rd.reads.begin(), rd.reads.end());
  serve_reads(id);
  n.raft->advance(rd);
}

void Simulation::maybe_partition() {
  if (!blocked_.empty()) {
    if (chance(options_.heal)) blocked_.clear();
    return;
  }
  if (!chance(options_.partition)) return;
  ++partitions_;
  // Over every node, spares included: new members are cut off too.
  int n = options_.nodes + options_.spares;
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
    if (running(n) && n.raft->role() == Role::kLeader && n.raft->term() >= term) {
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
    if (running(n) && n.raft->role() == Role::kLeader) leaders.push_back(id);
  }
  if (leaders.empty() || !chance(0.5)) return;
  NodeId to = leaders[rng_() % leaders.size()];
  auto it = wanted_.begin();
  std::advance(it, static_cast<long>(rng_() % wanted_.size()));
  (void)nodes_[to].raft->propose(*it);
}

void Simulation::client_read() {
  if (!chance(options_.read)) return;
  // Clients mostly ask whoever claims to lead, sometimes any node.
  std::vector<NodeId> ids;
  if (chance(0.5)) {
    for (auto& [id, n] : nodes_) {
      if (running(n) && n.raft->role() == Role::kLeader) ids.push_back(id);
    }
  }
  if (ids.empty()) ids = all_ids();
  NodeId id = ids[rng_() % ids.size()];
  Node& n = nodes_[id];
  if (!running(n)) return;
  uint64_t context = next_read_++;
  if (!n.raft->read_index(context).is_ok()) return;
  reads_[context] = ClientRead{id, acked_index_};
  // Reads lost with a message or a crash are never answered; the client
  // gives up on them.
  while (reads_.size() > 1000) reads_.erase(reads_.begin());
}

void Simulation::operator_actions() {
  NodeId l = leader();
  if (l == 0) return;
  Raft& r = *nodes_[l].raft;
  const Membership& m = r.membership();
  if (chance(options_.transfer)) {
    std::vector<NodeId> others;
    for (NodeId v : m.voters) {
      if (v != l) others.push_back(v);
    }
    if (!others.empty()) {
      NodeId to = others[rng_() % others.size()];
      if (r.transfer_leadership(to).is_ok()) pending_transfer_ = {to, r.term()};
    }
  }
  if (!chance(options_.conf_change)) return;
  std::vector<NodeId> ids = all_ids();
  NodeId target = ids[rng_() % ids.size()];
  ConfChange cc;
  cc.node = target;
  if (!m.is_member(target)) {
    cc.kind = static_cast<uint8_t>(ConfChangeKind::kAddLearner);
  } else if (m.is_learner(target)) {
    cc.kind = static_cast<uint8_t>(rng_() % 2 ? ConfChangeKind::kPromote : ConfChangeKind::kRemove);
  } else if (m.voters.size() >= 3) {
    cc.kind = static_cast<uint8_t>(ConfChangeKind::kRemove);  // the leader, too
  } else {
    return;
  }
  (void)r.propose_conf_change(cc);
}

void Simulation::step_once() {
  ++now_;
  if (faults_) {
    for (auto& [id, n] : nodes_) {
      if (n.raft && chance(options_.crash)) {
        crash(id);
      } else if (!n.raft && chance(options_.restart)) {
        start(id);
      } else if (running(n) && chance(options_.pause)) {
        n.paused_until = now_ + 1 + static_cast<int>(rng_() % options_.max_pause_steps);
      }
    }
    maybe_partition();
  }
  for (auto& [id, n] : nodes_) {
    if (running(n)) n.raft->tick();
  }
  deliver_due();
  client_propose();
  client_read();
  if (faults_) operator_actions();
  for (auto& [id, n] : nodes_) {
    if (!faults_ || chance(options_.process_ready)) process_ready(id);
    maybe_compact(id);
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
    n.paused_until = 0;
  }
  size_t reads_before_heal = reads_served_;
  bool settled = false;
  for (int i = 0; i < options_.heal_steps && !violation_; ++i) {
    step_once();
    settled = wanted_.empty() && leader() != 0 && reads_served_ > reads_before_heal && converged();
    if (settled) break;
  }
  if (!violation_ && leader() == 0)
    fail("no leader " + std::to_string(options_.heal_steps) + " steps after the network healed");
  if (!violation_ && reads_served_ == reads_before_heal) {
    fail("no read served " + std::to_string(options_.heal_steps) + " steps after healing");
  }
  if (!violation_ && !wanted_.empty()) {
    fail(std::to_string(wanted_.size()) + " commands (e.g. " + *wanted_.begin() + ") not applied " +
         std::to_string(options_.heal_steps) + " steps after healing");
  }
  if (!violation_ && !settled) {
    fail("the voters did not converge on the leader's applied state " +
         std::to_string(options_.heal_steps) + " steps after healing");
  }
  // A healthy leader stays: nothing may depose it, not even a follower cut
  // off for a while that comes back (its elections must not disturb the
  // others, who still hear the leader).
  NodeId l = leader();
  uint64_t term = l ? nodes_[l].raft->term() : 0;
  std::vector<NodeId> followers;
  if (l != 0) {
    for (NodeId v : nodes_[l].raft->membership().voters) {
      if (v != l) followers.push_back(v);
    }
  }
  NodeId cut = followers.size() >= 2 ? followers[rng_() % followers.size()] : 0;
  for (int i = 0; i < options_.stable_steps && !violation_; ++i) {
    if (cut != 0 && i == options_.stable_steps / 10) {
      for (NodeId other : all_ids()) {
        if (other == cut) continue;
        blocked_.insert({cut, other});
        blocked_.insert({other, cut});
      }
    }
    if (cut != 0 && i == options_.stable_steps / 2) blocked_.clear();
    step_once();
    size_t leaders = 0;
    for (const auto& [id, n] : nodes_) {
      if (n.raft && n.raft->role() == Role::kLeader) ++leaders;
    }
    if (leaders > 1) {
      fail(std::to_string(leaders) + " nodes believe they lead a healthy group");
      break;
    }
    for (const auto& [id, n] : nodes_) {
      if (n.raft && n.raft->term() > term) {
        fail("node " + std::to_string(id) + " moved to term " + std::to_string(n.raft->term()) +
             " although leader " + std::to_string(l) + " of term " + std::to_string(term) +
             " was healthy and connected");
        break;
      }
    }
    if (!violation_ && leader() != l) {
      fail("leader " + std::to_string(l) + " of term " + std::to_string(term) +
           " lost its leadership with nothing wrong");
    }
  }
  return violation_;
}

bool Simulation::converged() {
  NodeId l = leader();
  if (l == 0) return false;
  const Node& leader_node = nodes_[l];
  for (NodeId v : leader_node.raft->membership().voters) {
    const Node& n = nodes_[v];
    if (!n.raft || n.applied != leader_node.applied ||
        n.applied < leader_node.raft->commit_index() || n.state != leader_node.state) {
      return false;
    }
  }
  return true;
}

void Simulation::check_leader_has_quorum(NodeId id) {
  // Check-quorum, as a bound: a leader that cannot exchange messages with
  // a majority of its voters must stop leading soon, or clients of a cut-off
  // leader wait on it forever.
  Node& n = nodes_[id];
  const Raft& r = *n.raft;
  if (r.role() != Role::kLeader || !running(n)) {
    n.without_quorum_since = 0;
    return;
  }
  const Membership& m = r.membership();
  size_t reachable = 0;
  for (NodeId v : m.voters) {
    if (v == id || (running(nodes_[v]) && connected(id, v) && connected(v, id))) ++reachable;
  }
  if (reachable > m.voters.size() / 2) {
    n.without_quorum_since = 0;
    return;
  }
  if (n.without_quorum_since == 0) n.without_quorum_since = now_;
  if (now_ - n.without_quorum_since > options_.step_down_steps) {
    fail("leader " + std::to_string(id) + " of term " + std::to_string(r.term()) + " reaches " +
         std::to_string(reachable) + " of " + std::to_string(m.voters.size()) +
         " voters and has "
         "not stepped down in " +
         std::to_string(options_.step_down_steps) + " steps");
  }
}

// ---- the checker ----

void Simulation::fail(const std::string& what) {
  if (!violation_) violation_ = Violation{now_, what};
}

void Simulation::check_persisted(NodeId id, const std::vector<Entry>& appended) {
  // Log matching, by induction: two logs with an entry of the same index and
  // term hold the same command there and agree on the term before it.
  const Persisted& disk = nodes_[id].disk;
  for (const auto& e : appended) {
    uint64_t prev = e.index - 1;
    uint64_t prev_term = prev == disk.snapshot.meta.index
                             ? disk.snapshot.meta.term
                             : disk.entries[prev - disk.snapshot.meta.index - 1].term;
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
  const Raft& r = *n.raft;
  uint64_t commit = std::min(r.commit_index(), r.last_index());
  // Below the first index the log is compacted: restore() checks snapshots.
  for (uint64_t i = std::max(n.checked_commit + 1, r.first_index()); i <= commit; ++i) {
    const Entry& e = r.entries()[i - r.first_index()];
    auto [it, fresh] = committed_.try_emplace(i, e);
    if (!fresh && !(it->second == e)) {
      fail("committed entry changed: node " + std::to_string(id) + " commits " + describe(e) +
           " at index " + std::to_string(i) + ", earlier " + describe(it->second));
    }
    // A node learns of a commit in its current term or after the term it
    // happened in, so the smallest term seen bounds that term from above.
    auto [ct, first] = commit_term_.try_emplace(i, r.term());
    if (!first) ct->second = std::min(ct->second, r.term());
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
    n.state.emplace_back(e.index, e.data);
    acked_index_ = std::max(acked_index_, e.index);
  } else if (e.type == static_cast<uint8_t>(EntryType::kConfChange)) {
    conf_changes_.insert(e.index);
  }
}

void Simulation::check_step() {
  for (auto& [id, n] : nodes_) {
    if (!n.raft) continue;
    const Raft& r = *n.raft;
    record_commits(id);
    check_leader_has_quorum(id);
    if (r.role() != Role::kLeader) continue;
    if (pending_transfer_.first == id && r.term() > pending_transfer_.second) {
      ++transfers_;
      pending_transfer_ = {0, 0};
    }
    // Election safety: one leader per term.
    auto [lt, fresh] = leader_of_term_.try_emplace(r.term(), id);
    if (!fresh && lt->second != id) {
      fail("two leaders in term " + std::to_string(r.term()) + ": nodes " +
           std::to_string(lt->second) + " and " + std::to_string(id));
    }
    // Leader completeness: a leader holds every entry committed in an
    // earlier term. (A leader of an old term may still be elected late, by
    // votes that were delayed, and owes nothing committed after it.)
    if (n.leader_checked_term != r.term()) {
      n.leader_checked_term = r.term();
      for (const auto& [index, e] : committed_) {
        if (commit_term_[index] >= r.term()) continue;
        if (index < r.first_index()) {
          if (index == r.snapshot_meta().index && r.snapshot_meta().term != e.term) {
            fail("leader completeness: node " + std::to_string(id) + "'s snapshot ends in term " +
                 std::to_string(r.snapshot_meta().term) + ", committed entry " + describe(e));
          }
          continue;
        }
        if (index > r.last_index() || !(r.entries()[index - r.first_index()] == e)) {
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
