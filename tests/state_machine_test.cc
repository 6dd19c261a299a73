// The state machine as replicas see it: one log applied to two stores gives
// the same state and the same answers; every rule is decided at apply time.
#include <gtest/gtest.h>

#include <random>

#include "master/namespace.h"
#include "tests/test_util.h"

namespace dfs {
namespace {

std::string hex_id(std::mt19937_64& rng) {
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(rng()));
  return buf;
}

// A seeded log of mixed commands: directories, uploads with allocations and
// commits (some refused), renames, deletes, orphan collection, corrupt
// replicas, expiry, and client retries (repeated sessions).
std::vector<std::string> random_log(uint64_t seed, size_t n) {
  std::mt19937_64 rng(seed);
  std::vector<std::string> log;
  std::vector<std::string> uploads, chunks;
  struct Allocated {
    std::string upload, chunk;
    uint64_t size;
  };
  std::vector<Allocated> allocated;
  auto path = [&] { return "/d" + std::to_string(rng() % 4) + "/f" + std::to_string(rng() % 6); };
  auto pick = [&](const std::vector<std::string>& v) {
    return v.empty() ? std::string(32, 'a') : v[rng() % v.size()];
  };
  // Mostly a chunk allocated to an upload, at its size; sometimes not.
  auto pick_allocated = [&]() -> Allocated {
    if (allocated.empty()) return {pick(uploads), pick(chunks), 100};
    Allocated a = allocated[rng() % allocated.size()];
    if (rng() % 4 == 0) ++a.size;
    return a;
  };
  int64_t t = 1000;
  uint64_t seq = 0;
  Command last;
  for (int d = 0; d < 4; ++d) {
    log.push_back(encode(make_command(MkdirCmd{"/d" + std::to_string(d), true, t}, t)));
  }
  for (size_t i = 0; i < n; ++i) {
    t += static_cast<int64_t>(rng() % 50);
    RequestSession session{1 + rng() % 3, ++seq};
    Command c;
    switch (rng() % 14) {
      case 0:
        c = make_command(MkdirCmd{"/d" + std::to_string(rng() % 4), rng() % 2 == 0, t}, t, session);
        break;
      case 1: {
        std::string id = hex_id(rng);
        uploads.push_back(id);
        c = make_command(CreateUploadCmd{id, path(), 1 << 20, 2, 1, rng() % 2 == 0, 20}, t,
                         session);
        break;
      }
      case 2: {
        std::string id = hex_id(rng);
        std::string upload = pick(uploads);
        uint64_t size = 100 + rng() % 1000;
        chunks.push_back(id);
        allocated.push_back({upload, id, size});
        std::vector<WorkerAddr> pipeline{{"w1", "tcp://a:1", ""}, {"w2", "tcp://a:2", ""}};
        c = make_command(AllocateChunkCmd{upload, id, size, pipeline}, t, session);
        break;
      }
      case 3: {
        Allocated a = pick_allocated();
        ChunkInfo chunk{0, a.chunk, a.size, std::string(64, 'b'), {"w1", "w2"}, {}};
        c = make_command(CommitUploadCmd{a.upload, a.size, {chunk}}, t, session);
        break;
      }
      case 4:
        c = make_command(RenameCmd{path(), path(), t}, t, session);
        break;
      case 5:
        c = make_command(
            DeleteCmd{rng() % 3 == 0 ? "/d" + std::to_string(rng() % 4) : path(), rng() % 2 == 0},
            t, session);
        break;
      case 6:
        c = make_command(CollectOrphansCmd{"w" + std::to_string(1 + rng() % 2), {pick(chunks)}}, t);
        break;
      case 7:
        c = make_command(MarkReplicaBadCmd{pick(chunks), "w2", "", "bad"}, t, session);
        break;
      case 8:
        c = make_command(ExpireCmd{3000, 4000}, t);
        break;
      case 9:  // /dN's inode is 2 + N
        c = make_command(ReplicaAddedCmd{2 + rng() % 4,
                                         "f" + std::to_string(rng() % 6),
                                         pick(chunks),
                                         {"w" + std::to_string(1 + rng() % 4)}},
                         t);
        break;
      case 10:
        c = make_command(ReplicaDroppedCmd{2 + rng() % 4, "f" + std::to_string(rng() % 6),
                                           pick(chunks), "w" + std::to_string(1 + rng() % 4), "x"},
                         t);
        break;
      case 11: {
        // A chunk marked written, mostly at index 0 (so that a commit of
        // the marks may succeed), sometimes of the wrong size.
        Allocated a = pick_allocated();
        ChunkInfo chunk{rng() % 3 == 0 ? 1u : 0u, a.chunk,      a.size,
                        std::string(64, 'c'),     {"w1", "w2"}, {}};
        c = make_command(ChunkWrittenCmd{a.upload, chunk}, t, session);
        break;
      }
      case 12: {  // a commit of whatever is marked written
        Allocated a = pick_allocated();
        c = make_command(CommitUploadCmd{a.upload, a.size, {}}, t, session);
        break;
      }
      default:
        if (last.session.client == 0) continue;
        c = last;  // a client's retry of its previous request
        c.time_ms = t;
        break;
    }
    if (c.session.client != 0) last = c;
    log.push_back(encode(c));
  }
  return log;
}

struct Replica {
  test::TempDir dir;
  std::unique_ptr<Namespace> ns = std::move(Namespace::open(dir.path())).value();
  std::vector<std::string> answers;  // code, message and reply of every entry

  void apply(const std::vector<std::string>& log) {
    for (const auto& data : log) {
      Outcome out = ns->apply_entry(ns->applied_index() + 1, data);
      answers.push_back(out.status.to_string() + "|" + out.reply_body);
    }
  }
};

TEST(StateMachineTest, OneLogAppliedOnTwoReplicasGivesTheSameStateAndAnswers) {
  uint64_t files = 0, garbage = 0;
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    auto log = random_log(seed, 400);
    Replica a, b;
    a.apply(log);
    b.apply(log);
    EXPECT_EQ(a.ns->digest(), b.ns->digest()) << "seed " << seed;
    EXPECT_EQ(a.answers, b.answers) << "seed " << seed;
    files += a.ns->file_count();
    garbage += a.ns->garbage_count();
  }
  // The logs exercise what they should: files committed, chunks collected.
  EXPECT_GT(files, 0u);
  EXPECT_GT(garbage, 0u);
}

TEST(StateMachineTest, AReplicaRestartedHalfwayEndsWhereAnUninterruptedOneDoes) {
  auto log = random_log(11, 400);
  Replica whole, restarted;
  whole.apply(log);
  std::vector<std::string> first(log.begin(), log.begin() + 200),
      rest(log.begin() + 200, log.end());
  restarted.apply(first);
  restarted.ns.reset();
  restarted.ns = std::move(Namespace::open(restarted.dir.path())).value();
  restarted.apply(rest);
  EXPECT_EQ(whole.ns->digest(), restarted.ns->digest());
  EXPECT_EQ(whole.answers, restarted.answers);
  EXPECT_EQ(whole.ns->upload_count(), restarted.ns->upload_count());
  EXPECT_EQ(whole.ns->file_count(), restarted.ns->file_count());
}

TEST(StateMachineTest, TheDigestSeesADifferenceInOneEntry) {
  auto log = random_log(7, 200);
  auto other = log;
  other[50] = encode(make_command(MkdirCmd{"/only-here", false, 1}, 1));
  Replica a, b;
  a.apply(log);
  b.apply(other);
  EXPECT_NE(a.ns->digest(), b.ns->digest());
}

TEST(StateMachineTest, TheStateSurvivesReopening) {
  Replica a;
  a.apply(random_log(3, 200));
  std::string before = a.ns->digest();
  uint64_t index = a.ns->applied_index();
  a.ns.reset();
  a.ns = std::move(Namespace::open(a.dir.path())).value();
  EXPECT_EQ(a.ns->applied_index(), index);
  EXPECT_EQ(a.ns->digest(), before);
}

TEST(StateMachineTest, AnEntryThatIsNotACommandIsAnAnswerNotASkip) {
  Replica a;
  Outcome out = a.ns->apply_entry(1, "not msgpack at all");
  EXPECT_EQ(out.status.code(), Code::kProtocol);
  EXPECT_EQ(a.ns->applied_index(), 1u);
}

TEST(StateMachineDeathTest, ApplyingAnIndexTwiceStopsTheProcess) {
  Replica a;
  a.apply({encode(make_command(MkdirCmd{"/a", false, 1}, 1))});
  EXPECT_DEATH(a.ns->apply_entry(1, encode(make_command(MkdirCmd{"/b", false, 1}, 1))),
               "applied again");
}

// ---- orphans are decided in log order ----

class OrphanTest : public ::testing::Test {
 protected:
  Outcome apply(const Command& c) { return ns_->apply(ns_->applied_index() + 1, c); }
  void collect(const std::string& chunk) {
    ASSERT_TRUE(apply(make_command(CollectOrphansCmd{"w1", {chunk}}, 10)).status.is_ok());
  }
  bool garbage(const std::string& chunk) {
    auto g = ns_->garbage(100);
    auto& ids = g["w1"];
    return std::find(ids.begin(), ids.end(), chunk) != ids.end();
  }

  test::TempDir dir_;
  std::unique_ptr<Namespace> ns_ = std::move(Namespace::open(dir_.path())).value();
  const std::string upload_ = std::string(32, '1');
  const std::string chunk_ = std::string(32, 'c');
  const std::vector<WorkerAddr> pipeline_{{"w1", "tcp://h:1", ""}};
};

TEST_F(OrphanTest, AChunkAllocatedOrCommittedBeforeTheReportIsKept) {
  ASSERT_TRUE(apply(make_command(CreateUploadCmd{upload_, "/f", 1 << 20, 1, 1, false, 0}, 1))
                  .status.is_ok());
  ASSERT_TRUE(
      apply(make_command(AllocateChunkCmd{upload_, chunk_, 10, pipeline_}, 2)).status.is_ok());
  collect(chunk_);
  EXPECT_FALSE(garbage(chunk_));  // an upload in progress owns it
  ChunkInfo c{0, chunk_, 10, std::string(64, 'a'), {"w1"}, {}};
  ASSERT_TRUE(apply(make_command(CommitUploadCmd{upload_, 10, {c}}, 3)).status.is_ok());
  collect(chunk_);
  EXPECT_FALSE(garbage(chunk_));  // a file references it
  EXPECT_TRUE(ns_->lookup("/f").is_ok());
}

TEST_F(OrphanTest, AChunkOfAnAbortedUploadIsCollected) {
  ASSERT_TRUE(apply(make_command(CreateUploadCmd{upload_, "/f", 1 << 20, 1, 1, false, 0}, 1))
                  .status.is_ok());
  ASSERT_TRUE(
      apply(make_command(AllocateChunkCmd{upload_, chunk_, 10, pipeline_}, 2)).status.is_ok());
  Outcome aborted = apply(make_command(AbortUploadCmd{upload_}, 3));
  ASSERT_TRUE(aborted.status.is_ok());
  EXPECT_EQ(aborted.released.size(), 1u);  // the placement is free again
  EXPECT_TRUE(garbage(chunk_));            // the abort itself makes it garbage
  EXPECT_EQ(ns_->upload_count(), 0u);
}

TEST_F(OrphanTest, AnIdleUploadExpiresAtTheCommandsTimeOnEveryReplica) {
  ASSERT_TRUE(apply(make_command(CreateUploadCmd{upload_, "/f", 1 << 20, 1, 1, false, 0}, 1000))
                  .status.is_ok());
  ASSERT_TRUE(apply(make_command(ExpireCmd{500, 500}, 1400)).status.is_ok());
  EXPECT_TRUE(ns_->uploads().find(upload_).has_value());
  ASSERT_TRUE(apply(make_command(ExpireCmd{500, 500}, 1600)).status.is_ok());
  EXPECT_FALSE(ns_->uploads().find(upload_).has_value());
  EXPECT_EQ(ns_->upload_count(), 0u);
}

}  // namespace
}  // namespace dfs

namespace dfs {
namespace {

TEST(StateMachineTest, MemberRecordsAreReplicatedStateThatSurvivesARestart) {
  test::TempDir dir;
  auto ns = std::move(Namespace::open(dir.path())).value();
  auto add = make_command(MemberChangeCmd{"add", 4, "127.0.0.1:7412"}, 1);
  EXPECT_TRUE(ns->apply(1, add).status.is_ok());
  EXPECT_EQ(ns->apply(2, add).status.code(), Code::kAlreadyExists);
  EXPECT_TRUE(ns->apply(3, make_command(MemberChangeCmd{"remove", 4, ""}, 1)).status.is_ok());
  ns.reset();
  ns = std::move(Namespace::open(dir.path())).value();
  ASSERT_EQ(ns->members().size(), 1u);
  EXPECT_EQ(ns->members().at(4).wanted, "removed");
  EXPECT_EQ(ns->members().at(4).api, "127.0.0.1:7412");  // kept for a later re-add
  // Added again, it is wanted again.
  EXPECT_TRUE(ns->apply(4, add).status.is_ok());
  EXPECT_EQ(ns->members().at(4).wanted, "voter");
}

}  // namespace
}  // namespace dfs
