// Repairs: the state machine's rules for adding and dropping replicas, the
// leader's replica map keeping in step with what applies, and the planner's
// choices (order, throttles, re-planning, surplus, grace) against a fake
// cluster.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "master/keys.h"
#include "master/namespace.h"
#include "master/repair_planner.h"
#include "master/replica_map.h"
#include "tests/test_util.h"

namespace dfs {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

const std::string kSha(64, 'a');

std::string chunk_id(int n) {
  char buf[33];
  std::snprintf(buf, sizeof buf, "%032x", n);
  return buf;
}

// ---- the state machine ----

class ReplicaCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(apply(make_command(MkdirCmd{"/d", false, 1}, 1)).status.is_ok());  // inode 2
    commit("/d/f", {chunk_id(1)}, {"w1", "w2"});
  }
  Outcome apply(const Command& c) { return ns_->apply(ns_->applied_index() + 1, c); }
  void commit(const std::string& path, const std::vector<std::string>& ids,
              const std::vector<std::string>& replicas, bool overwrite = false) {
    std::vector<ChunkInfo> chunks;
    for (size_t i = 0; i < ids.size(); ++i) chunks.push_back({i, ids[i], 10, kSha, replicas, {}});
    CommitFileCmd c{path, overwrite, 10 * ids.size(), 1 << 20, 3, chunks, 1};
    ASSERT_TRUE(apply(make_command(c, 1)).status.is_ok());
  }
  Status added(const std::string& name, const std::string& chunk, std::vector<std::string> workers,
               uint64_t parent = 2) {
    return apply(make_command(ReplicaAddedCmd{parent, name, chunk, std::move(workers)}, 1)).status;
  }
  Status dropped(const std::string& name, const std::string& chunk, const std::string& worker) {
    return apply(make_command(ReplicaDroppedCmd{2, name, chunk, worker, "test"}, 1)).status;
  }
  std::vector<std::string> replicas(const std::string& path) {
    auto inode = ns_->lookup(path);
    EXPECT_TRUE(inode.is_ok()) << inode.status().to_string();
    return inode.is_ok() ? inode->chunks.at(0).replicas : std::vector<std::string>{};
  }
  bool garbage(const std::string& worker, const std::string& chunk) {
    return ns_->garbage_pending(worker, chunk);
  }

  test::TempDir dir_;
  std::unique_ptr<Namespace> ns_ = std::move(Namespace::open(dir_.path())).value();
};

TEST_F(ReplicaCommandTest, ACopyCountsOnceRecordedAndARepeatedReportChangesNothing) {
  Outcome out = apply(make_command(ReplicaAddedCmd{2, "f", chunk_id(1), {"w3"}}, 1));
  ASSERT_TRUE(out.status.is_ok()) << out.status.to_string();
  ASSERT_TRUE(out.event.has_value());
  EXPECT_EQ(out.event->kind, "replica.added");
  EXPECT_EQ(replicas("/d/f"), (std::vector<std::string>{"w1", "w2", "w3"}));
  EXPECT_TRUE(added("f", chunk_id(1), {"w3", "w1"}).is_ok());
  EXPECT_EQ(replicas("/d/f"), (std::vector<std::string>{"w1", "w2", "w3"}));
}

TEST_F(ReplicaCommandTest, ARepairThatRacesADeleteOrAnOverwriteChangesNothing) {
  commit("/d/f", {chunk_id(2)}, {"w1"}, /*overwrite=*/true);
  EXPECT_EQ(added("f", chunk_id(1), {"w3"}).code(), Code::kNotFound);
  EXPECT_EQ(replicas("/d/f"), (std::vector<std::string>{"w1"}));
  ASSERT_TRUE(apply(make_command(DeleteCmd{"/d/f", false}, 1)).status.is_ok());
  EXPECT_EQ(added("f", chunk_id(2), {"w3"}).code(), Code::kNotFound);
  EXPECT_EQ(dropped("f", chunk_id(2), "w1").code(), Code::kNotFound);
  EXPECT_FALSE(ns_->lookup("/d/f").is_ok());
}

TEST_F(ReplicaCommandTest, TheEntryKeySurvivesADirectoryRenameButNotAFileRename) {
  ASSERT_TRUE(apply(make_command(RenameCmd{"/d", "/e", 1}, 1)).status.is_ok());
  EXPECT_TRUE(added("f", chunk_id(1), {"w3"}).is_ok());  // /d kept its inode
  EXPECT_EQ(replicas("/e/f").size(), 3u);
  ASSERT_TRUE(apply(make_command(RenameCmd{"/e/f", "/e/g", 1}, 1)).status.is_ok());
  EXPECT_EQ(added("f", chunk_id(1), {"w4"}).code(), Code::kNotFound);
  EXPECT_TRUE(added("g", chunk_id(1), {"w4"}).is_ok());
  EXPECT_EQ(replicas("/e/g").size(), 4u);
}

TEST_F(ReplicaCommandTest, TheLastGoodReplicaIsNeverDropped) {
  ASSERT_TRUE(dropped("f", chunk_id(1), "w1").is_ok());
  EXPECT_TRUE(garbage("w1", chunk_id(1)));  // the dropped copy is deleted from its worker
  EXPECT_EQ(replicas("/d/f"), (std::vector<std::string>{"w2"}));
  EXPECT_EQ(dropped("f", chunk_id(1), "w2").code(), Code::kInvalidArgument);
  EXPECT_EQ(replicas("/d/f"), (std::vector<std::string>{"w2"}));
  EXPECT_FALSE(garbage("w2", chunk_id(1)));
}

TEST_F(ReplicaCommandTest, ACorruptCopyMayGoButNotTheOnlyGoodOneBesideIt) {
  ASSERT_TRUE(
      apply(make_command(MarkReplicaBadCmd{chunk_id(1), "w2", "/d/f", "bad"}, 1)).status.is_ok());
  EXPECT_EQ(dropped("f", chunk_id(1), "w1").code(), Code::kInvalidArgument);  // w1 is the good one
  ASSERT_TRUE(dropped("f", chunk_id(1), "w2").is_ok());
  EXPECT_EQ(replicas("/d/f"), (std::vector<std::string>{"w1"}));
  Inode inode = ns_->lookup("/d/f").value();
  ns_->fill_corrupt(&inode);
  EXPECT_TRUE(inode.chunks[0].corrupt.empty());  // the record forgot the bad copy too
}

TEST_F(ReplicaCommandTest, ACopyWaitingToBeDeletedIsNotRecordedAgainUntilItIsGone) {
  ASSERT_TRUE(added("f", chunk_id(1), {"w3"}).is_ok());
  ASSERT_TRUE(dropped("f", chunk_id(1), "w1").is_ok());
  EXPECT_EQ(added("f", chunk_id(1), {"w1"}).code(), Code::kAlreadyExists);
  ASSERT_TRUE(apply(make_command(GcDoneCmd{"w1", {chunk_id(1)}}, 1)).status.is_ok());
  EXPECT_TRUE(added("f", chunk_id(1), {"w1"}).is_ok());
  EXPECT_EQ(replicas("/d/f"), (std::vector<std::string>{"w2", "w3", "w1"}));
}

TEST_F(ReplicaCommandTest, AStrayCopyThatNothingRecordsIsDeleted) {
  ASSERT_TRUE(dropped("f", chunk_id(1), "w9").is_ok());
  EXPECT_TRUE(garbage("w9", chunk_id(1)));
  EXPECT_EQ(replicas("/d/f"), (std::vector<std::string>{"w1", "w2"}));
}

TEST_F(ReplicaCommandTest, TheLeadersMarksAndStrayDropsApplyOnlyToWhatTheyNamed) {
  // A mark for a worker that is not a replica (a stale report) changes nothing.
  Outcome mark = apply(make_command(MarkReplicaBadCmd{chunk_id(1), "w9", "", "bad", 2, "f"}, 1));
  EXPECT_EQ(mark.status.code(), Code::kNotFound);
  // A stray drop that finds the worker recorded by now keeps the copy.
  EXPECT_EQ(apply(make_command(ReplicaDroppedCmd{2, "f", chunk_id(1), "w1", "stray", true}, 1))
                .status.code(),
            Code::kAlreadyExists);
  EXPECT_EQ(replicas("/d/f"), (std::vector<std::string>{"w1", "w2"}));
  EXPECT_FALSE(garbage("w1", chunk_id(1)));
}

TEST_F(ReplicaCommandTest, AStaleCorruptMarkDoesNotBlockAFreshCopy) {
  // An older reader's report left a mark for w3, which holds no recorded copy.
  ASSERT_TRUE(apply(make_command(MarkReplicaBadCmd{chunk_id(1), "w3", "", "old report"}, 1))
                  .status.is_ok());
  ASSERT_TRUE(added("f", chunk_id(1), {"w3"}).is_ok());
  EXPECT_EQ(replicas("/d/f"), (std::vector<std::string>{"w1", "w2", "w3"}));
  Inode inode = ns_->lookup("/d/f").value();
  ns_->fill_corrupt(&inode);
  EXPECT_TRUE(inode.chunks[0].corrupt.empty());
}

TEST_F(ReplicaCommandTest, ADrainFlagIsKeptAcrossAddressChangesAndRestarts) {
  Status unknown = apply(make_command(WorkerDrainCmd{"w7", true}, 1)).status;
  EXPECT_EQ(unknown.code(), Code::kNotFound);
  WorkerAddr w7{"w7", "tcp://127.0.0.1:1", "tcp://127.0.0.1:2"};
  ASSERT_TRUE(apply(make_command(RegisterWorkerCmd{w7}, 1)).status.is_ok());
  Outcome drain = apply(make_command(WorkerDrainCmd{"w7", true}, 1));
  ASSERT_TRUE(drain.status.is_ok()) << drain.status.to_string();
  ASSERT_TRUE(drain.event.has_value());
  EXPECT_EQ(drain.event->kind, "worker.draining");
  EXPECT_TRUE(ns_->is_draining("w7"));
  // A repeat changes nothing and announces nothing.
  EXPECT_FALSE(apply(make_command(WorkerDrainCmd{"w7", true}, 1)).event.has_value());
  // The worker moves: its new address keeps the flag.
  w7.endpoint = "tcp://127.0.0.1:3";
  ASSERT_TRUE(apply(make_command(RegisterWorkerCmd{w7}, 1)).status.is_ok());
  EXPECT_TRUE(ns_->is_draining("w7"));
  EXPECT_EQ(ns_->worker("w7")->endpoint, "tcp://127.0.0.1:3");
  // And so does a restart of the master.
  ns_.reset();
  ns_ = std::move(Namespace::open(dir_.path())).value();
  EXPECT_EQ(ns_->draining(), std::set<std::string>{"w7"});
  Outcome back = apply(make_command(WorkerDrainCmd{"w7", false}, 1));
  ASSERT_TRUE(back.event.has_value());
  EXPECT_EQ(back.event->kind, "worker.recommissioned");
  EXPECT_FALSE(ns_->is_draining("w7"));
}

// ---- the replica map ----

TEST_F(ReplicaCommandTest, TheMapFollowsEveryAppliedChange) {
  ReplicaMap map;
  ASSERT_TRUE(map.load_page(*ns_, 100).value());
  ns_->set_listener(&map);
  ASSERT_NE(map.find(chunk_id(1)), nullptr);
  EXPECT_EQ(map.chunks_on("w1"), std::vector<std::string>{chunk_id(1)});

  commit("/d/g", {chunk_id(2), chunk_id(3)}, {"w2", "w3"});
  EXPECT_EQ(map.count_on("w3"), 2u);
  ASSERT_TRUE(added("g", chunk_id(2), {"w4"}).is_ok());
  EXPECT_EQ(map.find(chunk_id(2))->replicas, (std::vector<std::string>{"w2", "w3", "w4"}));
  ASSERT_TRUE(
      apply(make_command(MarkReplicaBadCmd{chunk_id(3), "w2", "", "bad"}, 1)).status.is_ok());
  EXPECT_EQ(map.find(chunk_id(3))->corrupt, std::vector<std::string>{"w2"});

  ASSERT_TRUE(apply(make_command(RenameCmd{"/d/g", "/d/h", 1}, 1)).status.is_ok());
  ASSERT_NE(map.find(chunk_id(3)), nullptr);
  EXPECT_EQ(map.find(chunk_id(3))->entry, entry_key(2, "h"));
  EXPECT_EQ(map.find(chunk_id(3))->corrupt, std::vector<std::string>{"w2"});  // kept across it

  ASSERT_TRUE(apply(make_command(DeleteCmd{"/d", true}, 1)).status.is_ok());
  EXPECT_TRUE(map.chunks().empty());
  EXPECT_EQ(map.count_on("w2"), 0u);
  ns_->set_listener(nullptr);
}

TEST_F(ReplicaCommandTest, AMapLoadedPageByPageWhileChangesApplyEndsLikeOneKeptInStep) {
  for (int i = 0; i < 20; ++i) {
    commit("/d/x" + std::to_string(i), {chunk_id(100 + i)}, {"w1", "w2"});
  }
  ReplicaMap loading;
  ns_->set_listener(&loading);
  int i = 0;
  while (!loading.load_page(*ns_, 3).value()) {
    // Changes both before and after the walk's position.
    ASSERT_TRUE(added("x" + std::to_string(i % 20), chunk_id(100 + i % 20), {"w3"}).is_ok());
    ASSERT_TRUE(
        apply(make_command(DeleteCmd{"/d/x" + std::to_string(19 - i), false}, 1)).status.is_ok());
    ++i;
  }
  ns_->set_listener(nullptr);
  ReplicaMap fresh;
  ASSERT_TRUE(fresh.load_page(*ns_, 1000).value());
  ASSERT_EQ(loading.chunks().size(), fresh.chunks().size());
  for (const auto& [id, c] : fresh.chunks()) {
    const ReplicaMap::Chunk* l = loading.find(id);
    ASSERT_NE(l, nullptr) << id;
    EXPECT_EQ(l->replicas, c.replicas) << id;
    EXPECT_EQ(l->entry, c.entry) << id;
  }
  EXPECT_EQ(loading.count_on("w3"), fresh.count_on("w3"));
}

// ---- the planner ----

class FakeCluster : public RepairEnv {
 public:
  std::map<std::string, std::string> state;  // live, suspect, dead
  std::map<std::string, uint64_t> free;
  std::set<std::pair<std::string, std::string>> garbage;  // (worker, chunk)
  std::set<std::string> leaving;                          // draining workers
  uint64_t chunk_size = 1000;
  int next_id = 0;

  bool counts(const std::string& w) const override {
    auto it = state.find(w);
    return it != state.end() && it->second != "dead";
  }
  bool can_send(const std::string& w) const override {
    auto it = state.find(w);
    return it != state.end() && it->second == "live";
  }
  bool draining(const std::string& w) const override { return leaving.count(w) > 0; }
  Result<std::vector<WorkerAddr>> place(uint64_t, uint32_t count,
                                        const std::vector<std::string>& exclude) override {
    std::vector<std::string> fit;
    for (const auto& [w, s] : state) {
      if (s == "live" && !leaving.count(w) &&
          std::find(exclude.begin(), exclude.end(), w) == exclude.end()) {
        fit.push_back(w);
      }
    }
    if (fit.empty()) return Status(Code::kUnavailable, "no live worker fits");
    std::stable_sort(fit.begin(), fit.end(),
                     [&](const auto& a, const auto& b) { return free_bytes(a) > free_bytes(b); });
    std::vector<WorkerAddr> out;
    for (size_t i = 0; i < fit.size() && i < count; ++i) {
      out.push_back({fit[i], "tcp://" + fit[i] + ":1", "tcp://" + fit[i] + ":2"});
    }
    return out;
  }
  bool garbage_pending(const std::string& w, const std::string& chunk) const override {
    return garbage.count({w, chunk}) > 0;
  }
  std::optional<ChunkInfo> chunk_info(const std::string&, const std::string& chunk) const override {
    return ChunkInfo{0, chunk, chunk_size, kSha, {}, {}};
  }
  uint64_t free_bytes(const std::string& w) const override {
    auto it = free.find(w);
    return it == free.end() ? 0 : it->second;
  }
  std::vector<std::string> workers() const override {
    std::vector<std::string> out;
    for (const auto& [w, s] : state) out.push_back(w);
    return out;
  }
  std::string new_job_id() override {
    char buf[33];
    std::snprintf(buf, sizeof buf, "%032x", ++next_id);
    return buf;
  }
};

class PlannerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 1; i <= 6; ++i) {
      std::string w = "w" + std::to_string(i);
      cluster_.state[w] = "live";
      cluster_.free[w] = 1000000u * static_cast<uint64_t>(10 - i);  // w1 has the most room
    }
  }
  // Chunk `n` of its own file, recorded on `replicas`.
  void file(int n, std::vector<std::string> replicas, uint32_t replication = 3,
            std::vector<std::string> corrupt = {}) {
    Inode inode;
    inode.id = 100 + n;
    inode.replication = replication;
    inode.chunks = {ChunkInfo{0, chunk_id(n), 1000, kSha, std::move(replicas), {}}};
    map_.on_entry(entry_key(2, "f" + std::to_string(n)), &inode);
    if (!corrupt.empty()) {
      ChunkRecord record{std::move(corrupt)};
      map_.on_chunk_record(chunk_id(n), &record);
    }
  }
  RepairPlanner planner(RepairOptions options = {}) { return RepairPlanner(options, start_); }
  static std::vector<std::string> target_ids(const ReplicateChunkJob& j) {
    std::vector<std::string> out;
    for (const auto& t : j.targets) out.push_back(t.id);
    return out;
  }

  Clock::time_point start_ = Clock::time_point() + std::chrono::hours(1);
  FakeCluster cluster_;
  ReplicaMap map_;
};

TEST_F(PlannerTest, NoWorkerIsJudgedBeforeTheGraceEnds) {
  cluster_.state["w3"] = "dead";
  file(1, {"w1", "w2", "w3"});
  auto p = planner();
  EXPECT_TRUE(p.plan(start_ - milliseconds(1), map_, cluster_).empty());
  auto plan = p.plan(start_, map_, cluster_);
  ASSERT_EQ(plan.publish.size(), 1u);
  const ReplicateChunkJob& job = plan.publish[0];
  EXPECT_EQ(job.chunk_id, chunk_id(1));
  EXPECT_TRUE(job.source == "w1" || job.source == "w2");
  EXPECT_EQ(target_ids(job), std::vector<std::string>{"w4"});  // most room, not a holder
  EXPECT_EQ(job.sha256, kSha);
}

TEST_F(PlannerTest, ChunksDownToOneCopyAreCopiedBeforeChunksDownToTwo) {
  cluster_.state["w5"] = "dead";
  cluster_.state["w6"] = "dead";
  file(1, {"w1", "w2", "w5"});  // two good copies
  file(2, {"w3", "w5", "w6"});  // one good copy
  RepairOptions o;
  o.max_jobs = 1;
  auto p = planner(o);
  auto plan = p.plan(start_, map_, cluster_);
  ASSERT_EQ(plan.publish.size(), 1u);
  EXPECT_EQ(plan.publish[0].chunk_id, chunk_id(2));
  EXPECT_EQ(plan.publish[0].source, "w3");
  EXPECT_EQ(plan.publish[0].targets.size(), 2u);  // both missing copies in one pipeline
  EXPECT_EQ(p.stats().queued, 1u);
}

TEST_F(PlannerTest, CopiesPerWorkerAreThrottled) {
  for (int n = 1; n <= 5; ++n) file(n, {"w1", "w5", "w6"});
  cluster_.state["w5"] = "dead";
  cluster_.state["w6"] = "dead";
  RepairOptions o;
  o.copies_per_worker = 2;
  auto p = planner(o);
  auto plan = p.plan(start_, map_, cluster_);
  EXPECT_EQ(plan.publish.size(), 2u);  // w1 is the only source
  EXPECT_EQ(p.stats().running, 2u);
  EXPECT_EQ(p.stats().queued, 3u);
}

TEST_F(PlannerTest, TheClusterByteRateIsThrottled) {
  for (int n = 1; n <= 40; ++n) file(n, {"w" + std::to_string(1 + n % 3), "w5"});
  cluster_.state["w5"] = "dead";
  RepairOptions o;
  o.copies_per_worker = 100;
  o.bytes_per_second = 2000;  // two 1000-byte single-target copies a second
  auto p = planner(o);
  size_t started = 0;
  for (int ms = 0; ms <= 5000; ms += 100) {
    started += p.plan(start_ + milliseconds(ms), map_, cluster_).publish.size();
  }
  // Each chunk needs one copy of 1000 bytes... the first second's worth is
  // banked, then two a second: 2 + 2 * 5 = 12 at the most.
  EXPECT_GE(started, 10u);
  EXPECT_LE(started, 13u);
}

TEST_F(PlannerTest, AJobIsRepublishedUntilItsDeadlineThenPlannedElsewhere) {
  cluster_.state["w3"] = "dead";
  file(1, {"w1", "w2", "w3"});
  RepairOptions o;
  o.job_timeout_base = milliseconds(5000);
  auto p = planner(o);
  auto first = p.plan(start_, map_, cluster_);
  ASSERT_EQ(first.publish.size(), 1u);
  EXPECT_EQ(target_ids(first.publish[0]), std::vector<std::string>{"w4"});
  // The worker is told how long the leader waits, so it never starts a copy
  // given up on.
  EXPECT_EQ(first.publish[0].expires_in_ms, 5000u);  // 1000 bytes add nothing to the base
  auto again = p.plan(start_ + milliseconds(2100), map_, cluster_);
  ASSERT_EQ(again.publish.size(), 1u);
  EXPECT_EQ(again.publish[0].job_id, first.publish[0].job_id);  // the same job, sent again
  EXPECT_EQ(again.publish[0].expires_in_ms, 2900u);
  auto later = p.plan(start_ + milliseconds(6000), map_, cluster_);
  ASSERT_EQ(later.publish.size(), 1u);
  EXPECT_NE(later.publish[0].job_id, first.publish[0].job_id);
  EXPECT_EQ(target_ids(later.publish[0]), std::vector<std::string>{"w5"});  // w4 failed it
  EXPECT_EQ(p.stats().failed, 1u);
}

TEST_F(PlannerTest, AJobWhoseTargetDiesIsGivenUpAtOnce) {
  cluster_.state["w3"] = "dead";
  file(1, {"w1", "w2", "w3"});
  auto p = planner();
  auto first = p.plan(start_, map_, cluster_);
  ASSERT_EQ(first.publish.size(), 1u);
  cluster_.state["w4"] = "dead";
  auto next = p.plan(start_ + milliseconds(200), map_, cluster_);
  ASSERT_EQ(next.publish.size(), 1u);
  EXPECT_EQ(target_ids(next.publish[0]), std::vector<std::string>{"w5"});
}

TEST_F(PlannerTest, ADoneCopyIsRecordedOnceAndThenTheDeadCopyGoes) {
  cluster_.state["w3"] = "dead";
  file(1, {"w1", "w2", "w3"});
  auto p = planner();
  auto plan = p.plan(start_, map_, cluster_);
  ASSERT_EQ(plan.publish.size(), 1u);
  const ReplicateChunkJob job = plan.publish[0];
  std::string bad;
  auto added = p.on_done({job.job_id, job.source, job.chunk_id, {"w4"}, 0, "", ""}, map_,
                         start_ + milliseconds(300), &bad);
  ASSERT_TRUE(added.has_value());
  EXPECT_EQ(added->workers, std::vector<std::string>{"w4"});
  EXPECT_EQ(added->entry, entry_key(2, "f1"));
  // Until the map shows the new replica, the chunk gets nothing else.
  EXPECT_TRUE(p.plan(start_ + milliseconds(400), map_, cluster_).empty());
  file(1, {"w1", "w2", "w3", "w4"});  // ReplicaAddedCmd applied
  auto after = p.plan(start_ + milliseconds(500), map_, cluster_);
  EXPECT_TRUE(after.publish.empty());
  ASSERT_EQ(after.drops.size(), 1u);
  EXPECT_EQ(after.drops[0].worker, "w3");
  EXPECT_EQ(p.stats().copied, 1u);
}

TEST_F(PlannerTest, ASurplusCopyGoesFromTheFullestWorker) {
  file(1, {"w1", "w2", "w5", "w3"});
  auto p = planner();
  auto plan = p.plan(start_, map_, cluster_);
  ASSERT_EQ(plan.drops.size(), 1u);
  EXPECT_EQ(plan.drops[0].worker, "w5");  // least free of the four
  EXPECT_EQ(plan.drops[0].reason, "surplus");
  // One drop at a time: nothing more until the map shows it.
  EXPECT_TRUE(p.plan(start_ + milliseconds(100), map_, cluster_).empty());
}

TEST_F(PlannerTest, ARecordedChangeToOneChunkDoesNotReleaseAnotherOfTheSameFile) {
  // One file, two chunks, each one copy over its factor.
  Inode inode;
  inode.id = 100;
  inode.replication = 3;
  inode.chunks = {ChunkInfo{0, chunk_id(1), 1000, kSha, {"w1", "w2", "w3", "w4"}, {}},
                  ChunkInfo{1, chunk_id(2), 1000, kSha, {"w1", "w2", "w3", "w5"}, {}}};
  map_.on_entry(entry_key(2, "f"), &inode);
  auto p = planner();
  auto first = p.plan(start_, map_, cluster_);
  ASSERT_EQ(first.drops.size(), 2u);
  // Chunk 1's drop applies; chunk 2's is still in the log.
  inode.chunks[0].replicas = {"w1", "w2", "w3"};
  map_.on_entry(entry_key(2, "f"), &inode);
  cluster_.free["w1"] = 0;  // and w1 is now the fullest: a second plan would pick it
  auto next = p.plan(start_ + milliseconds(100), map_, cluster_);
  EXPECT_TRUE(next.drops.empty()) << "chunk 2 dropped twice: " << next.drops[0].worker;
}

TEST_F(PlannerTest, AReportOfAnEarlierLeadersJobStillCounts) {
  cluster_.state["w3"] = "dead";
  file(1, {"w1", "w2", "w3"});
  auto p = planner();
  std::string bad;
  auto added =
      p.on_done({std::string(32, 'f'), "w1", chunk_id(1), {"w6"}, 0, "", ""}, map_, start_, &bad);
  ASSERT_TRUE(added.has_value());
  EXPECT_EQ(added->workers, std::vector<std::string>{"w6"});
}

TEST_F(PlannerTest, ASourceWhoseCopyIsBadIsReported) {
  cluster_.state["w3"] = "dead";
  file(1, {"w1", "w2", "w3"});
  auto p = planner();
  auto job = p.plan(start_, map_, cluster_).publish.at(0);
  std::string bad;
  auto added = p.on_done({job.job_id,
                          job.source,
                          job.chunk_id,
                          {"w4"},
                          static_cast<uint16_t>(Code::kChecksumMismatch),
                          "bad",
                          job.source},
                         map_, start_ + milliseconds(100), &bad);
  EXPECT_FALSE(added.has_value());
  EXPECT_EQ(bad, job.source);
}

TEST_F(PlannerTest, ACorruptCopyIsDroppedWhenItsWorkerIsTheOnlyPlaceLeft) {
  for (const char* w : {"w4", "w5", "w6"}) cluster_.state.erase(w);
  file(1, {"w1", "w2", "w3"}, 3, {"w3"});
  auto p = planner();
  auto plan = p.plan(start_, map_, cluster_);
  EXPECT_TRUE(plan.publish.empty());
  ASSERT_EQ(plan.drops.size(), 1u);
  EXPECT_EQ(plan.drops[0].worker, "w3");
  // Once dropped and deleted there, w3 takes a good copy.
  file(1, {"w1", "w2"});
  auto next = p.plan(start_ + milliseconds(100), map_, cluster_);
  ASSERT_EQ(next.publish.size(), 1u);
  EXPECT_EQ(target_ids(next.publish[0]), std::vector<std::string>{"w3"});
}

TEST_F(PlannerTest, ACopyWaitingToBeDeletedOnAWorkerKeepsItFromBeingATarget) {
  cluster_.state["w3"] = "dead";
  file(1, {"w1", "w2", "w3"});
  cluster_.garbage.insert({"w4", chunk_id(1)});
  auto p = planner();
  auto plan = p.plan(start_, map_, cluster_);
  ASSERT_EQ(plan.publish.size(), 1u);
  EXPECT_EQ(target_ids(plan.publish[0]), std::vector<std::string>{"w5"});
}

TEST_F(PlannerTest, AChunkWithNoGoodCopyIsCountedLostAndNotCopied) {
  cluster_.state["w1"] = "dead";
  file(1, {"w1", "w2"}, 2, {"w2"});
  auto p = planner();
  EXPECT_TRUE(p.plan(start_, map_, cluster_).empty());
  EXPECT_EQ(p.stats().lost, 1u);
  cluster_.state["w1"] = "live";  // it comes back
  p.on_worker_change("w1", map_);
  p.plan(start_ + milliseconds(100), map_, cluster_);
  EXPECT_EQ(p.stats().lost, 0u);
}

TEST_F(PlannerTest, ADrainingWorkersCopyIsCopiedFromItThenDropped) {
  file(1, {"w2", "w3", "w1"});
  cluster_.leaving.insert("w1");
  auto p = planner();
  auto plan = p.plan(start_, map_, cluster_);
  ASSERT_EQ(plan.publish.size(), 1u);
  EXPECT_TRUE(plan.drops.empty());  // not before the copy exists
  const ReplicateChunkJob job = plan.publish[0];
  EXPECT_EQ(job.source, "w1");  // the draining worker serves nothing new
  EXPECT_EQ(target_ids(job), std::vector<std::string>{"w4"});  // w1 takes no new copy
  std::string bad;
  ASSERT_TRUE(p.on_done({job.job_id, job.source, job.chunk_id, {"w4"}, 0, "", ""}, map_,
                        start_ + milliseconds(100), &bad)
                  .has_value());
  file(1, {"w2", "w3", "w1", "w4"});  // ReplicaAddedCmd applied
  auto after = p.plan(start_ + milliseconds(200), map_, cluster_);
  ASSERT_EQ(after.drops.size(), 1u);
  EXPECT_EQ(after.drops[0].worker, "w1");
  EXPECT_EQ(after.drops[0].reason, "worker draining; copied elsewhere");
}

TEST_F(PlannerTest, AChunkOnlyOnDrainingWorkersIsNotLostAndItsCopyIsNeverDroppedWithoutRoom) {
  for (const char* w : {"w3", "w4", "w5", "w6"}) cluster_.state.erase(w);
  file(1, {"w1", "w2"}, 2);
  cluster_.leaving = {"w1", "w2"};
  auto p = planner();
  auto plan = p.plan(start_, map_, cluster_);
  EXPECT_TRUE(plan.empty());  // nowhere to copy to, and both copies stay
  EXPECT_EQ(p.stats().lost, 0u);
  EXPECT_EQ(p.stats().queued, 1u);
  cluster_.state["w3"] = "live";  // room appears
  cluster_.state["w4"] = "live";
  auto next = p.plan(start_ + milliseconds(100), map_, cluster_);
  ASSERT_EQ(next.publish.size(), 1u);
  EXPECT_EQ(next.publish[0].targets.size(), 2u);
}

TEST_F(PlannerTest, ARecommissionedWorkersCopiesCountAgain) {
  file(1, {"w1", "w2", "w3"});
  cluster_.leaving.insert("w1");
  auto p = planner();
  auto plan = p.plan(start_, map_, cluster_);
  ASSERT_EQ(plan.publish.size(), 1u);
  const ReplicateChunkJob job = plan.publish[0];
  // Back in service before the drain's copy is reported.
  cluster_.leaving.clear();
  p.on_worker_change("w1", map_);
  std::string bad;
  ASSERT_TRUE(p.on_done({job.job_id, job.source, job.chunk_id, {"w4"}, 0, "", ""}, map_,
                        start_ + milliseconds(100), &bad)
                  .has_value());
  file(1, {"w1", "w2", "w3", "w4"});
  auto after = p.plan(start_ + milliseconds(200), map_, cluster_);
  // w1 counts again: the extra copy is a surplus one, from the fullest worker.
  ASSERT_EQ(after.drops.size(), 1u);
  EXPECT_EQ(after.drops[0].reason, "surplus");
  EXPECT_EQ(after.drops[0].worker, "w4");
}

}  // namespace
}  // namespace dfs
