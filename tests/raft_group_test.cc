// Three masters' services, each on a RaftLog over its own RocksDB log and
// namespace, in one process with a message queue for a network: the driver
// rules that the sockets cannot show deterministically.
#include <gtest/gtest.h>

#include <deque>
#include <filesystem>

#include "master/raft_log.h"
#include "tests/test_util.h"

namespace dfs {
namespace {

using Clock = std::chrono::steady_clock;

class Group {
 public:
  struct Options {
    uint64_t snapshot_entries = 0;  // 0: no snapshots
    uint64_t piece_bytes = 1u << 20;
  };
  explicit Group(int n) : Group(n, Options{}) {}
  Group(int n, Options options) : n_(n), options_(options) {
    for (int i = 1; i <= n; ++i) start(i);
  }

  void start(int i, bool joining = false) {
    Node& node = nodes_[i];
    std::string meta = dir_ / ("meta" + std::to_string(i));
    auto ns = Namespace::open(meta, false);
    ASSERT_TRUE(ns.is_ok()) << ns.status().to_string();
    std::unique_ptr<Namespace> names = std::move(ns).value();
    RaftLog::Options lo;
    lo.core.id = i;
    lo.core.joining = joining;
    for (int j = 1; j <= n_; ++j) {
      lo.core.voters.push_back(j);
      lo.apis[j] = "tcp://m" + std::to_string(j) + ":1";
    }
    lo.core.seed = 100 + i;
    lo.snapshot_entries = options_.snapshot_entries;
    lo.fetch.piece_bytes = options_.piece_bytes;
    lo.fetch.retry = std::chrono::milliseconds(1);  // rounds are fast: ask again soon
    auto log = RaftLog::open(lo, dir_ / ("raft" + std::to_string(i)), meta, &names);
    ASSERT_TRUE(log.is_ok()) << log.status().to_string();
    node.log = std::move(log).value();
    MasterOptions mo;
    mo.id = "m" + std::to_string(i);
    node.service = std::make_unique<MasterService>(mo, std::move(names), node.log.get());
    node.up = true;
  }
  void crash(int i) {
    nodes_[i].service.reset();
    nodes_[i].log.reset();
    nodes_[i].up = false;
  }
  // Loses node i's disk: its namespace, log and snapshots.
  void wipe(int i) {
    crash(i);
    std::filesystem::remove_all(dir_ / ("meta" + std::to_string(i)));
    std::filesystem::remove_all(dir_ / ("raft" + std::to_string(i)));
  }
  const test::TempDir& dir() const { return dir_; }

  // One round: every node ticks, then messages are delivered until none are
  // left (or a bound), each node pumping after what it received.
  void round() {
    for (auto& [id, node] : nodes_) {
      if (node.up) node.log->tick();
    }
    for (int hop = 0; hop < 50; ++hop) {
      for (auto& [id, node] : nodes_) {
        if (!node.up) continue;
        int from = id;
        node.log->pump(
            *node.service,
            [&](raft::NodeId to, Envelope&& env) {
              wire_.push_back({from, static_cast<int>(to), std::move(env)});
            },
            Clock::now());
      }
      if (wire_.empty()) break;
      auto batch = std::exchange(wire_, {});
      for (auto& [from, to, env] : batch) {
        auto it = nodes_.find(to);
        if (it == nodes_.end() || !it->second.up || cut_.count(to) || cut_.count(from)) continue;
        if (env.header.type == MsgType::kSnapshotFileReply && drop_file_replies_ &&
            ++file_replies_ % drop_file_replies_ == 0) {
          continue;
        }
        Status s = it->second.log->receive("m" + std::to_string(from), env, Clock::now());
        EXPECT_TRUE(s.is_ok()) << s.to_string();
      }
    }
  }
  // Runs rounds until `cond` holds; false after `limit` rounds.
  bool until(const std::function<bool()>& cond, int limit = 300) {
    for (int i = 0; i < limit; ++i) {
      if (cond()) return true;
      round();
    }
    return cond();
  }
  int leader() {
    for (auto& [id, node] : nodes_) {
      if (node.up && !cut_.count(id) && node.service->is_leader()) return id;
    }
    return 0;
  }
  MasterService& service(int i) { return *nodes_[i].service; }
  const RaftLog& log(int i) { return *nodes_[i].log; }
  void cut(int i) { cut_.insert(i); }
  void heal() { cut_.clear(); }
  // Drops every n-th snapshot file piece on the way (0: none).
  void drop_file_replies(int n) { drop_file_replies_ = n; }

  // Sends a request to node i and returns its replies after it was handled.
  template <typename Req>
  void send(int i, const Req& req, uint64_t id) {
    Envelope env = make_envelope(req, id);
    env.routing_id = "c";
    nodes_[i].service->handle(env, Clock::now());
  }
  // Makes directories /d<first>../d<last> through the leader and waits until it applied them.
  bool mkdirs(int first, int last) {
    int l = leader();
    if (l == 0) return false;
    for (int i = first; i <= last; ++i) {
      send(l, MkdirRequest{"/d" + std::to_string(i), false, {9, static_cast<uint64_t>(i)}},
           static_cast<uint64_t>(i));
    }
    return until([&] {
      (void)service(l).take_replies();
      return service(l).names().lookup("/d" + std::to_string(last)).is_ok();
    });
  }

 private:
  struct Node {
    std::unique_ptr<RaftLog> log;
    std::unique_ptr<MasterService> service;
    bool up = false;
  };
  struct InFlight {
    int from;
    int to;
    Envelope env;
  };
  int n_;
  Options options_;
  test::TempDir dir_;
  std::map<int, Node> nodes_;
  std::vector<InFlight> wire_;
  std::set<int> cut_;
  int drop_file_replies_ = 0;
  int file_replies_ = 0;
};

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
  ASSERT_TRUE(g.mkdirs(1, 40));
  ASSERT_TRUE(g.until([&] { return g.log(l).core().first_index() > 1; }))
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
  ASSERT_TRUE(g.until([&] { return g.log(l).core().first_index() > 1; }));
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
  ASSERT_TRUE(g.until([&] {
    return g.log(f).core().first_index() > 1 && g.service(f).names().directory_count() == 40;
  }));
  // As if a crash interrupted installing a snapshot, or took unsynced
  // namespace writes behind the compacted log: the namespace is gone.
  g.crash(f);
  std::filesystem::remove_all(g.dir() / ("meta" + std::to_string(f)));
  g.start(f);
  EXPECT_GT(g.service(f).names().applied_index(), 0u);
  ASSERT_TRUE(g.until([&] { return g.service(f).names().directory_count() == 40; }));
  EXPECT_EQ(g.service(f).names().digest(), g.service(l).names().digest());
}

}  // namespace
}  // namespace dfs
