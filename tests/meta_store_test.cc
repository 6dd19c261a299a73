// Range scans over the master's RocksDB: a scan returns exactly the keys of
// its range, whatever lies next to it, deleted or not.
#include <gtest/gtest.h>

#include <rocksdb/write_batch.h>

#include "master/keys.h"
#include "master/meta_store.h"
#include "master/sessions.h"
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

// Exactly-once records expire once idle, judged by the time of the command
// that expires them, whichever index (coarse, or an older store's exact one)
// holds them.
class SessionsTest : public KeyRangeTest {
 protected:
  void active(uint64_t client, int64_t ms) {
    rocksdb::WriteBatch b;
    sessions().put(&b, client, SessionRecord{++seq_, 0, "", 0, "", ms}, sessions().find(client));
    store_->write(&b, false);
  }
  void expire(int64_t ms) {
    rocksdb::WriteBatch b;
    sessions().expire(&b, ms, 1000);
    store_->write(&b, false);
  }
  bool known(uint64_t client) { return sessions().find(client).has_value(); }
  Sessions sessions() { return Sessions(store_.get()); }
  uint64_t seq_ = 0;
};

TEST_F(SessionsTest, AClientExpiresOnlyOnceIdleUntilTheCutoff) {
  active(1, 1000);
  active(1, 30000);
  active(2, 200000);
  expire(50000);  // client 1 was active at 30 s
  EXPECT_TRUE(known(1));
  EXPECT_FALSE(sessions().any_idle_before(50000));
  EXPECT_TRUE(sessions().any_idle_before(130000));
  expire(130000);
  EXPECT_FALSE(known(1));
  EXPECT_TRUE(known(2));
  active(2, 250000);  // moves to a later minute
  expire(300000);
  EXPECT_TRUE(known(2));
  expire(400000);
  EXPECT_FALSE(known(2));
}

TEST_F(SessionsTest, AnOlderStoresStaleIndexKeyNeitherExpiresAnActiveClientNorLosesIt) {
  active(7, 500000);
  // What an older version left: an exact-time key from an earlier request.
  rocksdb::WriteBatch b;
  b.Put(store_->sessions(), "t" + be64(1000) + be64(7), "");
  store_->write(&b, false);
  expire(100000);
  EXPECT_TRUE(known(7));
  expire(700000);
  EXPECT_FALSE(known(7)) << "the client is idle now and must expire through the new index";
  EXPECT_FALSE(sessions().any_idle_before(10000000));
}

}  // namespace
}  // namespace dfs
