// Three masters' services on RaftLogs in one process (tests/raft_group.h):
// the driver rules that the sockets cannot show deterministically.
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/raft_group.h"

namespace dfs {
namespace {

using test::Clock;
using test::Group;

Result<OkReply> reply_of(std::vector<Envelope> replies) {
  if (replies.size() != 1)
    return Status(Code::kInternal, std::to_string(replies.size()) + " replies");
  return decode_reply<OkReply>(replies[0]);
}

TEST(RaftGroupTest, AMutationIsAnsweredOnceAMajorityHasItAndEveryReplicaAppliesIt) {
  Group g(3);
  ASSERT_TRUE(g.until([&] { return g.leader() != 0; }));
  int l = g.leader();
  g.send(l, MkdirRequest{"/a", false, {1, 1}}, 1);
  std::vector<Envelope> out;
  ASSERT_TRUE(g.until([&] {
    auto r = g.service(l).take_replies();
    out.insert(out.end(), std::make_move_iterator(r.begin()), std::make_move_iterator(r.end()));
    return !out.empty();
  }));
  EXPECT_TRUE(reply_of(std::move(out)).is_ok());
  ASSERT_TRUE(g.until([&] {
    for (int i = 1; i <= 3; ++i) {
      if (!g.service(i).names().lookup("/a").is_ok()) return false;
    }
    return true;
  }));
  EXPECT_EQ(g.service(1).names().digest(), g.service(2).names().digest());
  EXPECT_EQ(g.service(2).names().digest(), g.service(3).names().digest());
  // Followers send clients to the leader.
  int f = l % 3 + 1;
  g.send(f, MkdirRequest{"/b", false, {1, 2}}, 2);
  auto refused = g.service(f).take_replies();
  ASSERT_EQ(refused.size(), 1u);
  auto err = decode<ErrorReply>(refused[0].body);
  ASSERT_TRUE(err.is_ok());
  EXPECT_EQ(err->code, static_cast<uint16_t>(Code::kNotLeader));
  EXPECT_EQ(err->leader, "tcp://m" + std::to_string(l) + ":1");
}

TEST(RaftGroupTest, ACutOffLeaderAnswersNothingAsDoneAndTheRestElectAnother) {
  Group g(3);
  ASSERT_TRUE(g.until([&] { return g.leader() != 0; }));
  int old = g.leader();
  g.cut(old);
  g.send(old, MkdirRequest{"/lost", false, {1, 1}}, 1);
  ASSERT_TRUE(g.until([&] { return g.leader() != 0 && g.leader() != old; }));
  // The old leader steps down (check-quorum) and fails what waited there.
  std::vector<Envelope> out;
  ASSERT_TRUE(g.until([&] {
    auto r = g.service(old).take_replies();
    out.insert(out.end(), std::make_move_iterator(r.begin()), std::make_move_iterator(r.end()));
    return !out.empty();
  }));
  EXPECT_EQ(reply_of(std::move(out)).status().code(), Code::kNotLeader);
  EXPECT_FALSE(g.service(old).names().lookup("/lost").is_ok());
  g.heal();
  int l = g.leader();
  g.send(l, MkdirRequest{"/kept", false, {2, 1}}, 2);
  ASSERT_TRUE(g.until([&] { return g.service(old).names().lookup("/kept").is_ok(); }));
  EXPECT_FALSE(g.service(old).names().lookup("/lost").is_ok());  // its entry was replaced
}

TEST(RaftGroupTest, ARestartedMasterReplaysItsLogAndCatchesUp) {
  Group g(3);
  ASSERT_TRUE(g.until([&] { return g.leader() != 0; }));
  int l = g.leader();
  int f = l % 3 + 1;
  g.crash(f);
  for (uint64_t i = 1; i <= 20; ++i)
    g.send(l, MkdirRequest{"/d" + std::to_string(i), false, {3, i}}, i);
  ASSERT_TRUE(g.until([&] { return g.service(l).names().directory_count() == 20; }));
  g.start(f);
  // No new writes: the idle leader alone must bring it up to date (its
  // appends to the crashed node were all lost).
  ASSERT_TRUE(g.until([&] { return g.service(f).names().directory_count() == 20; }));
  EXPECT_EQ(g.service(f).names().digest(), g.service(l).names().digest());
}

// ---- snapshots ----

TEST(RaftGroupTest, AFollowerBehindACompactedLogIsSentTheSnapshotFilesAndInstallsThem) {
  Group g(3, {.snapshot_entries = 8, .piece_bytes = 4096});  // files go in many pieces
  ASSERT_TRUE(g.until([&] { return g.leader() != 0; }));
  int l = g.leader();
  int f = l % 3 + 1;
  g.crash(f);
  // A checkpoint after the first batch, compaction to it after the second.
  ASSERT_TRUE(g.mkdirs(1, 30));
  ASSERT_TRUE(g.mkdirs(31, 40));
  ASSERT_TRUE(
      g.until_within([&] { return g.log(l).core().first_index() > 1; }, std::chrono::seconds(20)))
      << "the leader never compacted its log";
  g.drop_file_replies(3);  // lost pieces are asked for again
  g.start(f);
  ASSERT_TRUE(g.until([&] { return g.service(f).names().directory_count() == 40; }, 2000));
  EXPECT_GT(g.log(f).core().snapshot_meta().index, 0u) << "caught up from entries, not a snapshot";
  EXPECT_EQ(g.service(f).names().digest(), g.service(l).names().digest());
  // It goes on from entries after the snapshot.
  g.drop_file_replies(0);
  ASSERT_TRUE(g.mkdirs(41, 45));
  ASSERT_TRUE(g.until([&] { return g.service(f).names().directory_count() == 45; }));
  EXPECT_EQ(g.service(f).names().digest(), g.service(l).names().digest());
}

TEST(RaftGroupTest, AWipedMasterRejoinsFromASnapshotAndThenCountsTowardAMajority) {
  Group g(3, {.snapshot_entries = 8});
  ASSERT_TRUE(g.until([&] { return g.leader() != 0; }));
  int l = g.leader();
  int f = l % 3 + 1;
  int other = 6 - l - f;  // the third of 1, 2, 3
  // A checkpoint after the first batch, compaction to it after the second.
  ASSERT_TRUE(g.mkdirs(1, 30));
  ASSERT_TRUE(g.mkdirs(31, 40));
  ASSERT_TRUE(
      g.until_within([&] { return g.log(l).core().first_index() > 1; }, std::chrono::seconds(20)));
  g.wipe(f);
  g.start(f, /*joining=*/true);
  ASSERT_TRUE(g.until([&] { return g.service(f).names().directory_count() == 40; }, 2000));
  EXPECT_GT(g.log(f).core().snapshot_meta().index, 0u);
  EXPECT_EQ(g.service(f).names().digest(), g.service(l).names().digest());
  // With the third master down, the leader commits only with the rejoined one.
  g.crash(other);
  ASSERT_TRUE(g.mkdirs(41, 45));
  ASSERT_TRUE(g.until([&] { return g.service(f).names().directory_count() == 45; }));
}

TEST(RaftGroupTest, AJoiningMasterWithNoLogNeitherVotesNorCampaigns) {
  Group g(3);
  ASSERT_TRUE(g.until([&] { return g.leader() != 0; }));
  int l = g.leader();
  int f = l % 3 + 1;
  ASSERT_TRUE(g.mkdirs(1, 3));
  g.wipe(f);
  g.crash(l);
  g.start(f, /*joining=*/true);
  // Only the intact follower and the empty joiner are up: were the joiner to
  // vote it could vote twice in a term it forgot. No leader may appear.
  EXPECT_FALSE(g.until([&] { return g.leader() != 0; }, 200));
  g.start(l);
  ASSERT_TRUE(g.until([&] { return g.leader() != 0; }));
  ASSERT_TRUE(g.until([&] { return g.service(f).names().directory_count() == 3; }));
}

TEST(RaftGroupTest, AMasterWhoseNamespaceIsBehindItsCompactedLogInstallsItsOwnSnapshot) {
  Group g(3, {.snapshot_entries = 8});
  ASSERT_TRUE(g.until([&] { return g.leader() != 0; }));
  int l = g.leader();
  int f = l % 3 + 1;
  ASSERT_TRUE(g.mkdirs(1, 30));
  ASSERT_TRUE(g.mkdirs(31, 40));
  ASSERT_TRUE(g.until_within(
      [&] {
        return g.log(f).core().first_index() > 1 && g.service(f).names().directory_count() == 40;
      },
      std::chrono::seconds(20)));
  // As if a crash interrupted installing a snapshot, or took unsynced
  // namespace writes behind the compacted log: the namespace is gone.
  g.crash(f);
  std::filesystem::remove_all(g.dir() / ("meta" + std::to_string(f)));
  g.start(f);
  EXPECT_GT(g.service(f).names().applied_index(), 0u);
  ASSERT_TRUE(g.until([&] { return g.service(f).names().directory_count() == 40; }));
  EXPECT_EQ(g.service(f).names().digest(), g.service(l).names().digest());
}

TEST(RaftGroupTest, EachMasterKnowsHowLongAgoItsStateWasLastCurrent) {
  Group g(3);
  ASSERT_TRUE(g.until([&] { return g.leader() != 0; }));
  int l = g.leader();
  int f = l % 3 + 1;
  // Known current since `t`.
  auto current_since = [&](int i, Clock::time_point t) {
    auto now = Clock::now();
    auto since = g.log(i).since_current(now);
    return since && now - *since > t;
  };
  auto start = Clock::now();
  ASSERT_TRUE(g.until([&] {
    for (int i = 1; i <= 3; ++i) {
      if (!current_since(i, start)) return false;
    }
    return true;
  }));

  // A follower cut off is current no more; the leader still hears from a
  // majority (itself and the other follower).
  g.cut(f);
  auto cut = Clock::now();
  ASSERT_TRUE(g.until([&] { return current_since(l, cut); }));
  EXPECT_FALSE(current_since(f, cut));
  g.heal();
  auto healed = Clock::now();
  ASSERT_TRUE(g.until([&] { return current_since(f, healed); }));

  // A follower whose own messages are lost still hears every heartbeat, but
  // cannot learn that its state is current.
  g.mute(f);
  auto muted = Clock::now();
  ASSERT_TRUE(g.until([&] { return current_since(l, muted); }));
  g.until([] { return false; }, 50);
  EXPECT_FALSE(current_since(f, muted));
  g.heal();
  healed = Clock::now();
  ASSERT_TRUE(g.until([&] { return current_since(f, healed); }));

  // A leader cut off has no majority: neither before it steps down nor after.
  g.cut(l);
  cut = Clock::now();
  ASSERT_TRUE(g.until([&] { return g.leader() != 0 && g.leader() != l; }));
  int next = g.leader();
  int other = 6 - l - next;
  ASSERT_TRUE(g.until([&] { return current_since(next, cut) && current_since(other, cut); }));
  EXPECT_FALSE(current_since(l, cut));
  // Stepped down, it still knows when it last had a majority.
  ASSERT_TRUE(g.until([&] { return !g.service(l).is_leader(); }));
  EXPECT_TRUE(current_since(l, healed));
}

}  // namespace
}  // namespace dfs

namespace dfs {
namespace {

TEST(RaftGroupTest, TransferToTheMasterThatLeadsSucceedsAndChangesNothing) {
  Group g(3);
  ASSERT_TRUE(g.until([&] { return g.leader() != 0; }));
  int l = g.leader();
  // What the operator asks for may already hold: a failover got there first.
  g.send(l, MemberChangeRequest{"transfer", static_cast<uint64_t>(l), "", {5, 1}}, 1);
  std::vector<Envelope> replies;
  ASSERT_TRUE(g.until([&] {
    for (auto& r : g.service(l).take_replies()) replies.push_back(std::move(r));
    return !replies.empty();
  }));
  auto rep = decode_reply<MemberChangeReply>(replies[0]);
  EXPECT_TRUE(rep.is_ok()) << rep.status().to_string();
  ASSERT_TRUE(g.mkdirs(1, 3));
  EXPECT_EQ(g.leader(), l);
}

}  // namespace
}  // namespace dfs
