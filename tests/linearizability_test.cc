// Linearizability of what clients see from a group of three masters while
// nodes are cut off from their peers (still reachable by clients), crash and
// restart, or lose their disk and rejoin, and logs are compacted into
// snapshots often: simulated clients make directories, remove them and stat them on a
// few names, retrying as the real client does (following NOT_LEADER hints,
// asking again after a silence, same session so a retry applies once), and
// every operation's invocation, answer and result is recorded. The history
// must be linearizable (tests/history.h). A history that is not is saved
// for tests/history_check to replay.
//
// Built with DFS_MASTER_INJECT_FAULT (master/faults.h) this test must fail:
// tests/faults.sh checks that it does.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <random>

#include "tests/history.h"
#include "tests/raft_group.h"

namespace dfs {
namespace {

using test::Group;
using test::History;
using test::HistoryOp;

constexpr int kClients = 5;
constexpr int kAttemptRounds = 40;  // a silence this long: ask again
constexpr int kMaxAttempts = 8;     // then give up: the operation stays unanswered
const std::vector<std::string> kPaths = {"/a", "/b", "/c", "/d"};

class Workload {
 public:
  Workload(Group& g, uint64_t seed) : g_(g), rng_(seed) {}

  void run(int rounds) {
    for (int r = 0; r < rounds; ++r) {
      faults(r);
      clients();
      g_.round();
      ++round_;
      collect();
    }
    // Heal everything and let every client finish what it started.
    g_.heal();
    for (int i = 1; i <= g_.size(); ++i) {
      if (!g_.up(i)) g_.start(i);
    }
    stopping_ = true;
    for (int r = 0; r < 2000 && busy(); ++r) {
      clients();
      g_.round();
      ++round_;
      collect();
    }
  }

  const History& history() const { return history_; }
  int answered() const { return answered_; }

 private:
  struct Client {
    bool busy = false;
    size_t op = 0;  // index in the history
    Envelope request;
    int target = 0;
    int attempts = 0;
    int sent_round = 0;
    int resend_round = -1;    // a retry due at this round
    uint64_t request_id = 0;  // of the newest attempt
    uint64_t seq = 0;
    int known_leader = 0;
  };

  bool busy() const {
    for (const auto& c : clients_) {
      if (c.busy) return true;
    }
    return false;
  }
  int pick(int n) { return static_cast<int>(rng_() % static_cast<uint64_t>(n)); }
  int random_node() { return 1 + pick(g_.size()); }

  // One node at a time is cut off or down, for a while, then back.
  void faults(int r) {
    if (r < next_fault_) return;
    next_fault_ = r + 20 + pick(60);
    if (faulty_ != 0) {
      if (!g_.up(faulty_)) g_.start(faulty_);
      g_.heal();
      faulty_ = 0;
      return;
    }
    int leader = g_.leader();
    faulty_ = leader != 0 && pick(2) == 0 ? leader : random_node();
    int what = pick(6);
    if (what == 0) {
      // Its disk is lost: it comes back empty and rejoins.
      g_.wipe(faulty_);
      g_.start(faulty_, /*joining=*/true);
    } else if (what <= 2) {
      g_.crash(faulty_);
    } else {
      g_.cut(faulty_);
    }
  }

  void clients() {
    for (int id = 0; id < kClients; ++id) {
      Client& c = clients_[id];
      if (!c.busy) {
        if (!stopping_ && pick(3) == 0) start(id);
        continue;
      }
      if (c.resend_round >= 0 && round_ >= c.resend_round) {
        c.resend_round = -1;
        attempt(id);
      } else if (c.resend_round < 0 && round_ - c.sent_round >= kAttemptRounds) {
        c.known_leader = 0;  // silence: try elsewhere
        attempt(id);
      }
    }
  }

  void start(int id) {
    Client& c = clients_[id];
    HistoryOp op;
    op.client = id;
    op.path = kPaths[pick(static_cast<int>(kPaths.size()))];
    int k = pick(10);
    op.kind = k < 4 ? HistoryOp::kStat : k < 7 ? HistoryOp::kMkdir : HistoryOp::kRm;
    RequestSession session{static_cast<uint64_t>(id + 1), ++c.seq};
    if (op.kind == HistoryOp::kMkdir) {
      c.request = make_envelope(MkdirRequest{op.path, false, session});
    } else if (op.kind == HistoryOp::kRm) {
      c.request = make_envelope(DeleteRequest{op.path, false, session});
    } else {
      c.request = make_envelope(StatRequest{op.path, false});
    }
    op.invoke = ++clock_;
    c.op = history_.ops.size();
    history_.ops.push_back(op);
    c.busy = true;
    c.attempts = 0;
    // Reads go anywhere (a follower must not answer them from its own
    // state); writes to the leader the client believes in.
    c.target = op.kind == HistoryOp::kStat || c.known_leader == 0 ? random_node() : c.known_leader;
    attempt(id);
  }

  void attempt(int id) {
    Client& c = clients_[id];
    if (++c.attempts > kMaxAttempts) {
      c.busy = false;  // never answered: it may or may not have happened
      return;
    }
    if (c.attempts > 1) c.target = c.known_leader != 0 ? c.known_leader : random_node();
    c.sent_round = round_;
    if (!g_.up(c.target)) return;  // connection refused: the silence times out
    Envelope env;
    env.routing_id = "c";
    env.header = c.request.header;
    env.header.request_id = ++next_request_;
    env.body = c.request.body;
    waiting_[env.header.request_id] = id;
    c.request_id = env.header.request_id;
    g_.service(c.target).handle(env, test::Clock::now());
  }

  void collect() {
    for (int i = 1; i <= g_.size(); ++i) {
      if (!g_.up(i)) continue;
      for (auto& reply : g_.service(i).take_replies()) {
        auto it = waiting_.find(reply.header.request_id);
        if (it == waiting_.end()) continue;
        int id = it->second;
        waiting_.erase(it);
        Client& c = clients_[id];
        // Only the answer to the newest attempt of the current operation.
        if (!c.busy || reply.header.request_id != c.request_id) continue;
        take(id, reply);
      }
    }
  }

  void take(int id, const Envelope& reply) {
    Client& c = clients_[id];
    HistoryOp& op = history_.ops[c.op];
    Code code = Code::kOk;
    if (reply.header.type == MsgType::kErrorReply) {
      auto err = decode<ErrorReply>(reply.body);
      ASSERT_TRUE(err.is_ok());
      code = static_cast<Code>(err->code);
      if (code == Code::kNotLeader || code == Code::kBusy || code == Code::kTimeout ||
          code == Code::kUnavailable) {
        c.known_leader = leader_of(err->leader);
        c.resend_round = round_ + 1 + pick(3);
        return;
      }
      bool expected = (op.kind == HistoryOp::kMkdir && code == Code::kAlreadyExists) ||
                      (op.kind != HistoryOp::kMkdir && code == Code::kNotFound);
      ASSERT_TRUE(expected) << "unexpected answer: " << err->message;
    } else if (op.kind == HistoryOp::kStat) {
      ASSERT_EQ(reply.header.type, MsgType::kStatReply);
    }
    op.result = code;
    op.complete = ++clock_;
    c.known_leader = c.target;
    c.busy = false;
    ++answered_;
  }

  static int leader_of(const std::string& api) {
    // "tcp://m<i>:1", as tests/raft_group.h names them.
    if (api.size() < 9 || api.rfind("tcp://m", 0) != 0) return 0;
    return std::atoi(api.c_str() + 7);
  }

  Group& g_;
  std::mt19937_64 rng_;
  Client clients_[kClients];
  std::map<uint64_t, int> waiting_;  // request id -> client
  uint64_t next_request_ = 0;
  uint64_t clock_ = 0;
  int round_ = 0;
  int next_fault_ = 30;
  int faulty_ = 0;
  bool stopping_ = false;
  int answered_ = 0;
  History history_;
};

std::string save_failed(const History& h, uint64_t seed) {
  const char* dir = std::getenv("DFS_FAILED_HISTORIES");
  std::string base = dir ? dir : "failed-histories";
  std::filesystem::create_directories(base);
  std::string path = base + "/lincheck-seed" + std::to_string(seed) + ".history";
  std::ofstream(path) << h.to_text();
  return std::filesystem::absolute(path).string();
}

class LinearizableTest : public ::testing::TestWithParam<uint64_t> {};

TEST_P(LinearizableTest, WhatClientsSeeUnderCutsCrashesAndRestartsIsLinearizable) {
  uint64_t seed = GetParam();
  Group g(3, {.snapshot_entries = 24});
  ASSERT_TRUE(g.until([&] { return g.leader() != 0; }));
  Workload w(g, seed);
  w.run(1500);
  ASSERT_GT(w.answered(), 200) << "too few operations were answered to say anything";
  auto verdict = test::check_linearizable(w.history());
  if (!verdict.linearizable) {
    std::string saved = save_failed(w.history(), seed);
    FAIL() << "seed " << seed << ": " << verdict.why << "\nreplay: history_check " << saved;
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, LinearizableTest, ::testing::Values(1, 2, 3, 4));

// The soak: DFS_LINCHECK_SEEDS more seeds (the ctest soak label sets it).
TEST(LinearizableSoak, ManySeeds) {
  const char* n = std::getenv("DFS_LINCHECK_SEEDS");
  if (n == nullptr) GTEST_SKIP() << "set DFS_LINCHECK_SEEDS to soak";
  for (uint64_t seed = 1000; seed < 1000 + std::strtoull(n, nullptr, 10); ++seed) {
    Group g(3, {.snapshot_entries = 24});
    ASSERT_TRUE(g.until([&] { return g.leader() != 0; })) << "seed " << seed;
    Workload w(g, seed);
    w.run(1500);
    auto verdict = test::check_linearizable(w.history());
    if (!verdict.linearizable) {
      FAIL() << "seed " << seed << ": " << verdict.why << "\nreplay: history_check "
             << save_failed(w.history(), seed);
    }
  }
}

}  // namespace
}  // namespace dfs
