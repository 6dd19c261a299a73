// The rules of Raft as short stories, on a hand-driven network: every
// message is delivered (or cut) by the test, every tick is explicit.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <set>

#include "master/raft/raft.h"

namespace dfs::raft {
namespace {

class Group {
 public:
  explicit Group(int n) {
    for (int i = 1; i <= n; ++i) {
      Config c;
      c.id = static_cast<NodeId>(i);
      for (int j = 1; j <= n; ++j) c.voters.push_back(static_cast<NodeId>(j));
      c.election_tick = 10;
      c.heartbeat_tick = 1;
      c.seed = static_cast<uint64_t>(i) * 7919;
      nodes_[c.id] = std::make_unique<Raft>(c, Persisted{});
    }
  }

  Raft& operator[](NodeId id) { return *nodes_.at(id); }

  // Cuts every link between `id` and the others (both directions).
  void isolate(NodeId id) { isolated_.insert(id); }
  void reconnect(NodeId id) { isolated_.erase(id); }

  // Delivers messages until none are left (each Ready persisted, then sent).
  void settle() {
    for (int round = 0; round < 1000; ++round) {
      bool any = false;
      for (auto& [id, r] : nodes_) {
        if (!r->has_ready()) continue;
        Ready rd = r->ready();
        for (const auto& e : rd.committed) applied_[id].push_back(e);
        for (const auto& m : rd.messages) queue_.push_back(m);
        r->advance(rd);
        any = true;
      }
      std::vector<Message> now;
      now.swap(queue_);
      for (const auto& m : now) {
        if (isolated_.count(m.from) || isolated_.count(m.to)) continue;
        nodes_.at(m.to)->step(m);
        any = true;
      }
      if (!any) return;
    }
  }

  // Ticks every node once and delivers what follows, `n` times.
  void run(int n) {
    for (int i = 0; i < n; ++i) {
      for (auto& [id, r] : nodes_) r->tick();
      settle();
    }
  }

  NodeId leader() {
    NodeId found = 0;
    for (auto& [id, r] : nodes_) {
      if (r->role() == Role::kLeader && !isolated_.count(id)) found = id;
    }
    return found;
  }

  std::vector<std::string> applied_data(NodeId id) {
    std::vector<std::string> out;
    for (const auto& e : applied_[id]) {
      if (e.type == static_cast<uint8_t>(EntryType::kNormal)) out.push_back(e.data);
    }
    return out;
  }

 private:
  std::map<NodeId, std::unique_ptr<Raft>> nodes_;
  std::map<NodeId, std::vector<Entry>> applied_;
  std::vector<Message> queue_;
  std::set<NodeId> isolated_;
};

TEST(RaftStory, AGroupElectsOneLeaderAndTheOthersFollowIt) {
  Group g(3);
  g.run(30);
  NodeId leader = g.leader();
  ASSERT_NE(leader, 0u);
  for (NodeId id : {1, 2, 3}) {
    EXPECT_EQ(g[id].leader(), leader) << "node " << id;
    EXPECT_EQ(g[id].term(), g[leader].term());
  }
}

TEST(RaftStory, AProposalCommitsAndEveryNodeAppliesIt) {
  Group g(3);
  g.run(30);
  NodeId leader = g.leader();
  ASSERT_NE(leader, 0u);
  ASSERT_TRUE(g[leader].propose("x=1").is_ok());
  ASSERT_TRUE(g[leader].propose("x=2").is_ok());
  g.run(3);
  for (NodeId id : {1, 2, 3}) {
    EXPECT_EQ(g.applied_data(id), (std::vector<std::string>{"x=1", "x=2"})) << "node " << id;
  }
}

TEST(RaftStory, AFollowerRefusesProposalsAndNamesTheLeader) {
  Group g(3);
  g.run(30);
  NodeId leader = g.leader();
  NodeId follower = leader == 1 ? 2 : 1;
  auto r = g[follower].propose("x");
  EXPECT_EQ(r.status().code(), Code::kNotLeader);
  EXPECT_EQ(r.status().message(), "node " + std::to_string(leader));
}

TEST(RaftStory, ALeaderCutOffFromTheMajorityStepsDownAndTheRestElectAnother) {
  Group g(3);
  g.run(30);
  NodeId old = g.leader();
  uint64_t old_term = g[old].term();
  g.isolate(old);
  g.run(40);
  EXPECT_NE(g[old].role(), Role::kLeader) << "check-quorum: no majority heard, no leadership";
  NodeId fresh = g.leader();
  ASSERT_NE(fresh, 0u);
  EXPECT_NE(fresh, old);
  EXPECT_GT(g[fresh].term(), old_term);
}

TEST(RaftStory, ARejoiningNodeDoesNotDisruptAHealthyLeader) {
  Group g(3);
  g.run(30);
  NodeId leader = g.leader();
  uint64_t term = g[leader].term();
  NodeId loner = leader == 3 ? 2 : 3;
  g.isolate(loner);
  g.run(100);  // the loner times out again and again, but only pre-votes
  EXPECT_EQ(g[loner].term(), term) << "pre-vote: a node that cannot win does not raise its term";
  g.reconnect(loner);
  g.run(30);
  EXPECT_EQ(g.leader(), leader);
  EXPECT_EQ(g[leader].term(), term);
  EXPECT_EQ(g[loner].leader(), leader);
}

TEST(RaftStory, ALaggingFollowerIsBroughtUpToDate) {
  Group g(3);
  g.run(30);
  NodeId leader = g.leader();
  NodeId lagging = leader == 3 ? 2 : 3;
  g.isolate(lagging);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(g[leader].propose("v" + std::to_string(i)).is_ok());
  g.run(3);
  EXPECT_LT(g[lagging].last_index(), g[leader].last_index());
  g.reconnect(lagging);
  g.run(20);
  EXPECT_EQ(g[lagging].entries(), g[leader].entries());
  EXPECT_EQ(g.applied_data(lagging).size(), 100u);
}

TEST(RaftStory, AnUncommittedEntryOfADeposedLeaderIsReplaced) {
  Group g(3);
  g.run(30);
  NodeId old = g.leader();
  g.isolate(old);
  // The deposed leader takes a proposal it can never commit.
  ASSERT_TRUE(g[old].propose("lost").is_ok());
  g.run(40);
  NodeId fresh = g.leader();
  ASSERT_NE(fresh, 0u);
  ASSERT_TRUE(g[fresh].propose("kept").is_ok());
  g.run(3);
  g.reconnect(old);
  g.run(30);
  // Its log now matches the new leader's: "lost" was overwritten, never applied.
  EXPECT_EQ(g[old].entries(), g[g.leader()].entries());
  for (NodeId id : {1, 2, 3}) {
    EXPECT_EQ(g.applied_data(id), std::vector<std::string>{"kept"}) << "node " << id;
  }
}

TEST(RaftStory, AVoteGoesOnlyToALogAtLeastAsUpToDate) {
  Config c;
  c.id = 1;
  c.voters = {1, 2, 3};
  Raft r(c, Persisted{HardState{5, 0, 0}, Snapshot{}, {Entry{5, 1, 1, "a"}, Entry{5, 2, 1, "b"}}});
  Message stale;
  stale.kind = static_cast<uint8_t>(MsgKind::kVote);
  stale.from = 2;
  stale.to = 1;
  stale.term = 6;
  stale.log_term = 5;
  stale.index = 1;  // shorter log of the same last term
  r.step(stale);
  Ready rd = r.ready();
  ASSERT_EQ(rd.messages.size(), 1u);
  EXPECT_TRUE(rd.messages[0].reject);
  r.advance(rd);
  Message fine = stale;
  fine.from = 3;
  fine.index = 2;
  r.step(fine);
  rd = r.ready();
  ASSERT_EQ(rd.messages.size(), 1u);
  EXPECT_FALSE(rd.messages[0].reject);
  ASSERT_TRUE(rd.hard_state.has_value());
  EXPECT_EQ(rd.hard_state->vote, 3u) << "the vote is persisted before the answer is sent";
}

}  // namespace
}  // namespace dfs::raft
