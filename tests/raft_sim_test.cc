// The Raft core under the deterministic simulator: many seeds of thousands
// of steps each, with loss, delay, duplication, reordering, partitions,
// crashes and restarts, every step checked against Raft's safety rules, and
// liveness checked once the network heals.
//
// A failing seed prints itself; DFS_RAFT_SEED=N (and DFS_RAFT_NODES=3|5)
// replays exactly that run. DFS_RAFT_SEEDS=N runs N seeds per shard (the
// soak target sets it high).
#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>

#include "tests/raft_sim.h"

namespace dfs::raft::sim {
namespace {

#ifdef DFS_SANITIZED
constexpr int kDefaultSeedsPerShard = 25;  // instrumented builds are ~10x slower
#else
constexpr int kDefaultSeedsPerShard = 250;
#endif
constexpr int kShards = 4;  // per cluster size: 2 sizes x 4 shards x 250 = 2000 seeds

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v ? std::atoi(v) : fallback;
}

// Runs `count` seeds starting at `first`; reports the first failure.
// `membership_heavy` makes membership changes and leadership transfers ten
// times as frequent.
void run_seeds(int nodes, uint64_t first, int count, bool membership_heavy = false) {
  for (uint64_t seed = first; seed < first + static_cast<uint64_t>(count); ++seed) {
    SimOptions o;
    o.nodes = nodes;
    o.seed = seed;
    if (membership_heavy) {
      o.conf_change *= 10;
      o.transfer *= 10;
    }
    auto v = Simulation(o).run();
    ASSERT_FALSE(v.has_value()) << "seed " << seed << " (" << nodes << " nodes) failed at step "
                                << v->step << ": " << v->what << "\nreplay: DFS_RAFT_SEED=" << seed
                                << " DFS_RAFT_NODES=" << nodes
                                << (membership_heavy ? " DFS_RAFT_HEAVY=1" : "")
                                << " build/bin/raft_test --gtest_filter='RaftSim.Replay'";
  }
}

class RaftSimShard : public ::testing::TestWithParam<std::tuple<int, int>> {};

TEST_P(RaftSimShard, SeedsKeepEveryInvariant) {
  auto [nodes, shard] = GetParam();
  int per_shard = env_int("DFS_RAFT_SEEDS", kDefaultSeedsPerShard);
  run_seeds(nodes, 1 + static_cast<uint64_t>(shard) * 1000000, per_shard);
}

INSTANTIATE_TEST_SUITE_P(Raft, RaftSimShard,
                         ::testing::Combine(::testing::Values(3, 5), ::testing::Range(0, kShards)));

// Membership changed back to back (adds, promotions, removals of the leader
// too), with partitions drawn over the new members as well.
class RaftSimMembershipShard : public ::testing::TestWithParam<int> {};

TEST_P(RaftSimMembershipShard, SeedsKeepEveryInvariant) {
  int per_shard = env_int("DFS_RAFT_SEEDS", kDefaultSeedsPerShard) / 2;
  run_seeds(GetParam(), 7000000 + static_cast<uint64_t>(GetParam()) * 1000000, per_shard,
            /*membership_heavy=*/true);
}

INSTANTIATE_TEST_SUITE_P(Raft, RaftSimMembershipShard, ::testing::Values(3, 5));

// Seeds that failed during development, kept as they are cheap: 91 and
// 2000098 (a node added later took entry 1's absence for an empty group and
// elected itself), 137 (one-entry-per-round-trip back-off outlasted the
// healing budget), 2000759 (with 5 nodes: a leader of an old term elected
// by long-delayed votes, which the checker once mistook for a completeness
// violation).
TEST(RaftSim, SeedsThatOnceFailed) {
  for (auto [nodes, seed] : std::vector<std::pair<int, uint64_t>>{
           {3, 91}, {5, 2000098}, {3, 137}, {5, 2000759}, {3, 1000181}, {5, 4}}) {
    run_seeds(nodes, seed, 1);
  }
}

TEST(RaftSim, Replay) {
  int seed = env_int("DFS_RAFT_SEED", 0);
  if (seed == 0) GTEST_SKIP() << "set DFS_RAFT_SEED to replay one run";
  run_seeds(env_int("DFS_RAFT_NODES", 3), static_cast<uint64_t>(seed), 1,
            env_int("DFS_RAFT_HEAVY", 0) != 0);
}

// The harshness is a property of the settings, not of one lucky draw: the
// figures are averaged over many seeds, so a change that only moves the
// random draw (a message more or less) cannot fail it.
TEST(RaftSim, RunsAreHarshAndStillMakeProgress) {
  constexpr int kRuns = 20;
  Simulation::Stats total;
  for (int i = 0; i < kRuns; ++i) {
    SimOptions o;
    o.nodes = 5;
    o.seed = 4242 + i;
    Simulation sim(o);
    auto failure = sim.run();
    ASSERT_FALSE(failure.has_value()) << "seed " << o.seed;
    auto st = sim.stats();
    total.crashes += st.crashes;
    total.partitions += st.partitions;
    total.leaders += st.leaders;
    total.commands += st.commands;
    total.committed += st.committed;
    total.reads += st.reads;
    total.snapshots_installed += st.snapshots_installed;
    total.transfers += st.transfers;
    total.conf_changes += st.conf_changes;
    total.late_deliveries += st.late_deliveries;
  }
  // Per run, on average:
  EXPECT_GE(total.crashes, 20u * kRuns);
  EXPECT_GE(total.partitions, 5u * kRuns);
  EXPECT_GE(total.leaders, 5u * kRuns);     // leadership changed hands repeatedly
  EXPECT_GE(total.commands, 200u * kRuns);  // and clients still got work done
  EXPECT_GE(total.committed, total.commands);
  EXPECT_GE(total.reads, 100u * kRuns);
  EXPECT_GE(total.snapshots_installed, 3u * kRuns);  // followers too far behind got the snapshot
  EXPECT_GE(total.transfers, 1u * kRuns);
  EXPECT_GE(total.conf_changes, 5u * kRuns);
  EXPECT_GE(total.late_deliveries, 50u * kRuns);  // held messages arriving after the fact
  std::cout << "over " << kRuns << " runs: leaders " << total.leaders << ", crashes "
            << total.crashes << ", partitions " << total.partitions << ", commands "
            << total.commands << ", committed " << total.committed << ", reads " << total.reads
            << ", snapshots installed " << total.snapshots_installed << ", transfers "
            << total.transfers << ", membership changes " << total.conf_changes
            << ", late deliveries " << total.late_deliveries << "\n";
}

TEST(RaftSim, TheSameSeedReplaysTheSameRun) {
  SimOptions o;
  o.seed = 77;
  o.steps = 500;
  Simulation a(o), b(o);
  for (int i = 0; i < 500; ++i) {
    a.step_once();
    b.step_once();
    ASSERT_EQ(a.leader(), b.leader()) << "diverged at step " << i;
  }
}

}  // namespace
}  // namespace dfs::raft::sim
