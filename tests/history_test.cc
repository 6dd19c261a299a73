// The linearizability checker on small hand-made histories: it must refuse
// what a stale read or a premature acknowledgement produce, and accept every
// ordering that concurrency or an unanswered operation allows.
#include "tests/history.h"

#include <gtest/gtest.h>

namespace dfs::test {
namespace {

constexpr uint64_t kOpen = HistoryOp::kOpen;

HistoryOp op(int client, HistoryOp::Kind kind, uint64_t invoke, uint64_t complete,
             Code result = Code::kOk, std::string path = "/a") {
  return HistoryOp{client, kind, std::move(path), invoke, complete, result};
}

bool linearizable(std::vector<HistoryOp> ops) {
  return check_linearizable({std::move(ops)}).linearizable;
}

TEST(HistoryTest, AReadAfterAnAcknowledgedWriteMustSeeIt) {
  EXPECT_FALSE(linearizable(
      {op(0, HistoryOp::kMkdir, 1, 2), op(1, HistoryOp::kStat, 3, 4, Code::kNotFound)}));
  EXPECT_TRUE(linearizable({op(0, HistoryOp::kMkdir, 1, 2), op(1, HistoryOp::kStat, 3, 4)}));
}

TEST(HistoryTest, OverlappingOperationsMayTakeEffectInEitherOrder) {
  EXPECT_TRUE(linearizable(
      {op(0, HistoryOp::kMkdir, 1, 4), op(1, HistoryOp::kStat, 2, 3, Code::kNotFound)}));
  EXPECT_TRUE(linearizable({op(0, HistoryOp::kMkdir, 1, 4), op(1, HistoryOp::kStat, 2, 3)}));
  // But a read cannot see a write undone and then redone without a remover.
  EXPECT_FALSE(linearizable({op(0, HistoryOp::kMkdir, 1, 2), op(1, HistoryOp::kStat, 3, 4),
                             op(2, HistoryOp::kStat, 5, 6, Code::kNotFound)}));
}

TEST(HistoryTest, AnUnansweredOperationMayHaveHappenedOrNot) {
  EXPECT_TRUE(linearizable({op(0, HistoryOp::kMkdir, 1, kOpen), op(1, HistoryOp::kStat, 2, 3)}));
  EXPECT_TRUE(linearizable(
      {op(0, HistoryOp::kMkdir, 1, kOpen), op(1, HistoryOp::kStat, 2, 3, Code::kNotFound)}));
  // ... but not before it was invoked.
  EXPECT_FALSE(linearizable({op(1, HistoryOp::kStat, 1, 2), op(0, HistoryOp::kMkdir, 3, kOpen)}));
}

TEST(HistoryTest, FailedOperationsAreResultsToo) {
  EXPECT_TRUE(linearizable(
      {op(0, HistoryOp::kMkdir, 1, 2), op(1, HistoryOp::kMkdir, 3, 4, Code::kAlreadyExists)}));
  EXPECT_FALSE(linearizable({op(0, HistoryOp::kMkdir, 1, 2), op(1, HistoryOp::kMkdir, 3, 4)}));
  EXPECT_FALSE(linearizable({op(0, HistoryOp::kRm, 1, 2, Code::kOk)}));
  EXPECT_TRUE(linearizable({op(0, HistoryOp::kRm, 1, 2, Code::kNotFound)}));
}

TEST(HistoryTest, PathsAreCheckedApartAndTheBadOneIsNamed) {
  auto v = check_linearizable({{op(0, HistoryOp::kMkdir, 1, 2, Code::kOk, "/x"),
                                op(1, HistoryOp::kStat, 3, 4, Code::kOk, "/x"),
                                op(0, HistoryOp::kStat, 1, 2, Code::kOk, "/y")}});
  EXPECT_FALSE(v.linearizable);
  EXPECT_NE(v.why.find("/y"), std::string::npos) << v.why;
}

TEST(HistoryTest, ManyConcurrentClientsAreCheckedQuickly) {
  // 8 clients, each with an operation always outstanding, on one name: a
  // linearizable history built by applying them in completion order.
  History h;
  bool exists = false;
  uint64_t t = 0;
  for (int i = 0; i < 400; ++i) {
    HistoryOp o = op(i % 8, static_cast<HistoryOp::Kind>(i % 3), t, t + 8);
    bool ok = o.kind == HistoryOp::kMkdir ? !exists : exists;
    if (o.kind == HistoryOp::kMkdir && ok) exists = true;
    if (o.kind == HistoryOp::kRm && ok) exists = false;
    o.result = ok                            ? Code::kOk
               : o.kind == HistoryOp::kMkdir ? Code::kAlreadyExists
                                             : Code::kNotFound;
    h.ops.push_back(o);
    t += 1;
  }
  // Completion times must follow the order applied: op i completes at i + 8, so
  // each was applied within its interval in the order above.
  EXPECT_TRUE(check_linearizable(h).linearizable);
}

TEST(HistoryTest, TextRoundTrips) {
  History h{{op(3, HistoryOp::kRm, 5, kOpen, Code::kOk, "/p q"),
             op(1, HistoryOp::kStat, 1, 2, Code::kNotFound)}};
  h.ops[0].path = "/pq";
  auto back = History::parse(h.to_text());
  ASSERT_TRUE(back.is_ok());
  EXPECT_EQ(back->to_text(), h.to_text());
  EXPECT_FALSE(History::parse("0 mkdir /a 5 3 0\n").is_ok());
  EXPECT_FALSE(History::parse("0 chmod /a 1 2 0\n").is_ok());
}

}  // namespace
}  // namespace dfs::test
