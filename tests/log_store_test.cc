// The Raft log store on RocksDB: what was reported durable survives a
// restart and a SIGKILL at any point, a batch is all or nothing, and stored
// state that does not hang together is reported, not trusted.
#include <gtest/gtest.h>
#include <poll.h>
#include <rocksdb/db.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "master/raft/log_store.h"
#include "tests/log_store_sequence.h"

extern char** environ;

namespace dfs::raft {
namespace {

namespace fs = std::filesystem;
using testing::model;
using testing::write_sequence;

class LogStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("dfs-log-store-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<LogStore> open() {
    auto s = LogStore::open(dir_.string());
    EXPECT_TRUE(s.is_ok()) << s.status().message();
    return s.is_ok() ? std::move(s).value() : nullptr;
  }
  Result<Persisted> reload() { return open()->load(); }

  fs::path dir_;
};

bool same(const Persisted& a, const Persisted& b) {
  return a.hard_state == b.hard_state && a.snapshot == b.snapshot && a.entries == b.entries;
}

std::string describe(const Persisted& p) {
  return "term " + std::to_string(p.hard_state.term) + " commit " +
         std::to_string(p.hard_state.commit) + " snapshot " +
         std::to_string(p.snapshot.meta.index) + " entries " + std::to_string(p.entries.size());
}

TEST_F(LogStoreTest, ARestartFindsEverythingSaved) {
  Persisted expected;
  {
    auto store = open();
    for (const auto& step : write_sequence()) {
      Status s = step.compacted ? store->save_snapshot(*step.compacted) : store->save(step.ready);
      ASSERT_TRUE(s.is_ok()) << s.message();
      model(expected, step);
    }
  }
  auto loaded = reload();
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().message();
  EXPECT_TRUE(same(*loaded, expected)) << describe(*loaded) << " vs " << describe(expected);
  EXPECT_EQ(loaded->snapshot.meta.index, 60u);
  EXPECT_EQ(loaded->entries.front().index, 61u);
}

TEST_F(LogStoreTest, ANewStoreIsEmpty) {
  auto loaded = reload();
  ASSERT_TRUE(loaded.is_ok());
  EXPECT_TRUE(same(*loaded, Persisted{}));
}

TEST_F(LogStoreTest, ARaftNodeRestartsFromItsStore) {
  Config c;
  c.id = 1;
  c.voters = {1};
  {
    auto store = open();
    Raft r(c, Persisted{});
    for (int i = 0; i < 30 && r.role() != Role::kLeader; ++i) r.tick();
    ASSERT_EQ(r.role(), Role::kLeader);
    ASSERT_TRUE(r.propose("a").is_ok());
    ASSERT_TRUE(r.propose("b").is_ok());
    Ready rd = r.ready();
    ASSERT_TRUE(store->save(rd).is_ok());
    r.advance(rd);
  }
  auto loaded = reload();
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().message();
  Raft again(c, *loaded);
  EXPECT_EQ(again.last_index(), 4u);  // membership, the leader's empty entry, a, b
  EXPECT_EQ(again.commit_index(), 4u);
  EXPECT_EQ(again.entries().back().data, "b");
  EXPECT_TRUE(again.membership().is_voter(1));
}

// Runs the writer child until it reports `acked` durable steps (at least),
// then kills it with SIGKILL. Returns how many steps it reported.
size_t run_and_kill(const fs::path& dir, size_t acked) {
  int out[2];
  EXPECT_EQ(::pipe(out), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  std::string path = dir.string();
  char* argv[] = {const_cast<char*>(DFS_LOG_STORE_WRITER), path.data(), nullptr};
  pid_t pid = 0;
  int rc = posix_spawn(&pid, DFS_LOG_STORE_WRITER, &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  EXPECT_EQ(rc, 0) << "cannot start " << DFS_LOG_STORE_WRITER;
  // Each step is reported as "N\n"; wait for them, at most 30 s per read.
  size_t reported = 0;
  std::string pending;
  while (reported < acked) {
    pollfd p{out[0], POLLIN, 0};
    if (::poll(&p, 1, 30000) <= 0) {
      ADD_FAILURE() << "the writer reported nothing for 30 s";
      break;
    }
    char buf[256];
    ssize_t got = ::read(out[0], buf, sizeof(buf));
    if (got <= 0) break;  // it finished (or died) before `acked`
    pending.append(buf, static_cast<size_t>(got));
    for (size_t nl; (nl = pending.find('\n')) != std::string::npos; pending.erase(0, nl + 1)) {
      reported = std::stoul(pending.substr(0, nl));
    }
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(out[0]);
  return reported;
}

TEST_F(LogStoreTest, AKillAtAnyStepKeepsEveryReportedStepAndNoHalfStep) {
  auto steps = write_sequence();
  // What the store must hold after each prefix of the sequence.
  std::vector<Persisted> after(steps.size() + 1);
  for (size_t i = 0; i < steps.size(); ++i) {
    after[i + 1] = after[i];
    model(after[i + 1], steps[i]);
  }
  size_t beyond = 0;
  for (size_t k = 0; k <= steps.size(); ++k) {
    fs::remove_all(dir_);
    size_t reported = run_and_kill(dir_, k);
    ASSERT_GE(reported, k) << "the writer stopped early";
    auto loaded = reload();
    ASSERT_TRUE(loaded.is_ok()) << "killed after step " << k << ": " << loaded.status().message();
    // Exactly the state after some whole step at or past the last reported.
    bool matched = false;
    for (size_t j = reported; j <= steps.size() && !matched; ++j) {
      if (same(*loaded, after[j])) {
        matched = true;
        if (j > reported) ++beyond;
      }
    }
    EXPECT_TRUE(matched) << "killed after step " << reported << ", reloaded " << describe(*loaded);
  }
  std::printf("kills that landed after a step was written but before it was reported: %zu\n",
              beyond);
}

class LogStoreCorruptionTest : public LogStoreTest {
 protected:
  // Saves the sequence's first steps, then edits the store behind its back.
  void damage(const std::function<void(rocksdb::DB*)>& edit) {
    {
      auto store = open();
      auto steps = write_sequence();
      for (size_t i = 0; i < 8; ++i) ASSERT_TRUE(store->save(steps[i].ready).is_ok());
    }
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), dir_.string(), &raw).ok());
    edit(raw);
    delete raw;
  }
  static std::string key(uint64_t index) {
    std::string k = "e";
    for (int shift = 56; shift >= 0; shift -= 8) k.push_back(static_cast<char>(index >> shift));
    return k;
  }
  void expect_corruption(const std::string& words) {
    auto loaded = reload();
    ASSERT_FALSE(loaded.is_ok());
    EXPECT_EQ(loaded.status().code(), Code::kCorruption);
    EXPECT_NE(loaded.status().message().find(words), std::string::npos)
        << loaded.status().message();
  }
};

TEST_F(LogStoreCorruptionTest, AnEntryThatDoesNotDecodeIsReported) {
  damage([](rocksdb::DB* db) { db->Put(rocksdb::WriteOptions(), key(5), "\xc1garbage"); });
  expect_corruption("entry 5 does not decode");
}

TEST_F(LogStoreCorruptionTest, AGapInTheLogIsReported) {
  damage([](rocksdb::DB* db) { db->Delete(rocksdb::WriteOptions(), key(7)); });
  expect_corruption("entries jump from 6 to 8");
}

TEST_F(LogStoreCorruptionTest, ACommitBeyondTheLogIsReported) {
  damage([](rocksdb::DB* db) {
    db->DeleteRange(rocksdb::WriteOptions(), db->DefaultColumnFamily(), key(10), "f");
  });
  expect_corruption("commits index");
}

TEST_F(LogStoreCorruptionTest, AnEntryStoredUnderAnotherIndexIsReported) {
  damage([](rocksdb::DB* db) {
    std::string v;
    db->Get(rocksdb::ReadOptions(), key(4), &v);
    db->Put(rocksdb::WriteOptions(), key(3), v);
  });
  expect_corruption("entry stored at 3 says it is 4");
}

}  // namespace
}  // namespace dfs::raft
