// Worker liveness and chunk placement on the master.
#include <gtest/gtest.h>

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
    registry_.on_heartbeat(Heartbeat{id, "tcp://127.0.0.1:1", capacity, used, 0, 1, {}}, t0_ + at);
  }
};

TEST_F(PlacementTest, PicksTheWorkerWithMostFreeSpace) {
  beat("w1", 1000000, 900000);
  beat("w2", 1000000, 100000);
  auto p = registry_.place(1000, 1, {}, t0_);
  ASSERT_TRUE(p.is_ok());
  EXPECT_EQ(p.value()[0].id, "w2");
}

TEST_F(PlacementTest, SpreadsParallelAllocationsBeforeHeartbeatsCatchUp) {
  beat("w1", 100 << 20, 0);
  beat("w2", 100 << 20, 0);
  auto a = registry_.place(40 << 20, 1, {}, t0_);
  auto b = registry_.place(40 << 20, 1, {}, t0_);
  ASSERT_TRUE(a.is_ok() && b.is_ok());
  EXPECT_NE(a.value()[0].id, b.value()[0].id);
}

TEST_F(PlacementTest, PendingPlacementsExpireOnceHeartbeatsCatchUpOrAreReleased) {
  beat("w1", 100 << 20, 0);
  ASSERT_TRUE(registry_.place(60 << 20, 1, {}, t0_ + 1ms).is_ok());
  EXPECT_EQ(registry_.place(60 << 20, 1, {}, t0_ + 2ms).status().code(), Code::kDiskFull);
  registry_.release("w1", 60 << 20);
  ASSERT_TRUE(registry_.place(60 << 20, 1, {}, t0_ + 3ms).is_ok());
  // Two heartbeats later the worker's own report is what counts.
  beat("w1", 100 << 20, 0, 100ms);
  beat("w1", 100 << 20, 0, 200ms);
  EXPECT_TRUE(registry_.place(60 << 20, 1, {}, t0_ + 201ms).is_ok());
}

TEST_F(PlacementTest, NeverTwoReplicasOnOneWorker) {
  beat("w1", 1 << 30, 0);
  beat("w2", 1 << 30, 0);
  beat("w3", 1 << 30, 0);
  auto p = registry_.place(1000, 3, {}, t0_);
  ASSERT_TRUE(p.is_ok());
  std::set<std::string> ids;
  for (auto& w : p.value()) ids.insert(w.id);
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_EQ(registry_.place(1000, 4, {}, t0_).status().code(), Code::kUnavailable);
}

TEST_F(PlacementTest, ExcludedWorkersAreSkipped) {
  beat("w1", 1 << 30, 0);
  beat("w2", 1 << 29, 0);
  auto p = registry_.place(1000, 1, {"w1"}, t0_);
  ASSERT_TRUE(p.is_ok());
  EXPECT_EQ(p.value()[0].id, "w2");
}

TEST_F(PlacementTest, FullClusterIsDiskFullWithAClearMessage) {
  beat("w1", 10000, 9000);
  auto p = registry_.place(5000, 1, {}, t0_);
  EXPECT_EQ(p.status().code(), Code::kDiskFull);
  EXPECT_NE(p.status().message().find("room"), std::string::npos);
}

TEST_F(PlacementTest, NoWorkersIsUnavailable) {
  EXPECT_EQ(registry_.place(1, 1, {}, t0_).status().code(), Code::kUnavailable);
}

TEST_F(PlacementTest, SilentWorkersBecomeSuspectThenDeadAndComeBack) {
  beat("w1", 1 << 30, 0);
  EXPECT_TRUE(registry_.tick(t0_ + 1000ms).empty());
  auto changes = registry_.tick(t0_ + 3500ms);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0], std::make_pair(std::string("worker.suspect"), std::string("w1")));
  EXPECT_EQ(registry_.place(1, 1, {}, t0_ + 3500ms).status().code(), Code::kUnavailable);
  changes = registry_.tick(t0_ + 10500ms);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].first, "worker.dead");
  beat("w1", 1 << 30, 0, 11000ms);
  EXPECT_TRUE(registry_.is_live("w1"));
  EXPECT_TRUE(registry_.place(1, 1, {}, t0_ + 11000ms).is_ok());
}

}  // namespace
}  // namespace dfs
