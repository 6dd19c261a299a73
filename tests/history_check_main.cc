// Replays a saved history: history_check FILE. Exit 0 when it is
// linearizable, 1 when not (saying which path and why), 2 when unreadable.
#include <cstdio>
#include <fstream>
#include <sstream>

#include "tests/history.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: history_check FILE\n");
    return 2;
  }
  std::ifstream in(argv[1]);
  if (!in) {
    std::fprintf(stderr, "history_check: cannot read %s\n", argv[1]);
    return 2;
  }
  std::stringstream text;
  text << in.rdbuf();
  auto history = dfs::test::History::parse(text.str());
  if (!history.is_ok()) {
    std::fprintf(stderr, "history_check: %s: %s\n", argv[1], history.status().message().c_str());
    return 2;
  }
  auto verdict = dfs::test::check_linearizable(history.value());
  if (!verdict.linearizable) {
    std::printf("not linearizable: %s\n", verdict.why.c_str());
    return 1;
  }
  std::printf("linearizable (%zu operations)\n", history->ops.size());
  return 0;
}
