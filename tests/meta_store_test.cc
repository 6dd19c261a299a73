// Range scans over the master's RocksDB: a scan returns exactly the keys of
// its range, whatever lies next to it, deleted or not.
#include <gtest/gtest.h>

#include <rocksdb/write_batch.h>

#include "master/meta_store.h"
#include "tests/test_util.h"

namespace dfs {
namespace {

TEST(PrefixEnd, IsTheFirstKeyAfterThePrefix) {
  EXPECT_EQ(prefix_end("ab"), "ac");
  EXPECT_EQ(prefix_end(std::string("a\xff", 2)), "b");
  EXPECT_EQ(prefix_end(std::string("\xff\xff", 2)), "");  // nothing follows: no end
  EXPECT_EQ(prefix_end(""), "");
}

class KeyRangeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = MetaStore::open(dir_.path());
    ASSERT_TRUE(s.is_ok()) << s.status().to_string();
    store_ = std::move(s).value();
  }
  void put(const std::string& k) {
    rocksdb::WriteBatch b;
    b.Put(store_->inodes(), k, "v");
    store_->write(&b, false);
  }
  void del(const std::string& k) {
    rocksdb::WriteBatch b;
    b.Delete(store_->inodes(), k);
    store_->write(&b, false);
  }
  std::vector<std::string> keys(KeyRange& r) {
    std::vector<std::string> out;
    for (; r.valid(); r.next()) out.emplace_back(r.key());
    MetaStore::check_scan(r);
    return out;
  }

  test::TempDir dir_;
  std::unique_ptr<MetaStore> store_;
};

TEST_F(KeyRangeTest, APrefixScanStopsAtItsNeighbours) {
  for (const char* k : {"a", "b", "b1", "b2", "c"}) put(k);
  put(std::string("b\xff", 2));
  auto r = store_->scan_prefix(store_->inodes(), "b");
  EXPECT_EQ(keys(r), (std::vector<std::string>{"b", "b1", "b2", std::string("b\xff", 2)}));
  auto none = store_->scan_prefix(store_->inodes(), "bz");
  EXPECT_TRUE(keys(none).empty());
}

TEST_F(KeyRangeTest, ARangeEndsBeforeItsEndAndSkipsDeletedKeys) {
  for (int i = 0; i < 10; ++i) put("t" + std::to_string(i));
  del("t3");
  auto r = store_->scan(store_->inodes(), "t2", "t6");
  EXPECT_EQ(keys(r), (std::vector<std::string>{"t2", "t4", "t5"}));
  auto open_ended = store_->scan(store_->inodes(), "t8", "");
  EXPECT_EQ(keys(open_ended), (std::vector<std::string>{"t8", "t9"}));
}

}  // namespace
}  // namespace dfs
