// A history of client operations on a namespace and a linearizability check
// of it (Wing & Gong's search with Lowe's memoization, as Porcupine does),
// path by path: operations on different paths commute, so each path's
// history is checked alone against a model of one name that exists (as a
// directory) or not.
//
// An operation that was never answered (the client gave up) may have taken
// effect at any moment after its invocation, or not at all.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "codec/status.h"

namespace dfs::test {

struct HistoryOp {
  enum Kind : uint8_t { kMkdir, kRm, kStat };
  static constexpr uint64_t kOpen = std::numeric_limits<uint64_t>::max();
  int client = 0;
  Kind kind = kStat;
  std::string path;
  uint64_t invoke = 0;
  uint64_t complete = kOpen;  // kOpen: never answered
  Code result = Code::kOk;    // kOk, kAlreadyExists (mkdir) or kNotFound (rm, stat)
};

struct History {
  std::vector<HistoryOp> ops;
  // One operation per line: "client kind path invoke complete result", where
  // complete is "-" for an unanswered operation.
  std::string to_text() const;
  static Result<History> parse(const std::string& text);
};

struct Verdict {
  bool linearizable = true;
  std::string why;  // the path whose history cannot be ordered, and its operations
};

// Refuses (not linearizable) a history whose search exceeds `max_states`.
Verdict check_linearizable(const History& history, size_t max_states = 2'000'000);

}  // namespace dfs::test
