// Three masters' services, each on a RaftLog over its own RocksDB log and
// namespace, in one process with a message queue for a network: the driver
// rules that the sockets cannot show deterministically.
#include <gtest/gtest.h>

#include <deque>

#include "master/raft_log.h"
#include "tests/test_util.h"

namespace dfs {
namespace {

using Clock = std::chrono::steady_clock;

class Group {
 public:
  explicit Group(int n) : n_(n) {
    for (int i = 1; i <= n; ++i) start(i);
  }

  void start(int i) {
    Node& node = nodes_[i];
    auto ns = Namespace::open(dir_ / ("meta" + std::to_string(i)), false);
    RaftLog::Options lo;
    lo.core.id = i;
    for (int j = 1; j <= n_; ++j) {
      lo.core.voters.push_back(j);
      lo.apis[j] = "tcp://m" + std::to_string(j) + ":1";
    }
    lo.core.seed = 100 + i;
    auto log = RaftLog::open(lo, dir_ / ("raft" + std::to_string(i)), ns.value()->applied_index());
    ASSERT_TRUE(log.is_ok()) << log.status().to_string();
    node.log = std::move(log).value();
    MasterOptions mo;
    mo.id = "m" + std::to_string(i);
    node.service = std::make_unique<MasterService>(mo, std::move(ns).value(), node.log.get());
    node.up = true;
  }
  void crash(int i) {
    nodes_[i].service.reset();
    nodes_[i].log.reset();
    nodes_[i].up = false;
  }

  // One round: every node ticks, then messages are delivered until none are
  // left (or a bound), each node pumping after what it received.
  void round() {
    for (auto& [id, node] : nodes_) {
      if (node.up) node.log->tick();
    }
    for (int hop = 0; hop < 50; ++hop) {
      for (auto& [id, node] : nodes_) {
        if (!node.up) continue;
        node.log->pump(
            *node.service, [&](raft::Message&& m) { wire_.push_back(std::move(m)); }, Clock::now());
      }
      if (wire_.empty()) break;
      auto batch = std::exchange(wire_, {});
      for (auto& m : batch) {
        auto it = nodes_.find(static_cast<int>(m.to));
        if (it != nodes_.end() && it->second.up && !cut_.count(static_cast<int>(m.to)) &&
            !cut_.count(static_cast<int>(m.from))) {
          it->second.log->step(m);
        }
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
  void cut(int i) { cut_.insert(i); }
  void heal() { cut_.clear(); }

  // Sends a request to node i and returns its replies after it was handled.
  template <typename Req>
  void send(int i, const Req& req, uint64_t id) {
    Envelope env = make_envelope(req, id);
    env.routing_id = "c";
    nodes_[i].service->handle(env, Clock::now());
  }

 private:
  struct Node {
    std::unique_ptr<RaftLog> log;
    std::unique_ptr<MasterService> service;
    bool up = false;
  };
  int n_;
  test::TempDir dir_;
  std::map<int, Node> nodes_;
  std::vector<raft::Message> wire_;
  std::set<int> cut_;
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

}  // namespace
}  // namespace dfs
