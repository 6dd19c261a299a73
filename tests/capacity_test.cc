// dfs df's totals: one disk shared by several workers is counted once.
#include <gtest/gtest.h>

#include "client/capacity.h"

namespace dfs {
namespace {

WorkerInfo worker(const std::string& id, const std::string& fs, uint64_t used,
                  const std::string& state = "live") {
  WorkerInfo w;
  w.id = id;
  w.state = state;
  w.capacity = 1000;  // each worker's capacity is the whole disk
  w.used = used;
  w.fs_id = fs;
  w.fs_size = 1000;
  w.fs_free = 1000 - 300;  // what all of them together left
  return w;
}

TEST(CapacityTest, WorkersOnOneFilesystemShareItsSpace) {
  auto t =
      live_space({worker("w1", "fs1", 100), worker("w2", "fs1", 100), worker("w3", "fs1", 100)});
  EXPECT_EQ(t.capacity, 1000u);  // not 3000
  EXPECT_EQ(t.free, 700u);       // not 2700
  EXPECT_EQ(t.used, 300u);
  EXPECT_EQ(t.filesystems, 1u);
}

TEST(CapacityTest, SeparateFilesystemsAddUpAndDeadWorkersDoNotCount) {
  auto t = live_space(
      {worker("w1", "fs1", 300), worker("w2", "fs2", 300), worker("w3", "fs3", 300, "dead")});
  EXPECT_EQ(t.capacity, 2000u);
  EXPECT_EQ(t.free, 1400u);
  EXPECT_EQ(t.workers, 2u);
}

}  // namespace
}  // namespace dfs
