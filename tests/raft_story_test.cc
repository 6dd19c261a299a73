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
  // `n` founding voters, and `spares` nodes that know no group yet.
  explicit Group(int n, int spares = 0) {
    for (int i = 1; i <= n + spares; ++i) {
      Config c;
      c.id = static_cast<NodeId>(i);
      if (i <= n) {
        for (int j = 1; j <= n; ++j) c.voters.push_back(static_cast<NodeId>(j));
      }
      c.election_tick = 10;
      c.heartbeat_tick = 1;
      c.snapshot_piece_bytes = 16;
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
        if (rd.snapshot) {
          // The state machine is the list of commands: restore it.
          applied_[id].clear();
          std::string data = rd.snapshot->data;
          for (size_t pos = 0, end; (end = data.find(',', pos)) != std::string::npos;
               pos = end + 1) {
            applied_[id].push_back(Entry{0, 0, 1, data.substr(pos, end - pos)});
          }
        }
        for (const auto& e : rd.committed) applied_[id].push_back(e);
        for (const auto& rs : rd.reads) reads_[id].push_back(rs);
        for (const auto& m : rd.messages) {
          if (m.msg_kind() == MsgKind::kSnapshot) ++snapshot_pieces_;
          queue_.push_back(m);
        }
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

  // The application's state as snapshot data: its commands, comma-ended.
  std::string state(NodeId id) {
    std::string out;
    for (const auto& d : applied_data(id)) out += d + ",";
    return out;
  }
  std::vector<ReadState>& reads(NodeId id) { return reads_[id]; }
  // The leader proposes "v0".."v<n-1>".
  void propose_many(NodeId leader, int n) {
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(nodes_.at(leader)->propose("v" + std::to_string(i)).is_ok());
    }
  }
  size_t snapshot_pieces() const { return snapshot_pieces_; }
  NodeId follower_of(NodeId leader) { return leader == 1 ? 2 : 1; }

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
  std::map<NodeId, std::vector<ReadState>> reads_;
  size_t snapshot_pieces_ = 0;
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
  g.propose_many(leader, 100);
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

TEST(RaftStory, AReadIsAnsweredOnlyOnceAMajorityConfirmsTheLeader) {
  Group g(3);
  g.run(30);
  NodeId leader = g.leader();
  ASSERT_TRUE(g[leader].propose("x=1").is_ok());
  g.run(3);
  // Cut off from both followers, the leader cannot know it still leads.
  for (NodeId id : {1, 2, 3}) {
    if (id != leader) g.isolate(id);
  }
  ASSERT_TRUE(g[leader].read_index(7).is_ok());
  g.settle();
  EXPECT_TRUE(g.reads(leader).empty());
  for (NodeId id : {1, 2, 3}) g.reconnect(id);
  g.run(1);
  ASSERT_EQ(g.reads(leader).size(), 1u);
  EXPECT_EQ(g.reads(leader)[0].context, 7u);
  EXPECT_EQ(g.reads(leader)[0].index, g[leader].commit_index());
}

// Delivers a leader's `round` by hand, steps the answers into the leader
// and returns its next Ready (advanced).
Ready answer_round(Group& g, NodeId leader, const std::vector<Message>& round) {
  for (const auto& m : round) g[m.to].step(m);
  for (NodeId id : {1, 2, 3}) {
    if (id == leader || !g[id].has_ready()) continue;
    Ready rd = g[id].ready();
    g[id].advance(rd);
    for (const auto& m : rd.messages) {
      if (m.to == leader) g[leader].step(m);
    }
  }
  Ready rd = g[leader].ready();
  g[leader].advance(rd);
  return rd;
}

std::vector<Message> heartbeats(const std::vector<Message>& msgs) {
  std::vector<Message> out;
  for (const auto& m : msgs) {
    if (m.msg_kind() == MsgKind::kHeartbeat) out.push_back(m);
  }
  return out;
}

TEST(RaftStory, ReadsArrivingWhileAHeartbeatRoundIsOutGoWithTheNextRound) {
  Group g(3);
  g.run(30);
  NodeId leader = g.leader();
  Raft& l = g[leader];
  ASSERT_TRUE(l.read_index(1).is_ok());
  Ready first = l.ready();
  l.advance(first);
  auto round1 = heartbeats(first.messages);
  ASSERT_EQ(round1.size(), 2u);
  // Two more reads while the first round is unanswered: no new round.
  ASSERT_TRUE(l.read_index(2).is_ok());
  ASSERT_TRUE(l.read_index(3).is_ok());
  Ready waiting = l.ready();
  l.advance(waiting);
  EXPECT_TRUE(heartbeats(waiting.messages).empty());
  // The answers to the first round confirm the first read only (the others
  // arrived after it was sent), and send the next round at once.
  Ready second = answer_round(g, leader, round1);
  ASSERT_EQ(second.reads.size(), 1u);
  EXPECT_EQ(second.reads[0].context, 1u);
  auto round2 = heartbeats(second.messages);
  ASSERT_EQ(round2.size(), 2u);
  Ready third = answer_round(g, leader, round2);
  ASSERT_EQ(third.reads.size(), 2u);
  EXPECT_EQ(third.reads[0].context, 2u);
  EXPECT_EQ(third.reads[1].context, 3u);
}

TEST(RaftStory, AFollowerReadsAtTheIndexTheLeaderConfirms) {
  Group g(3);
  g.run(30);
  NodeId leader = g.leader();
  NodeId follower = g.follower_of(leader);
  ASSERT_TRUE(g[leader].propose("x=1").is_ok());
  g.run(3);
  ASSERT_TRUE(g[follower].read_index(9).is_ok());
  g.settle();
  ASSERT_EQ(g.reads(follower).size(), 1u);
  EXPECT_EQ(g.reads(follower)[0].context, 9u);
  EXPECT_EQ(g.reads(follower)[0].index, g[leader].commit_index());
  EXPECT_TRUE(g.reads(leader).empty());
}

TEST(RaftStory, AFollowerBehindTheCompactedLogGetsTheSnapshotInPieces) {
  Group g(3);
  g.run(30);
  NodeId leader = g.leader();
  NodeId lagging = leader == 3 ? 2 : 3;
  g.isolate(lagging);
  g.propose_many(leader, 20);
  g.run(3);
  // The leader snapshots its state and drops the log the follower needs.
  uint64_t applied = g[leader].commit_index();
  auto snap = g[leader].compact(applied, g.state(leader));
  ASSERT_TRUE(snap.is_ok()) << snap.status().message();
  EXPECT_EQ(g[leader].first_index(), applied + 1);
  ASSERT_TRUE(g[leader].propose("after").is_ok());
  g.run(3);
  g.reconnect(lagging);
  g.run(10);
  EXPECT_GT(g.snapshot_pieces(), 3u) << "a snapshot larger than a piece travels in several";
  EXPECT_EQ(g[lagging].snapshot_meta(), snap->meta);
  EXPECT_EQ(g[lagging].entries(), g[leader].entries());
  EXPECT_EQ(g.applied_data(lagging), g.applied_data(leader));
  EXPECT_EQ(g.applied_data(lagging).back(), "after");
}

TEST(RaftStory, CompactionKeepsOnlyWhatWasApplied) {
  Group g(1);
  g.run(30);
  ASSERT_TRUE(g[1].propose("a").is_ok());
  auto r = g[1].compact(g[1].last_index() + 1, "");
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  g.run(1);
  ASSERT_TRUE(g[1].compact(g[1].last_index(), g.state(1)).is_ok());
  EXPECT_EQ(g[1].compact(g[1].last_index(), "").status().code(), Code::kInvalidArgument)
      << "the same point twice";
}

TEST(RaftStory, LeadershipMovesToTheNamedVoter) {
  Group g(3);
  g.run(30);
  NodeId old = g.leader();
  NodeId to = g.follower_of(old);
  uint64_t term = g[old].term();
  ASSERT_TRUE(g[old].transfer_leadership(to).is_ok());
  EXPECT_EQ(g[old].propose("x").status().code(), Code::kUnavailable)
      << "no proposals while leadership is moving";
  g.settle();
  EXPECT_EQ(g.leader(), to);
  EXPECT_EQ(g[to].term(), term + 1);
  EXPECT_EQ(g[old].leader(), to);
  EXPECT_EQ(g[old].transfer_leadership(to).code(), Code::kNotLeader);
}

TEST(RaftStory, ATransferToAnUnreachableVoterGivesUpAndTheLeaderLeadsOn) {
  Group g(3);
  g.run(30);
  NodeId leader = g.leader();
  NodeId to = g.follower_of(leader);
  g.isolate(to);
  ASSERT_TRUE(g[leader].transfer_leadership(to).is_ok());
  g.run(12);
  EXPECT_EQ(g[leader].transferring_to(), 0u);
  EXPECT_EQ(g.leader(), leader);
  EXPECT_TRUE(g[leader].propose("x").is_ok());
}

TEST(RaftStory, ANewNodeJoinsAsALearnerAndIsPromotedOnceCaughtUp) {
  Group g(3, /*spares=*/1);
  g.run(30);
  NodeId leader = g.leader();
  g.propose_many(leader, 200);
  g.run(2);
  g.isolate(4);
  ASSERT_TRUE(g[leader].propose_conf_change({uint8_t(ConfChangeKind::kAddLearner), 4}).is_ok());
  g.run(2);
  EXPECT_TRUE(g[leader].membership().is_learner(4));
  auto early = g[leader].propose_conf_change({uint8_t(ConfChangeKind::kPromote), 4});
  EXPECT_EQ(early.status().code(), Code::kUnavailable) << early.status().message();
  g.reconnect(4);
  g.run(10);
  EXPECT_EQ(g.applied_data(4), g.applied_data(leader))
      << "the learner receives the log " << g[4].last_index() << " term " << g[4].term()
      << " commit " << g[4].commit_index() << " leader " << g[4].leader();
  EXPECT_EQ(g[4].role(), Role::kFollower);
  ASSERT_TRUE(g[leader].propose_conf_change({uint8_t(ConfChangeKind::kPromote), 4}).is_ok());
  g.run(3);
  for (NodeId id : {1, 2, 3, 4}) {
    EXPECT_TRUE(g[id].membership().is_voter(4)) << "node " << id;
    EXPECT_EQ(g[id].membership().voters.size(), 4u);
  }
  // Four voters: a quorum is three, so two nodes down stop commits.
  g.isolate(g.follower_of(leader));
  g.isolate(4 == leader ? 3 : 4);
  uint64_t commit = g[leader].commit_index();
  ASSERT_TRUE(g[leader].propose("needs three").is_ok());
  g.run(3);
  EXPECT_EQ(g[leader].commit_index(), commit);
}

TEST(RaftStory, OneMembershipChangeAtATime) {
  Group g(3, /*spares=*/2);
  g.run(30);
  NodeId leader = g.leader();
  ASSERT_TRUE(g[leader].propose_conf_change({uint8_t(ConfChangeKind::kAddLearner), 4}).is_ok());
  auto second = g[leader].propose_conf_change({uint8_t(ConfChangeKind::kAddLearner), 5});
  EXPECT_EQ(second.status().code(), Code::kUnavailable);
  EXPECT_EQ(second.status().message(), "a membership change is still in progress");
  g.run(2);
  EXPECT_TRUE(g[leader].propose_conf_change({uint8_t(ConfChangeKind::kAddLearner), 5}).is_ok());
  auto again = g[leader].propose_conf_change({uint8_t(ConfChangeKind::kAddLearner), 5});
  EXPECT_EQ(again.status().code(), Code::kUnavailable);
  g.run(2);
  EXPECT_EQ(
      g[leader].propose_conf_change({uint8_t(ConfChangeKind::kAddLearner), 5}).status().code(),
      Code::kAlreadyExists);
  EXPECT_EQ(g[leader].propose_conf_change({uint8_t(ConfChangeKind::kPromote), 1}).status().code(),
            Code::kInvalidArgument)
      << "only a learner is promoted";
}

TEST(RaftStory, ARemovedLeaderHandsOverAndLeaves) {
  Group g(3);
  g.run(30);
  NodeId old = g.leader();
  ASSERT_TRUE(g[old].propose_conf_change({uint8_t(ConfChangeKind::kRemove), old}).is_ok());
  g.settle();
  NodeId fresh = g.leader();
  ASSERT_NE(fresh, 0u) << "the most caught-up voter takes over at once, without a timeout";
  EXPECT_NE(fresh, old);
  for (NodeId id : {1, 2, 3}) {
    EXPECT_FALSE(g[id].membership().is_member(old)) << "node " << id;
  }
  ASSERT_TRUE(g[fresh].propose("after").is_ok());
  g.run(50);
  EXPECT_EQ(g.leader(), fresh) << "the removed node never campaigns";
  EXPECT_EQ(g[old].role(), Role::kFollower);
  EXPECT_EQ(g.applied_data(fresh), std::vector<std::string>{"after"});
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
