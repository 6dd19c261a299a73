// SlotLeases: which kept slot a small file gets, when a new lease is asked
// for, and which slots are dropped.
#include "client/slot_leases.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

namespace dfs {
namespace {

using namespace std::chrono_literals;

WorkerAddr worker(const std::string& id) { return WorkerAddr{id, "tcp://h:" + id, "", ""}; }

// A master that leases `count` slots on w1, w2 (or `pipeline`), counting leases.
struct FakeMaster {
  std::atomic<int> leases{0};
  std::vector<WorkerAddr> pipeline{worker("w1"), worker("w2")};
  Status fail;
  SlotLeases::Fetch fetch() {
    return [this](const SlotLeases::Kind& kind, uint32_t count) -> Result<CreateUploadReply> {
      if (!fail.is_ok()) return fail;
      int n = ++leases;
      CreateUploadReply reply;
      reply.upload_id = std::string(31, '0') + std::to_string(n);
      reply.chunk_size = kind.chunk_size;
      for (uint32_t i = 0; i < count; ++i) {
        reply.slots.push_back(
            AllocateChunkReply{std::to_string(n) + "-" + std::to_string(i), pipeline, {}});
      }
      return reply;
    };
  }
};

const SlotLeases::Kind kSmall{64 << 10, 0, 0, 0};

TEST(SlotLeasesTest, SlotBytesArePowersOfTwoBetweenTheBounds) {
  EXPECT_EQ(SlotLeases::slot_bytes_for(1), SlotLeases::kMinSlotBytes);
  EXPECT_EQ(SlotLeases::slot_bytes_for(64 << 10), 64u << 10);
  EXPECT_EQ(SlotLeases::slot_bytes_for((64 << 10) + 1), 128u << 10);
  EXPECT_EQ(SlotLeases::slot_bytes_for(SlotLeases::kMaxSlotBytes), SlotLeases::kMaxSlotBytes);
}

TEST(SlotLeasesTest, OneLeaseServesManyFilesEachSlotOnce) {
  SlotLeases leases;
  FakeMaster master;
  std::set<std::string> seen;
  for (uint32_t i = 0; i < SlotLeases::kSlotsPerLease; ++i) {
    auto slot = leases.take(kSmall, master.fetch());
    ASSERT_TRUE(slot.is_ok());
    EXPECT_TRUE(seen.insert(slot->chunk.chunk_id).second) << slot->chunk.chunk_id;
  }
  EXPECT_EQ(master.leases.load(), 1);
  EXPECT_EQ(leases.kept(), 0u);
  ASSERT_TRUE(leases.take(kSmall, master.fetch()).is_ok());
  EXPECT_EQ(master.leases.load(), 2);
}

TEST(SlotLeasesTest, OnlyASlotOfTheSameKindServes) {
  SlotLeases leases;
  FakeMaster master;
  ASSERT_TRUE(leases.take(kSmall, master.fetch()).is_ok());
  SlotLeases::Kind bigger = kSmall;
  bigger.slot_bytes = 1 << 20;
  SlotLeases::Kind more_copies = kSmall;
  more_copies.replication = 5;
  ASSERT_TRUE(leases.take(bigger, master.fetch()).is_ok());
  ASSERT_TRUE(leases.take(more_copies, master.fetch()).is_ok());
  EXPECT_EQ(master.leases.load(), 3);
  ASSERT_TRUE(leases.take(kSmall, master.fetch()).is_ok());
  EXPECT_EQ(master.leases.load(), 3);
}

TEST(SlotLeasesTest, StaleSlotsAreNeverHandedOut) {
  SlotLeases leases;
  FakeMaster master;
  const auto t0 = SlotLeases::Clock::now();
  ASSERT_TRUE(leases.take(kSmall, master.fetch(), t0).is_ok());
  ASSERT_TRUE(leases.take(kSmall, master.fetch(), t0 + SlotLeases::kMaxAge).is_ok());
  EXPECT_EQ(master.leases.load(), 1);
  auto late = leases.take(kSmall, master.fetch(), t0 + SlotLeases::kMaxAge + 1s);
  ASSERT_TRUE(late.is_ok());
  EXPECT_EQ(master.leases.load(), 2);
  EXPECT_EQ(late->lease_id.back(), '2');
}

TEST(SlotLeasesTest, AFailedWorkerOrAForgottenLeaseDropsItsSlots) {
  SlotLeases leases;
  FakeMaster master;
  ASSERT_TRUE(leases.take(kSmall, master.fetch()).is_ok());
  master.pipeline = {worker("w3")};
  SlotLeases::Kind other = kSmall;
  other.chunk_size = 1 << 26;
  auto on_w3 = leases.take(other, master.fetch());
  ASSERT_TRUE(on_w3.is_ok());
  const size_t per_lease = SlotLeases::kSlotsPerLease - 1;
  EXPECT_EQ(leases.kept(), 2 * per_lease);
  leases.forget_workers({worker("w2"), worker("w9")});
  EXPECT_EQ(leases.kept(), per_lease);  // w3's lease is untouched
  leases.forget_lease(on_w3->lease_id);
  EXPECT_EQ(leases.kept(), 0u);
}

TEST(SlotLeasesTest, AFailedLeaseIsTheTakersErrorAndNothingIsKept) {
  SlotLeases leases;
  FakeMaster master;
  master.fail = Status(Code::kUnavailable, "no workers");
  auto t0 = SlotLeases::Clock::now();
  auto slot = leases.take(kSmall, master.fetch(), t0);
  EXPECT_EQ(slot.status().code(), Code::kUnavailable);
  EXPECT_EQ(leases.kept(), 0u);
  master.fail = Status::ok();
  EXPECT_TRUE(leases.take(kSmall, master.fetch(), t0 + SlotLeases::kRefusedFor).is_ok());
  EXPECT_EQ(master.leases.load(), 1);  // the next take, once the refusal is old, asks again
}

TEST(SlotLeasesTest, ARefusedKindIsNotAskedForAgainForAWhile) {
  SlotLeases leases;
  FakeMaster master;
  int asked = 0;
  master.fail = invalid_argument("chunk size 65536 is smaller than a slot");
  auto counting = [&](const SlotLeases::Kind& kind, uint32_t count) {
    ++asked;
    return master.fetch()(kind, count);
  };
  auto t0 = SlotLeases::Clock::now();
  EXPECT_EQ(leases.take(kSmall, counting, t0).status().code(), Code::kInvalidArgument);
  // Every small file of that kind in the next while is told at once...
  auto again = leases.take(kSmall, counting, t0 + SlotLeases::kRefusedFor - 1s);
  EXPECT_EQ(again.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(again.status().message(), "chunk size 65536 is smaller than a slot");
  EXPECT_EQ(asked, 1);
  // ...while another kind still asks.
  const SlotLeases::Kind bigger{128 << 10, 0, 0, 0};
  master.fail = Status::ok();
  EXPECT_TRUE(leases.take(bigger, counting, t0 + 1s).is_ok());
  EXPECT_EQ(asked, 2);
}

TEST(SlotLeasesTest, ThreadsThatFindNoSlotShareOneLease) {
  SlotLeases leases;
  FakeMaster master;
  std::atomic<bool> release{false};
  std::atomic<int> waiting{0};
  // The first lease is held back until every thread has asked.
  auto slow = [&](const SlotLeases::Kind& kind, uint32_t count) {
    while (!release.load()) std::this_thread::yield();
    return master.fetch()(kind, count);
  };
  constexpr int kThreads = 8;
  std::vector<std::thread> threads;
  std::vector<std::string> got(kThreads);
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      ++waiting;
      auto slot = leases.take(kSmall, slow, SlotLeases::Clock::now(), 60s);
      if (slot.is_ok()) got[i] = slot->chunk.chunk_id;
    });
  }
  while (waiting.load() < kThreads) std::this_thread::yield();
  release = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(master.leases.load(), 1);
  std::set<std::string> distinct(got.begin(), got.end());
  EXPECT_EQ(distinct.size(), static_cast<size_t>(kThreads));
  EXPECT_EQ(distinct.count(""), 0u);
}

}  // namespace
}  // namespace dfs
