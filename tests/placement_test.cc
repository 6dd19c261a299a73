// Worker liveness and chunk placement on the master.
#include <gtest/gtest.h>

#include <set>

#include "master/worker_registry.h"

namespace dfs {
namespace {

using namespace std::chrono_literals;

class PlacementTest : public ::testing::Test {
 protected:
  WorkerRegistry::Clock::time_point t0_ = WorkerRegistry::Clock::now();
  WorkerRegistry registry_{WorkerRegistry::Options{3000ms, 10000ms}};

  void beat(const std::string& id, uint64_t capacity, uint64_t used,
            std::chrono::milliseconds at = 0ms) {
    registry_.on_heartbeat(
        Heartbeat{id, "tcp://127.0.0.1:1", "tcp://127.0.0.1:2", capacity, used, 0, 1, {}},
        t0_ + at);
  }
};

TEST_F(PlacementTest, PicksTheWorkerWithMostFreeSpace) {
  beat("w1", 1000000, 900000);
  beat("w2", 1000000, 100000);
  auto p = registry_.place(1000, 1, 1, {}, t0_);
  ASSERT_TRUE(p.is_ok());
  EXPECT_EQ(p.value()[0].id, "w2");
}

TEST_F(PlacementTest, AWorkerAClientFoundFailingGetsNoChunkUntilHeardFromAgain) {
  beat("w1", 1000000, 0);
  beat("w2", 1000000, 500000);
  registry_.note_failure("w1", t0_ + 100ms);
  auto p = registry_.place(1000, 1, 1, {}, t0_ + 200ms);
  ASSERT_TRUE(p.is_ok());
  EXPECT_EQ(p.value()[0].id, "w2");  // w1 has more room, but may be dead
  beat("w1", 1000000, 0, 1000ms);    // alive after all
  p = registry_.place(1000, 1, 1, {}, t0_ + 1100ms);
  ASSERT_TRUE(p.is_ok());
  EXPECT_EQ(p.value()[0].id, "w1");
}

TEST_F(PlacementTest, AWorkerFoundFailingIsTakenLastNotRefusedToEveryone) {
  beat("w1", 1 << 30, 0);
  beat("w2", 1 << 30, 1 << 20);
  beat("w3", 1 << 30, 1 << 20);
  beat("w4", 1 << 30, 1 << 20);
  registry_.note_failure("w1", t0_ + 100ms);
  // Three others have room: the doubted worker is passed over, although it
  // has the most room.
  auto p = registry_.place(1000, 3, 3, {}, t0_ + 200ms);
  ASSERT_TRUE(p.is_ok());
  for (const auto& w : p.value()) EXPECT_NE(w.id, "w1");
  // With one of them gone, R=3 needs it: another client's write goes on,
  // rather than every write failing until w1's next heartbeat.
  registry_.note_failure("w4", t0_ + 100ms);
  p = registry_.place(1000, 3, 3, {"w4"}, t0_ + 200ms);
  ASSERT_TRUE(p.is_ok()) << p.status().to_string();
  std::set<std::string> ids;
  for (const auto& w : p.value()) ids.insert(w.id);
  EXPECT_EQ(ids, (std::set<std::string>{"w1", "w2", "w3"}));
  for (int i = 0; i < 4; ++i) {  // the head rotates over the others
    p = registry_.place(1000, 3, 3, {"w4"}, t0_ + 200ms);
    ASSERT_TRUE(p.is_ok());
    EXPECT_NE(p.value().front().id, "w1");
    EXPECT_EQ(p.value().back().id, "w1");
  }
  // A client that accepts two replicas gets the two healthy workers only.
  p = registry_.place(1000, 3, 2, {"w4"}, t0_ + 200ms);
  ASSERT_TRUE(p.is_ok());
  ids.clear();
  for (const auto& w : p.value()) ids.insert(w.id);
  EXPECT_EQ(ids, (std::set<std::string>{"w2", "w3"}));
  // The client that names it excluded never gets it.
  EXPECT_EQ(registry_.place(1000, 3, 3, {"w1", "w4"}, t0_ + 200ms).status().code(),
            Code::kUnavailable);
}

TEST_F(PlacementTest, SpreadsParallelAllocationsBeforeHeartbeatsCatchUp) {
  beat("w1", 100 << 20, 0);
  beat("w2", 100 << 20, 0);
  auto a = registry_.place(40 << 20, 1, 1, {}, t0_);
  auto b = registry_.place(40 << 20, 1, 1, {}, t0_);
  ASSERT_TRUE(a.is_ok() && b.is_ok());
  EXPECT_NE(a.value()[0].id, b.value()[0].id);
}

TEST_F(PlacementTest, PendingPlacementsExpireOnceHeartbeatsCatchUpOrAreReleased) {
  beat("w1", 100 << 20, 0);
  ASSERT_TRUE(registry_.place(60 << 20, 1, 1, {}, t0_ + 1ms).is_ok());
  EXPECT_EQ(registry_.place(60 << 20, 1, 1, {}, t0_ + 2ms).status().code(), Code::kDiskFull);
  registry_.release("w1", 60 << 20);
  ASSERT_TRUE(registry_.place(60 << 20, 1, 1, {}, t0_ + 3ms).is_ok());
  // Two heartbeats later the worker's own report is what counts.
  beat("w1", 100 << 20, 0, 100ms);
  beat("w1", 100 << 20, 0, 200ms);
  EXPECT_TRUE(registry_.place(60 << 20, 1, 1, {}, t0_ + 201ms).is_ok());
}

TEST_F(PlacementTest, NeverTwoReplicasOnOneWorker) {
  beat("w1", 1 << 30, 0);
  beat("w2", 1 << 30, 0);
  beat("w3", 1 << 30, 0);
  auto p = registry_.place(1000, 3, 3, {}, t0_);
  ASSERT_TRUE(p.is_ok());
  std::set<std::string> ids;
  for (auto& w : p.value()) ids.insert(w.id);
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_EQ(registry_.place(1000, 4, 4, {}, t0_).status().code(), Code::kUnavailable);
}

TEST_F(PlacementTest, PipelinesTakeTheEmptiestWorkersAndRotateTheHead) {
  beat("w1", 1 << 30, 1 << 20);
  beat("w2", 1 << 30, 0);
  beat("w3", 1 << 30, 2 << 20);
  beat("w4", 1 << 30, 100 << 20);
  std::set<std::string> heads;
  for (int i = 0; i < 3; ++i) {
    auto p = registry_.place(1000, 3, 3, {}, t0_);
    ASSERT_TRUE(p.is_ok());
    ASSERT_EQ(p->size(), 3u);
    std::set<std::string> members;
    for (const auto& w : p.value()) {
      members.insert(w.id);
      EXPECT_EQ(w.pipeline, "tcp://127.0.0.1:2");
    }
    EXPECT_EQ(members, (std::set<std::string>{"w1", "w2", "w3"}));
    heads.insert((*p)[0].id);
  }
  EXPECT_EQ(heads.size(), 3u);
}

TEST_F(PlacementTest, AMinimumAcceptsAShorterPipelineButNoShorterThanIt) {
  beat("w1", 1 << 30, 0);
  beat("w2", 1 << 30, 0);
  auto p = registry_.place(1000, 3, 2, {}, t0_);
  ASSERT_TRUE(p.is_ok()) << p.status().to_string();
  EXPECT_EQ(p->size(), 2u);
  auto refused = registry_.place(1000, 3, 3, {}, t0_);
  EXPECT_EQ(refused.status().code(), Code::kUnavailable);
  EXPECT_NE(refused.status().message().find("needs 3 live workers"), std::string::npos)
      << refused.status().message();
  EXPECT_EQ(registry_.place(1000, 3, 2, {"w1"}, t0_).status().code(), Code::kUnavailable);
}

TEST_F(PlacementTest, ExcludedWorkersAreSkipped) {
  beat("w1", 1 << 30, 0);
  beat("w2", 1 << 29, 0);
  auto p = registry_.place(1000, 1, 1, {"w1"}, t0_);
  ASSERT_TRUE(p.is_ok());
  EXPECT_EQ(p.value()[0].id, "w2");
}

TEST_F(PlacementTest, FullClusterIsDiskFullWithAClearMessage) {
  beat("w1", 10000, 9000);
  auto p = registry_.place(5000, 1, 1, {}, t0_);
  EXPECT_EQ(p.status().code(), Code::kDiskFull);
  EXPECT_NE(p.status().message().find("room"), std::string::npos);
}

TEST_F(PlacementTest, NoWorkersIsUnavailable) {
  EXPECT_EQ(registry_.place(1, 1, 1, {}, t0_).status().code(), Code::kUnavailable);
}

TEST_F(PlacementTest, SilentWorkersBecomeSuspectThenDeadAndComeBack) {
  beat("w1", 1 << 30, 0);
  EXPECT_TRUE(registry_.tick(t0_ + 1000ms).empty());
  auto changes = registry_.tick(t0_ + 3500ms);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0], std::make_pair(std::string("worker.suspect"), std::string("w1")));
  EXPECT_EQ(registry_.place(1, 1, 1, {}, t0_ + 3500ms).status().code(), Code::kUnavailable);
  changes = registry_.tick(t0_ + 10500ms);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].first, "worker.dead");
  beat("w1", 1 << 30, 0, 11000ms);
  EXPECT_TRUE(registry_.is_live("w1"));
  EXPECT_TRUE(registry_.place(1, 1, 1, {}, t0_ + 11000ms).is_ok());
}

}  // namespace
}  // namespace dfs
