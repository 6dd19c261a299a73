#include "tests/history.h"

#include <algorithm>
#include <map>
#include <sstream>
#include <unordered_set>

namespace dfs::test {

namespace {

const char* kind_word(HistoryOp::Kind k) {
  switch (k) {
    case HistoryOp::kMkdir:
      return "mkdir";
    case HistoryOp::kRm:
      return "rm";
    case HistoryOp::kStat:
      return "stat";
  }
  return "?";
}

// The model: whether the name exists. Returns false when `op` with its
// recorded result cannot happen in state `exists`; else sets the next state.
// An unanswered operation happens with whatever result the state gives.
bool step(const HistoryOp& op, bool exists, bool* next) {
  bool open = op.complete == HistoryOp::kOpen;
  *next = exists;
  switch (op.kind) {
    case HistoryOp::kMkdir:
      if (open || op.result == Code::kOk) {
        if (!exists) {
          *next = true;
          return true;
        }
        return open;  // an open mkdir of an existing name fails, changing nothing
      }
      return op.result == Code::kAlreadyExists && exists;
    case HistoryOp::kRm:
      if (open || op.result == Code::kOk) {
        if (exists) {
          *next = false;
          return true;
        }
        return open;
      }
      return op.result == Code::kNotFound && !exists;
    case HistoryOp::kStat:
      if (open) return true;
      return (op.result == Code::kOk) == exists;
  }
  return false;
}

// One path's search.
class Search {
 public:
  Search(std::vector<HistoryOp> ops, size_t max_states)
      : ops_(std::move(ops)), max_states_(max_states), done_(ops_.size(), false) {
    for (const auto& op : ops_) {
      if (op.complete != HistoryOp::kOpen) ++definite_;
    }
  }

  // true: an order exists; false with *exhausted when the search was cut short.
  bool run(bool* exhausted) {
    bool ok = visit(false, 0);
    *exhausted = exhausted_;
    return ok;
  }

 private:
  bool visit(bool exists, size_t definite_done) {
    if (definite_done == definite_) return true;  // open operations may never have happened
    std::string key(done_.begin(), done_.end());
    key.push_back(exists ? 'e' : 'a');
    if (!seen_.insert(std::move(key)).second) return false;
    if (seen_.size() > max_states_) {
      exhausted_ = true;
      return false;
    }
    // Any operation invoked before every remaining one completed may go next.
    uint64_t first_complete = HistoryOp::kOpen;
    for (size_t i = 0; i < ops_.size(); ++i) {
      if (!done_[i]) first_complete = std::min(first_complete, ops_[i].complete);
    }
    for (size_t i = 0; i < ops_.size(); ++i) {
      if (done_[i] || ops_[i].invoke > first_complete) continue;
      bool next = false;
      if (!step(ops_[i], exists, &next)) continue;
      done_[i] = true;
      bool open = ops_[i].complete == HistoryOp::kOpen;
      if (visit(next, definite_done + (open ? 0 : 1))) return true;
      done_[i] = false;
      if (exhausted_) return false;
    }
    return false;
  }

  std::vector<HistoryOp> ops_;
  size_t max_states_;
  std::vector<char> done_;
  size_t definite_ = 0;
  std::unordered_set<std::string> seen_;
  bool exhausted_ = false;
};

std::string describe(const std::vector<HistoryOp>& ops) {
  constexpr size_t kShown = 40;  // the saved history has them all
  std::ostringstream out;
  for (size_t i = 0; i < ops.size(); ++i) {
    const HistoryOp& op = ops[i];
    if (i == kShown) {
      out << "\n  ... and " << ops.size() - kShown << " more";
      break;
    }
    out << "\n  client " << op.client << " " << kind_word(op.kind) << " [" << op.invoke << ", ";
    if (op.complete == HistoryOp::kOpen) {
      out << "never answered]";
    } else {
      out << op.complete << "] -> " << code_name(op.result);
    }
  }
  return out.str();
}

}  // namespace

std::string History::to_text() const {
  std::ostringstream out;
  for (const auto& op : ops) {
    out << op.client << ' ' << kind_word(op.kind) << ' ' << op.path << ' ' << op.invoke << ' ';
    if (op.complete == HistoryOp::kOpen) {
      out << '-';
    } else {
      out << op.complete;
    }
    out << ' ' << static_cast<int>(op.result) << '\n';
  }
  return out.str();
}

Result<History> History::parse(const std::string& text) {
  History h;
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty() || line[0] == '#') continue;
    std::istringstream f(line);
    HistoryOp op;
    std::string kind, complete;
    int result = 0;
    if (!(f >> op.client >> kind >> op.path >> op.invoke >> complete >> result)) {
      return invalid_argument("history line " + std::to_string(n) +
                              " is not 'client kind path "
                              "invoke complete result'");
    }
    if (kind == "mkdir") {
      op.kind = HistoryOp::kMkdir;
    } else if (kind == "rm") {
      op.kind = HistoryOp::kRm;
    } else if (kind == "stat") {
      op.kind = HistoryOp::kStat;
    } else {
      return invalid_argument("history line " + std::to_string(n) + ": unknown operation " + kind);
    }
    op.complete = complete == "-" ? HistoryOp::kOpen : std::stoull(complete);
    op.result = static_cast<Code>(result);
    if (op.complete != HistoryOp::kOpen && op.complete < op.invoke) {
      return invalid_argument("history line " + std::to_string(n) + " completes before it starts");
    }
    h.ops.push_back(std::move(op));
  }
  return h;
}

Verdict check_linearizable(const History& history, size_t max_states) {
  std::map<std::string, std::vector<HistoryOp>> by_path;
  for (const auto& op : history.ops) {
    // An unanswered read changes nothing and constrains nothing.
    if (op.kind == HistoryOp::kStat && op.complete == HistoryOp::kOpen) continue;
    by_path[op.path].push_back(op);
  }
  for (auto& [path, ops] : by_path) {
    std::sort(ops.begin(), ops.end(),
              [](const HistoryOp& a, const HistoryOp& b) { return a.invoke < b.invoke; });
    bool exhausted = false;
    if (!Search(ops, max_states).run(&exhausted)) {
      return {false, std::string(exhausted ? "the search grew too big for " : "no order of the ") +
                         "operations on " + path +
                         " agrees with their results and timing:" + describe(ops)};
    }
  }
  return {};
}

}  // namespace dfs::test
