// The worker's chunk store: what a reader can see, and what survives a crash.
#include <gtest/gtest.h>

#include <fstream>

#include "bus/chunk_transfer.h"
#include "codec/crc32c.h"
#include "codec/sha256.h"
#include "tests/chunk_store_util.h"
#include "tests/test_util.h"
#include "worker/chunk_store.h"
#include "worker/scrubber.h"

namespace dfs {
namespace {

class ChunkStoreTest : public ::testing::Test {
 protected:
  const std::string kId = "00112233445566778899aabbccddeeff";

  std::unique_ptr<ChunkStore> open(uint64_t capacity = 0) {
    auto s = ChunkStore::open({dir_.path(), capacity});
    EXPECT_TRUE(s.is_ok()) << s.status().to_string();
    return std::move(s).value();
  }

  // Writes `data` as chunk `id` in frames of `frame` bytes and commits it.
  Status store(ChunkStore& cs, const std::string& id, const std::string& data,
               size_t frame = 1000) {
    auto w = cs.create(id, data.size());
    if (!w.is_ok()) return w.status();
    for (size_t off = 0; off < data.size(); off += frame) {
      DFS_RETURN_IF_ERROR(w.value()->append(data.data() + off, std::min(frame, data.size() - off)));
    }
    return w.value()->commit(Sha256::hex_of(data));
  }

  size_t temporaries() {
    size_t n = 0;
    for (auto& e : std::filesystem::directory_iterator(dir_ / "tmp")) n += e.is_regular_file();
    return n;
  }

  test::TempDir dir_;
};

TEST_F(ChunkStoreTest, StoredChunkReadsBackWhole) {
  auto cs = open();
  std::string data = test::random_bytes(12345, 1);
  ASSERT_TRUE(store(*cs, kId, data).is_ok());
  EXPECT_EQ(test::read_chunk(*cs, kId), data);
  EXPECT_EQ(cs->chunk_count(), 1u);
  EXPECT_TRUE(cs->contains(kId));
  auto h = cs->header(kId);
  ASSERT_TRUE(h.is_ok());
  EXPECT_EQ(h->sha256, Sha256::hex_of(data));
  EXPECT_EQ(temporaries(), 0u);
}

TEST_F(ChunkStoreTest, EachBlockHasItsCrcOnDiskAndInReads) {
  auto cs = open();
  // Three whole blocks and a short one, written in frames that cut across blocks.
  std::string data = test::random_bytes(3 * kCrcBlockSize + 1234, 8);
  ASSERT_TRUE(store(*cs, kId, data, 50000).is_ok());
  auto r = cs->open_reader(kId);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r.value()->header().block_size, kCrcBlockSize);
  std::vector<uint32_t> want;
  for (size_t at = 0; at < data.size(); at += kCrcBlockSize) {
    want.push_back(crc32c(data.data() + at, std::min<size_t>(kCrcBlockSize, data.size() - at)));
  }
  EXPECT_EQ(r.value()->block_crcs(0, data.size()), want);
  EXPECT_EQ(r.value()->block_crcs(kCrcBlockSize, 10), std::vector<uint32_t>{want[1]});
  EXPECT_EQ(r.value()->block_crcs(3 * kCrcBlockSize, 1 << 20), std::vector<uint32_t>{want[3]});
  EXPECT_TRUE(r.value()->block_crcs(100, 10).empty());  // not at a block's start
  EXPECT_EQ(std::filesystem::file_size(cs->chunk_path(kId)), chunk_file_bytes(data.size()));
}

TEST_F(ChunkStoreTest, AReaderChecksEachBlockAgainstItsCrc) {
  std::string data = test::random_bytes(2 * kCrcBlockSize + 10, 9);
  ReadChunkReply reply{kId, 0, data.size(), kCrcBlockSize, {}};
  for (size_t at = 0; at < data.size(); at += kCrcBlockSize) {
    reply.block_crcs.push_back(
        crc32c(data.data() + at, std::min<size_t>(kCrcBlockSize, data.size() - at)));
  }
  EXPECT_TRUE(check_blocks(reply, data.data(), data.size()).is_ok());
  std::string damaged = data;
  damaged[kCrcBlockSize + 7] ^= 1;
  Status s = check_blocks(reply, damaged.data(), damaged.size());
  EXPECT_EQ(s.code(), Code::kChecksumMismatch);
  EXPECT_NE(s.message().find("block at " + std::to_string(kCrcBlockSize)), std::string::npos)
      << s.message();
  // As many CRCs as blocks, or the reply is not believed.
  reply.block_crcs.pop_back();
  EXPECT_EQ(check_blocks(reply, data.data(), data.size()).code(), Code::kProtocol);
  // A chunk stored without block CRCs: nothing to check here (its SHA-256 is).
  EXPECT_TRUE(check_blocks(ReadChunkReply{kId, 0, data.size()}, damaged.data(), 10).is_ok());
}

TEST_F(ChunkStoreTest, AChunkStoredWithoutBlockCrcsIsStillServed) {
  auto cs = open();
  std::string data = test::random_bytes(100000, 10);
  // As a worker before block CRCs wrote it: format 1.
  std::filesystem::create_directories(std::filesystem::path(cs->chunk_path(kId)).parent_path());
  {
    std::ofstream f(cs->chunk_path(kId), std::ios::binary);
    f << ChunkFileHeader{data.size(), Sha256::hex_of(data), 0}.encode() << data;
  }
  EXPECT_EQ(test::read_chunk(*cs, kId), data);
  auto r = cs->open_reader(kId);
  ASSERT_TRUE(r.is_ok());
  EXPECT_TRUE(r.value()->block_crcs(0, 1000).empty());
}

TEST_F(ChunkStoreTest, AChunkFileOfTheWrongLengthIsCorrupt) {
  auto cs = open();
  ASSERT_TRUE(store(*cs, kId, test::random_bytes(100000, 11)).is_ok());
  std::filesystem::resize_file(cs->chunk_path(kId), chunk_file_bytes(100000) - 1);
  auto r = cs->open_reader(kId);
  EXPECT_EQ(r.status().code(), Code::kCorruption);
  std::filesystem::resize_file(cs->chunk_path(kId), chunk_file_bytes(100000) + 1);
  EXPECT_EQ(cs->open_reader(kId).status().code(), Code::kCorruption);
}

TEST(BlockCrcsTest, PiecesOfAnySizeGiveTheCrcsOfTheWhole) {
  std::string data = test::random_bytes(5 * kCrcBlockSize / 2, 12);
  BlockCrcs whole;
  whole.update(data.data(), data.size());
  std::vector<uint32_t> want = whole.finish();
  ASSERT_EQ(want.size(), 3u);
  BlockCrcs pieces;
  for (size_t at = 0, step = 1; at < data.size(); at += step, step = step * 3 + 1) {
    pieces.update(data.data() + at, std::min(step, data.size() - at));
  }
  EXPECT_EQ(pieces.finish(), want);
  EXPECT_TRUE(BlockCrcs().finish().empty());
}

TEST_F(ChunkStoreTest, ReadsAtAnOffset) {
  auto cs = open();
  std::string data = test::random_bytes(5000, 2);
  ASSERT_TRUE(store(*cs, kId, data).is_ok());
  std::string buf(100, '\0');
  uint64_t total = 0;
  auto n = cs->read(kId, 4950, 100, buf.data(), &total);
  ASSERT_TRUE(n.is_ok());
  EXPECT_EQ(n.value(), 50u);
  EXPECT_EQ(total, 5000u);
  EXPECT_EQ(buf.substr(0, 50), data.substr(4950));
}

TEST_F(ChunkStoreTest, ChunkBeingWrittenIsInvisible) {
  auto cs = open();
  auto w = cs->create(kId, 10);
  ASSERT_TRUE(w.is_ok());
  ASSERT_TRUE(w.value()->append("hello", 5).is_ok());
  EXPECT_FALSE(cs->contains(kId));
  char buf[10];
  uint64_t total;
  EXPECT_EQ(cs->read(kId, 0, 10, buf, &total).status().code(), Code::kNotFound);
  EXPECT_EQ(cs->create(kId, 10).status().code(), Code::kAlreadyExists);
}

TEST_F(ChunkStoreTest, ChecksumMismatchLeavesNothing) {
  auto cs = open();
  auto w = cs->create(kId, 5);
  ASSERT_TRUE(w.is_ok());
  ASSERT_TRUE(w.value()->append("hello", 5).is_ok());
  Status s = w.value()->commit(Sha256::hex_of("jello"));
  EXPECT_EQ(s.code(), Code::kChecksumMismatch);
  EXPECT_FALSE(cs->contains(kId));
  EXPECT_EQ(temporaries(), 0u);
  EXPECT_EQ(cs->used(), 0u);
}

TEST_F(ChunkStoreTest, ShortWriteIsRefusedAtCommit) {
  auto cs = open();
  auto w = cs->create(kId, 10);
  ASSERT_TRUE(w.value()->append("hello", 5).is_ok());
  EXPECT_FALSE(w.value()->commit(Sha256::hex_of("hello")).is_ok());
  EXPECT_FALSE(cs->contains(kId));
  EXPECT_EQ(temporaries(), 0u);
}

TEST_F(ChunkStoreTest, AbandonedWriterRemovesItsTemporary) {
  auto cs = open();
  {
    auto w = cs->create(kId, 10);
    ASSERT_TRUE(w.value()->append("hello", 5).is_ok());
    EXPECT_EQ(temporaries(), 1u);
  }
  EXPECT_EQ(temporaries(), 0u);
  EXPECT_EQ(cs->used(), 0u);
}

TEST_F(ChunkStoreTest, LeftoverTemporariesAreSweptAtOpen) {
  std::filesystem::create_directories(dir_ / "tmp");
  std::ofstream(dir_ / ("tmp/" + kId + ".1")) << "half a chunk from a crash";
  auto cs = open();
  EXPECT_EQ(temporaries(), 0u);
  EXPECT_EQ(cs->chunk_count(), 0u);
}

// A group commit: sealed writers published together, each stored whole;
// before publish, a restart (the store opened again) finds none of them.
TEST_F(ChunkStoreTest, SealedWritersArePublishedTogetherAndNoneIsFoundByARestartBefore) {
  std::vector<std::string> ids, bodies;
  for (int i = 0; i < 4; ++i) {
    ids.push_back("0123456789abcdef0123456789abcd" + std::to_string(10 + i));
    bodies.push_back(test::random_bytes(3000 + 1000 * i, 20 + i));
  }
  {
    auto cs = open();
    std::vector<std::unique_ptr<ChunkWriter>> writers;
    for (size_t i = 0; i < ids.size(); ++i) {
      auto w = cs->create(ids[i], bodies[i].size());
      ASSERT_TRUE(w.is_ok());
      ASSERT_TRUE(w.value()->append(bodies[i].data(), bodies[i].size()).is_ok());
      ASSERT_TRUE(w.value()->seal(Sha256::hex_of(bodies[i])).is_ok());
      EXPECT_FALSE(cs->contains(ids[i]));
      writers.push_back(std::move(w).value());
    }
    // The restart: the store is opened again, the writers' files left as
    // they are, unpublished.
    auto after_crash = open();
    EXPECT_EQ(after_crash->chunk_count(), 0u);
    EXPECT_EQ(temporaries(), 0u);
  }
  auto cs = open();
  EXPECT_EQ(cs->chunk_count(), 0u);

  std::vector<std::unique_ptr<ChunkWriter>> writers;
  std::vector<ChunkWriter*> sealed;
  for (size_t i = 0; i < ids.size(); ++i) {
    auto w = cs->create(ids[i], bodies[i].size());
    ASSERT_TRUE(w.is_ok());
    ASSERT_TRUE(w.value()->append(bodies[i].data(), bodies[i].size()).is_ok());
    // One seal fails (a wrong checksum): it drops out, the rest go on.
    Status sealed_ok =
        w.value()->seal(i == 1 ? Sha256::hex_of("other") : Sha256::hex_of(bodies[i]));
    EXPECT_EQ(sealed_ok.is_ok(), i != 1);
    if (sealed_ok.is_ok()) sealed.push_back(w.value().get());
    writers.push_back(std::move(w).value());
  }
  auto done = cs->publish(sealed);
  ASSERT_EQ(done.size(), 3u);
  for (const auto& s : done) EXPECT_TRUE(s.is_ok()) << s.to_string();
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i == 1) {
      EXPECT_FALSE(cs->contains(ids[i]));
    } else {
      EXPECT_EQ(test::read_chunk(*cs, ids[i]), bodies[i]);
    }
  }
  EXPECT_EQ(temporaries(), 0u);
  EXPECT_EQ(cs->used(), chunk_file_bytes(3000) + chunk_file_bytes(5000) + chunk_file_bytes(6000));
  writers.clear();  // published writers are done: nothing is undone
  auto again = open();
  EXPECT_EQ(again->chunk_count(), 3u);
}

// A publish may mix small chunks (grouped), a large one (published alone),
// a writer that is not sealed and a grouped one whose rename fails: each
// answer stays in its writer's place.
TEST_F(ChunkStoreTest, PublishAnswersEachWriterInItsPlaceWhateverItsSize) {
  auto cs = open();
  const std::vector<size_t> sizes = {4000, ChunkStore::kGroupChunkBytes + 1, 5000, 6000, 7000};
  const size_t unsealed = 2, blocked = 3;
  std::vector<std::string> ids, bodies;
  std::vector<std::unique_ptr<ChunkWriter>> writers;
  std::vector<ChunkWriter*> given;
  for (size_t i = 0; i < sizes.size(); ++i) {
    ids.push_back("a123456789abcdef0123456789abcd" + std::to_string(10 + i));
    bodies.push_back(test::random_bytes(sizes[i], 40 + i));
    auto w = cs->create(ids[i], bodies[i].size());
    ASSERT_TRUE(w.is_ok());
    ASSERT_TRUE(w.value()->append(bodies[i].data(), bodies[i].size()).is_ok());
    if (i != unsealed) {
      ASSERT_TRUE(w.value()->seal(Sha256::hex_of(bodies[i])).is_ok());
    }
    given.push_back(w.value().get());
    writers.push_back(std::move(w).value());
  }
  // A directory where a chunk's file must go: its rename fails.
  std::filesystem::create_directories(cs->chunk_path(ids[blocked]));
  auto done = cs->publish(given);
  ASSERT_EQ(done.size(), sizes.size());
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (i == unsealed) {
      EXPECT_EQ(done[i].code(), Code::kInternal) << done[i].to_string();
    } else if (i == blocked) {
      EXPECT_EQ(done[i].code(), Code::kIoError) << done[i].to_string();
      EXPECT_NE(done[i].message().find("rename"), std::string::npos) << done[i].to_string();
    } else {
      EXPECT_TRUE(done[i].is_ok()) << i << ": " << done[i].to_string();
      const std::string got = test::read_chunk(*cs, ids[i]);
      EXPECT_TRUE(got == bodies[i]) << "chunk " << i << ": read " << got.size() << " bytes";
    }
  }
  EXPECT_FALSE(cs->contains(ids[unsealed]));
  EXPECT_EQ(temporaries(), 1u);  // the unsealed writer's, until it is dropped
  writers.clear();
  EXPECT_EQ(temporaries(), 0u);
  EXPECT_EQ(cs->used(),
            chunk_file_bytes(sizes[0]) + chunk_file_bytes(sizes[1]) + chunk_file_bytes(sizes[4]));
}

TEST_F(ChunkStoreTest, ReopenCountsWhatIsStored) {
  {
    auto cs = open();
    ASSERT_TRUE(store(*cs, kId, test::random_bytes(1000, 3)).is_ok());
    ASSERT_TRUE(
        store(*cs, "ffeeddccbbaa99887766554433221100", test::random_bytes(2000, 4)).is_ok());
  }
  auto cs = open();
  EXPECT_EQ(cs->chunk_count(), 2u);
  EXPECT_EQ(cs->used(), chunk_file_bytes(1000) + chunk_file_bytes(2000));
}

TEST_F(ChunkStoreTest, ChunkThatDoesNotFitIsRefusedAsDiskFull) {
  auto cs = open(/*capacity=*/10000);
  ASSERT_TRUE(store(*cs, kId, test::random_bytes(6000, 5)).is_ok());
  auto w = cs->create("ffeeddccbbaa99887766554433221100", 6000);
  ASSERT_FALSE(w.is_ok());
  EXPECT_EQ(w.status().code(), Code::kDiskFull);
  EXPECT_NE(w.status().message().find("no room"), std::string::npos);
}

TEST_F(ChunkStoreTest, ReservationsCountAgainstCapacity) {
  auto cs = open(/*capacity=*/10000);
  auto first = cs->create(kId, 6000);
  ASSERT_TRUE(first.is_ok());
  EXPECT_EQ(cs->create("ffeeddccbbaa99887766554433221100", 6000).status().code(), Code::kDiskFull);
  first.value()->abort();
  EXPECT_TRUE(cs->create("ffeeddccbbaa99887766554433221100", 6000).is_ok());
}

TEST_F(ChunkStoreTest, MissingChunkIsNotFound) {
  auto cs = open();
  char buf[10];
  uint64_t total;
  auto r = cs->read(kId, 0, 10, buf, &total);
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_NE(r.status().message().find(kId), std::string::npos);
}

TEST_F(ChunkStoreTest, CorruptHeaderIsReportedNotServed) {
  auto cs = open();
  ASSERT_TRUE(store(*cs, kId, "some bytes").is_ok());
  {
    std::fstream f(cs->chunk_path(kId), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(0);
    f.write("XXXX", 4);
  }
  char buf[10];
  uint64_t total;
  EXPECT_EQ(cs->read(kId, 0, 10, buf, &total).status().code(), Code::kCorruption);
}

TEST_F(ChunkStoreTest, RemoveIsIdempotentAndReported) {
  auto cs = open();
  ASSERT_TRUE(store(*cs, kId, "abc").is_ok());
  ASSERT_TRUE(cs->remove(kId).is_ok());
  ASSERT_TRUE(cs->remove(kId).is_ok());
  EXPECT_FALSE(cs->contains(kId));
  EXPECT_EQ(cs->used(), 0u);
  EXPECT_EQ(cs->take_deleted(10), (std::vector<std::string>{kId, kId}));
  EXPECT_TRUE(cs->take_deleted(10).empty());
}

TEST_F(ChunkStoreTest, BadIdsAreRefused) {
  auto cs = open();
  EXPECT_EQ(cs->create("../../etc/passwd", 10).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(cs->remove("../x").code(), Code::kInvalidArgument);
}

// ---- the scrubber's verdict on one chunk ----

TEST_F(ChunkStoreTest, TheScrubberFindsAFlippedByteATruncationAndAVanishedFile) {
  auto cs = open();
  const std::string a = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", b = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
                    c = "cccccccccccccccccccccccccccccccc", d = "dddddddddddddddddddddddddddddddd";
  std::string data = test::random_bytes(300000, 7);
  for (const auto& id : {a, b, c, d}) ASSERT_TRUE(store(*cs, id, data).is_ok());
  EXPECT_EQ(Scrubber::check(*cs, a), "");
  {
    std::fstream f(cs->chunk_path(b), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(128 + 1234);
    f.put(static_cast<char>(data[1234] ^ 1));
  }
  EXPECT_NE(Scrubber::check(*cs, b).find("SHA-256"), std::string::npos);
  std::filesystem::resize_file(cs->chunk_path(c), 128 + 1000);
  EXPECT_NE(Scrubber::check(*cs, c).find("shorter"), std::string::npos);
  std::filesystem::remove(cs->chunk_path(d));
  EXPECT_EQ(Scrubber::check(*cs, d), "missing");
}

// With block CRCs a worker checks blocks, not the SHA-256: a writer whose
// SHA-256 does not match its bytes (a bug, or a liar harming its own file)
// gets a chunk stored under it, which the scrubber then finds.
TEST_F(ChunkStoreTest, AChunkCheckedByCrcsCarriesTheWritersSha256WhichTheScrubberChecks) {
  auto cs = open();
  std::string data = test::random_bytes(100000, 17);
  std::vector<uint32_t> crcs;
  for (size_t at = 0; at < data.size(); at += kCrcBlockSize) {
    crcs.push_back(crc32c(data.data() + at, std::min<size_t>(kCrcBlockSize, data.size() - at)));
  }
  auto good = cs->create(kId, data.size());
  ASSERT_TRUE(good.is_ok());
  ASSERT_TRUE(good.value()->append(data.data(), data.size(), crcs).is_ok());
  ASSERT_TRUE(good.value()->commit(Sha256::hex_of(data)).is_ok());
  EXPECT_EQ(Scrubber::check(*cs, kId), "");
  auto crcs_back = cs->open_reader(kId);
  ASSERT_TRUE(crcs_back.is_ok());
  EXPECT_EQ(crcs_back.value()->block_crcs(0, data.size()), crcs);

  const std::string liar = "ffeeddccbbaa99887766554433221100";
  auto w = cs->create(liar, data.size());
  ASSERT_TRUE(w.is_ok());
  ASSERT_TRUE(w.value()->append(data.data(), data.size(), crcs).is_ok());
  ASSERT_TRUE(w.value()->commit(Sha256::hex_of("something else")).is_ok());
  EXPECT_NE(Scrubber::check(*cs, liar).find("SHA-256"), std::string::npos);
}

TEST_F(ChunkStoreTest, TheScrubberFindsADamagedCrcTable) {
  auto cs = open();
  std::string data = test::random_bytes(200000, 13);
  ASSERT_TRUE(store(*cs, kId, data).is_ok());
  EXPECT_EQ(Scrubber::check(*cs, kId), "");
  {
    // The second block's CRC, after the header and the bytes.
    std::fstream f(cs->chunk_path(kId), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(kChunkHeaderSize + data.size() + 4));
    f.put('\x42');
  }
  EXPECT_NE(Scrubber::check(*cs, kId).find("block CRCs"), std::string::npos);
}

TEST_F(ChunkStoreTest, AChunkRemovedOnOrdersIsNotCountedAsVanished) {
  auto cs = open();
  ASSERT_TRUE(store(*cs, kId, "x").is_ok());
  EXPECT_FALSE(cs->was_removed(kId));
  ASSERT_TRUE(cs->remove(kId).is_ok());
  EXPECT_TRUE(cs->was_removed(kId));
  ASSERT_TRUE(store(*cs, kId, "x").is_ok());  // a repair writes it again
  EXPECT_FALSE(cs->was_removed(kId));
}

// ---- what the scrubber still has to tell the master ----

TEST(ScrubFindingsTest, AFindingStandsUntilSettledOrTooOldAndIsToldOnce) {
  using Clock = ScrubFindings::Clock;
  const auto t0 = Clock::time_point() + std::chrono::hours(1);
  ScrubFindings f(2, std::chrono::minutes(10));
  EXPECT_TRUE(f.add("a", "missing", t0));
  EXPECT_FALSE(f.add("a", "missing", t0));  // found again by a later pass: not news
  EXPECT_TRUE(f.add("b", "bytes do not match", t0 + std::chrono::minutes(5)));
  EXPECT_FALSE(f.add("c", "missing", t0));  // bounded
  auto none = [](const std::string&, const std::string&) { return false; };
  EXPECT_EQ(f.standing(t0 + std::chrono::minutes(9), none).size(), 2u);
  // The master never acted on "a" (it records no copy here): dropped.
  auto later = f.standing(t0 + std::chrono::minutes(10), none);
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].first, "b");
  // "b" was deleted on the master's orders.
  auto settled = [](const std::string& id, const std::string&) { return id == "b"; };
  EXPECT_TRUE(f.standing(t0 + std::chrono::minutes(11), settled).empty());
  EXPECT_EQ(f.size(), 0u);
}

}  // namespace
}  // namespace dfs
