// The child of the log store crash test: writes the shared sequence to the
// store in argv[1], printing each step's number once it is durable, until
// the test kills it.
#include <cstdio>

#include "master/raft/log_store.h"
#include "tests/log_store_sequence.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: log_store_writer DIR\n");
    return 2;
  }
  auto store = dfs::raft::LogStore::open(argv[1]);
  if (!store.is_ok()) {
    std::fprintf(stderr, "%s\n", store.status().message().c_str());
    return 1;
  }
  auto steps = dfs::raft::testing::write_sequence();
  for (size_t i = 0; i < steps.size(); ++i) {
    const auto& step = steps[i];
    dfs::Status s =
        step.compacted ? (*store)->save_snapshot(*step.compacted) : (*store)->save(step.ready);
    if (!s.is_ok()) {
      std::fprintf(stderr, "step %zu: %s\n", i, s.message().c_str());
      return 1;
    }
    std::printf("%zu\n", i + 1);
    std::fflush(stdout);
  }
  return 0;
}
