// The mount's pure cores: the attribute cache and the readahead reader.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <random>
#include <vector>

#include "client/mount/file_reader.h"
#include "client/mount/meta_cache.h"

namespace dfs {
namespace {

EntryInfo file_entry(uint64_t size) {
  EntryInfo e;
  e.size = size;
  e.mode = 0644;
  return e;
}

TEST(MetaCache, AnswersUntilTheTtlEnds) {
  MetaCache cache(1000, 10);
  cache.put("/a", file_entry(5), 0);
  auto hit = cache.find("/a", 999);
  ASSERT_TRUE(hit);
  EXPECT_TRUE(hit->exists);
  EXPECT_EQ(hit->entry.size, 5u);
  EXPECT_FALSE(cache.find("/a", 1000));
  EXPECT_EQ(cache.size(), 0u);  // an expired entry is dropped when found
}

TEST(MetaCache, RemembersAbsence) {
  MetaCache cache(1000, 10);
  cache.put_missing("/gone", 0);
  auto hit = cache.find("/gone", 10);
  ASSERT_TRUE(hit);
  EXPECT_FALSE(hit->exists);
}

TEST(MetaCache, HoldsAtMostItsCapacityDroppingTheOldest) {
  MetaCache cache(1000, 3);
  for (int i = 0; i < 5; ++i) cache.put("/f" + std::to_string(i), file_entry(i), i);
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_FALSE(cache.find("/f0", 10));
  EXPECT_FALSE(cache.find("/f1", 10));
  EXPECT_TRUE(cache.find("/f4", 10));
  cache.put("/f2", file_entry(9), 11);  // stored again: now the newest
  cache.put("/f5", file_entry(5), 12);
  EXPECT_TRUE(cache.find("/f2", 13));
  EXPECT_FALSE(cache.find("/f3", 13));
}

TEST(MetaCache, ForgetsAPathOrAWholeSubtree) {
  MetaCache cache(1000, 100);
  for (const char* p : {"/d", "/d/a", "/d/b/c", "/dx", "/e"}) cache.put(p, file_entry(1), 0);
  cache.forget("/e");
  EXPECT_FALSE(cache.find("/e", 1));
  cache.forget("/d", /*subtree=*/true);
  EXPECT_FALSE(cache.find("/d", 1));
  EXPECT_FALSE(cache.find("/d/a", 1));
  EXPECT_FALSE(cache.find("/d/b/c", 1));
  EXPECT_TRUE(cache.find("/dx", 1));  // a sibling whose name starts the same
}

TEST(MetaCache, AZeroTtlCachesNothing) {
  MetaCache cache(0, 100);
  cache.put("/a", file_entry(1), 0);
  EXPECT_FALSE(cache.find("/a", 0));
}

// A file of `size` bytes whose byte i is i*7 mod 251, fetched with a record
// of every fetch.
class FakeFile {
 public:
  explicit FakeFile(uint64_t size) : size_(size) {}
  FileReader::Fetch fetch() {
    return [this](uint64_t offset, uint64_t length, std::string* out) {
      std::lock_guard<std::mutex> lock(mu_);
      fetches_.emplace_back(offset, length);
      if (fail_) return Status(Code::kUnavailable, "no replica");
      out->clear();
      for (uint64_t i = offset; i < std::min(size_, offset + length); ++i) out->push_back(at(i));
      return Status::ok();
    };
  }
  static char at(uint64_t i) { return static_cast<char>(i * 7 % 251); }
  std::vector<std::pair<uint64_t, uint64_t>> fetches() {
    std::lock_guard<std::mutex> lock(mu_);
    return fetches_;
  }
  uint64_t fetched_bytes() {
    uint64_t n = 0;
    for (auto& f : fetches()) n += f.second;
    return n;
  }
  void set_fail(bool f) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_ = f;
  }

 private:
  uint64_t size_;
  std::mutex mu_;
  bool fail_ = false;
  std::vector<std::pair<uint64_t, uint64_t>> fetches_;
};

bool reads_back(FileReader& r, uint64_t offset, size_t size, uint64_t file_size) {
  std::string buf(size, '\0');
  auto n = r.read(offset, size, buf.data());
  if (!n.is_ok()) return false;
  size_t want = offset >= file_size ? 0 : std::min<uint64_t>(size, file_size - offset);
  if (n.value() != want) return false;
  for (size_t i = 0; i < want; ++i) {
    if (buf[i] != FakeFile::at(offset + i)) return false;
  }
  return true;
}

TEST(FileReader, SequentialReadsGrowTheWindowAndFetchAhead) {
  const uint64_t size = 64 << 20;
  FakeFile file(size);
  FileReader r(size, file.fetch(), 256 << 10, 8 << 20);
  const size_t piece = 128 << 10;
  for (uint64_t off = 0; off < size; off += piece) ASSERT_TRUE(reads_back(r, off, piece, size));
  EXPECT_EQ(r.window(), 8u << 20);
  // Far fewer fetches than reads, each byte fetched once.
  EXPECT_LT(file.fetches().size(), 20u);
  EXPECT_EQ(file.fetched_bytes(), size);
}

TEST(FileReader, ARandomReadFetchesLittle) {
  const uint64_t size = 64 << 20;
  FakeFile file(size);
  FileReader r(size, file.fetch(), 256 << 10, 8 << 20);
  ASSERT_TRUE(reads_back(r, 40 << 20, 4096, size));
  ASSERT_TRUE(reads_back(r, 3 << 20, 4096, size));
  EXPECT_EQ(r.window(), 256u << 10);
  EXPECT_LE(file.fetched_bytes(), 2u * (256 << 10) + 2 * 4096);
}

TEST(FileReader, EveryReadAnywhereReturnsTheFilesBytes) {
  const uint64_t size = (5 << 20) + 333;
  FakeFile file(size);
  FileReader r(size, file.fetch(), 64 << 10, 2 << 20);
  std::mt19937_64 rng(7);
  for (int i = 0; i < 300; ++i) {
    uint64_t off = rng() % (size + 1000);
    size_t len = static_cast<size_t>(rng() % (700 << 10));
    // Runs of sequential reads between the jumps.
    for (int k = 0; k < 3; ++k, off += len) ASSERT_TRUE(reads_back(r, off, len, size)) << off;
  }
  EXPECT_TRUE(reads_back(r, size, 10, size));  // at the end: nothing
  EXPECT_TRUE(reads_back(r, size - 1, 10, size));
  EXPECT_TRUE(reads_back(r, 0, 0, size));
}

TEST(FileReader, AFailedFetchIsTheReadsErrorAndALaterReadTriesAgain) {
  const uint64_t size = 4 << 20;
  FakeFile file(size);
  FileReader r(size, file.fetch(), 64 << 10, 1 << 20);
  file.set_fail(true);
  std::string buf(4096, '\0');
  auto n = r.read(0, buf.size(), buf.data());
  ASSERT_FALSE(n.is_ok());
  EXPECT_EQ(n.status().code(), Code::kUnavailable);
  file.set_fail(false);
  EXPECT_TRUE(reads_back(r, 0, 4096, size));
  // A failure while fetching ahead is not kept: the read fetches again.
  file.set_fail(true);
  std::string rest(size, '\0');
  for (uint64_t off = 4096; off < size; off += 4096) {
    if (!r.read(off, 4096, rest.data()).is_ok()) break;
  }
  file.set_fail(false);
  for (uint64_t off = 0; off < size; off += 65536) ASSERT_TRUE(reads_back(r, off, 65536, size));
}

TEST(FileReader, AShortFetchIsAnError) {
  const uint64_t size = 1 << 20;
  FileReader r(
      size,
      [](uint64_t, uint64_t length, std::string* out) {
        out->assign(length / 2, 'x');
        return Status::ok();
      },
      4096, 65536);
  std::string buf(4096, '\0');
  auto n = r.read(0, buf.size(), buf.data());
  ASSERT_FALSE(n.is_ok());
  EXPECT_EQ(n.status().code(), Code::kIoError);
}

}  // namespace
}  // namespace dfs
