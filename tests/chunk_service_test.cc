// The worker's request logic, without sockets: the write protocol's frame
// rules, reads in frames, and what happens to abandoned or deleted chunks.
#include <gtest/gtest.h>

#include "codec/crc32c.h"
#include "codec/sha256.h"
#include "tests/test_util.h"
#include "worker/chunk_service.h"

namespace dfs {
namespace {

using namespace std::chrono_literals;

class ChunkServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::move(ChunkStore::open({dir_.path(), 0})).value();
    service_ = std::make_unique<ChunkService>("w1", store_.get(), 1000ms);
  }

  struct Frame {
    WriteChunkFrame header;
    zmq::message_t data;
  };
  Frame frame(const std::string& data, uint64_t offset, uint64_t total, bool last,
              const std::string& sha = "") {
    return {WriteChunkFrame{kId, offset, total, last, sha, {}},
            zmq::message_t(data.data(), data.size())};
  }
  // One frame, answered as the disk thread answers it: a sealed chunk
  // (the last frame) once it is committed.
  Result<WriteChunkAck> send(Frame f, ChunkService::Clock::time_point at = {}) {
    auto answer =
        service_->write(f.header, f.data, at == ChunkService::Clock::time_point{} ? now_ : at);
    if (!answer) {
      auto committed = service_->commit_sealed();
      EXPECT_EQ(committed.size(), 1u);
      if (committed.empty()) return Status(Code::kInternal, "sealed but not committed");
      answer = committed.front();
    }
    const ReplicaAck& ack = *answer;
    EXPECT_EQ(ack.worker_id, "w1");
    if (ack.failed()) return Status(static_cast<Code>(ack.code), ack.message);
    return WriteChunkAck{ack.chunk_id, ack.received, ack.stored};
  }
  Result<std::string> read(uint64_t offset, uint64_t len, ChunkService::Clock::time_point at) {
    Envelope env = make_envelope(ReadChunkRequest{kId, offset, len}, ++req_);
    Envelope reply = service_->handle(std::move(env), at);
    auto rep = decode_reply<ReadChunkReply>(reply);
    if (!rep.is_ok()) return rep.status();
    return reply.data.at(0).to_string();
  }

  const std::string kId = "abcdefabcdefabcdefabcdefabcdef12";
  test::TempDir dir_;
  std::unique_ptr<ChunkStore> store_;
  std::unique_ptr<ChunkService> service_;
  ChunkService::Clock::time_point now_ = ChunkService::Clock::now();
  uint64_t req_ = 0;
};

TEST_F(ChunkServiceTest, FramesInOrderStoreTheChunkAndReadsReturnIt) {
  std::string data = test::random_bytes(3000, 1);
  auto a = send(frame(data.substr(0, 1000), 0, 3000, false));
  ASSERT_TRUE(a.is_ok()) << a.status().to_string();
  EXPECT_EQ(a->received, 1000u);
  EXPECT_FALSE(a->stored);
  ASSERT_TRUE(send(frame(data.substr(1000, 1000), 1000, 3000, false)).is_ok());
  auto last = send(frame(data.substr(2000), 2000, 3000, true, Sha256::hex_of(data)));
  ASSERT_TRUE(last.is_ok()) << last.status().to_string();
  EXPECT_TRUE(last->stored);
  EXPECT_EQ(service_->open_writes(), 0u);
  EXPECT_EQ(read(0, 2048, now_).value() + read(2048, 2048, now_).value(), data);
}

// Group commit: chunks sealed while more frames wait are made durable
// together; none is visible, nor answered, before that.
TEST_F(ChunkServiceTest, SealedChunksAreAnsweredAndVisibleOnlyOnceCommittedTogether) {
  std::vector<std::string> ids, bodies;
  for (int i = 0; i < 5; ++i) {
    ids.push_back("abcdefabcdefabcdefabcdefabcdef" + std::to_string(10 + i));
    bodies.push_back(test::random_bytes(4096 + i, 10 + i));
    WriteChunkFrame f{ids.back(), 0, bodies.back().size(), true, Sha256::hex_of(bodies.back()), {}};
    zmq::message_t data(bodies.back().data(), bodies.back().size());
    EXPECT_FALSE(service_->write(f, data, now_).has_value()) << "answered before it is durable";
    EXPECT_FALSE(store_->contains(ids.back())) << "visible before it is durable";
  }
  // One is dropped while sealed (its client gave up): it never appears.
  service_->abort(ids[2]);
  EXPECT_EQ(service_->sealed(), 4u);
  auto acks = service_->commit_sealed();
  ASSERT_EQ(acks.size(), 4u);
  EXPECT_EQ(service_->sealed(), 0u);
  for (const auto& ack : acks) {
    EXPECT_FALSE(ack.failed()) << ack.message;
    EXPECT_TRUE(ack.stored);
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i == 2) {
      EXPECT_FALSE(store_->contains(ids[i]));
      continue;
    }
    std::string got(bodies[i].size(), '\0');
    uint64_t total = 0;
    auto n = store_->read(ids[i], 0, got.size(), got.data(), &total);
    ASSERT_TRUE(n.is_ok()) << n.status().to_string();
    EXPECT_EQ(got, bodies[i]);
  }
  EXPECT_EQ(store_->chunk_count(), 4u);
}

// Frames with block CRCs: each block is checked as it arrives, instead of
// the chunk being hashed; a damaged block fails the write, and a chunk's
// frames carry CRCs all or none.
TEST_F(ChunkServiceTest, BlockCrcsCheckEachFrameAndADamagedBlockFailsTheWrite) {
  const uint64_t total = 2 * kCrcBlockSize + 100;
  std::string data = test::random_bytes(total, 3);
  auto crcs_of = [&](uint64_t from, uint64_t len) {
    std::vector<uint32_t> out;
    for (uint64_t at = from; at < from + len; at += kCrcBlockSize) {
      out.push_back(crc32c(data.data() + at, std::min<uint64_t>(kCrcBlockSize, from + len - at)));
    }
    return out;
  };
  Frame first = frame(data.substr(0, kCrcBlockSize), 0, total, false);
  first.header.block_crcs = crcs_of(0, kCrcBlockSize);
  ASSERT_TRUE(send(std::move(first)).is_ok());
  Frame rest = frame(data.substr(kCrcBlockSize), kCrcBlockSize, total, true, Sha256::hex_of(data));
  rest.header.block_crcs = crcs_of(kCrcBlockSize, total - kCrcBlockSize);
  auto stored = send(std::move(rest));
  ASSERT_TRUE(stored.is_ok()) << stored.status().to_string();
  EXPECT_TRUE(stored->stored);
  auto back = read(0, total, now_);
  ASSERT_TRUE(back.is_ok());
  EXPECT_EQ(back.value(), data);

  // A byte flipped on the way: the CRC the writer computed does not match.
  const std::string other = "abcdefabcdefabcdefabcdefabcdef99";
  std::string damaged = data.substr(0, kCrcBlockSize);
  damaged[100] ^= 1;
  WriteChunkFrame bad{other, 0, kCrcBlockSize, true, Sha256::hex_of(data.substr(0, kCrcBlockSize)),
                      {}};
  bad.block_crcs = crcs_of(0, kCrcBlockSize);
  zmq::message_t bytes(damaged.data(), damaged.size());
  auto refused = service_->write(bad, bytes, now_);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->code, static_cast<uint16_t>(Code::kChecksumMismatch)) << refused->message;
  EXPECT_NE(refused->message.find("block 0"), std::string::npos) << refused->message;
  EXPECT_FALSE(store_->contains(other));
  EXPECT_EQ(service_->sealed(), 0u);

  // CRCs on the first frame only: the second is refused.
  WriteChunkFrame one{other, 0, 2 * kCrcBlockSize, false, "", {}};
  one.block_crcs = crcs_of(0, kCrcBlockSize);
  zmq::message_t a(data.data(), kCrcBlockSize);
  ASSERT_FALSE(service_->write(one, a, now_)->failed());
  WriteChunkFrame two{other,
                      kCrcBlockSize,
                      2 * kCrcBlockSize,
                      true,
                      Sha256::hex_of(data.substr(0, 2 * kCrcBlockSize)),
                      {}};
  zmq::message_t b(data.data() + kCrcBlockSize, kCrcBlockSize);
  auto mixed = service_->write(two, b, now_);
  ASSERT_TRUE(mixed.has_value());
  EXPECT_EQ(mixed->code, static_cast<uint16_t>(Code::kInvalidArgument)) << mixed->message;
}

TEST_F(ChunkServiceTest, AGapInOffsetsAbortsTheWrite) {
  ASSERT_TRUE(send(frame("aaaa", 0, 12, false)).is_ok());
  EXPECT_EQ(send(frame("cccc", 8, 12, false)).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(service_->open_writes(), 0u);
  // Later frames of the failed write find nothing open.
  EXPECT_EQ(send(frame("bbbb", 4, 12, false)).status().code(), Code::kNotFound);
  EXPECT_FALSE(store_->contains(kId));
}

TEST_F(ChunkServiceTest, WrongChecksumIsRefusedAndNothingStored) {
  EXPECT_EQ(send(frame("data", 0, 4, true, Sha256::hex_of("other"))).status().code(),
            Code::kChecksumMismatch);
  EXPECT_FALSE(store_->contains(kId));
}

TEST_F(ChunkServiceTest, AllBytesWithoutALastFrameIsAnError) {
  EXPECT_EQ(send(frame("data", 0, 4, false)).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(service_->open_writes(), 0u);
}

TEST_F(ChunkServiceTest, AFrameWithoutDataIsAProtocolError) {
  EXPECT_EQ(send(frame("", 0, 4, false)).status().code(), Code::kProtocol);
}

TEST_F(ChunkServiceTest, AnAbortDropsTheTemporaryAndLaterFramesFindNothing) {
  ASSERT_TRUE(send(frame("aaaa", 0, 8, false)).is_ok());
  EXPECT_GT(store_->used(), 0u);
  service_->abort(kId);
  EXPECT_EQ(service_->open_writes(), 0u);
  EXPECT_EQ(store_->used(), 0u);
  EXPECT_EQ(send(frame("bbbb", 4, 8, true, Sha256::hex_of("aaaabbbb"))).status().code(),
            Code::kNotFound);
  EXPECT_FALSE(store_->contains(kId));
}

TEST_F(ChunkServiceTest, WritesAreNotServedOnTheRequestPath) {
  Envelope env = make_envelope(WriteChunkFrame{kId, 0, 4, true, Sha256::hex_of("data"), {}}, 1);
  env.data.emplace_back(4);
  Envelope reply = service_->handle(std::move(env), now_);
  EXPECT_EQ(decode_reply<WriteChunkAck>(reply).status().code(), Code::kProtocol);
  EXPECT_FALSE(store_->contains(kId));
}

TEST_F(ChunkServiceTest, IdleWritesAreAbandonedAndTheirSpaceReleased) {
  ASSERT_TRUE(send(frame("aaaa", 0, 8, false)).is_ok());
  EXPECT_GT(store_->used(), 0u);
  EXPECT_EQ(service_->expire_idle(now_ + 500ms), 0u);
  EXPECT_EQ(service_->expire_idle(now_ + 1500ms), 1u);
  EXPECT_EQ(store_->used(), 0u);
  EXPECT_EQ(
      send(frame("bbbb", 4, 8, true, Sha256::hex_of("aaaabbbb")), now_ + 1600ms).status().code(),
      Code::kNotFound);
}

TEST_F(ChunkServiceTest, ADeletedChunkStopsBeingServedOnceItsReaderIsIdle) {
  ASSERT_TRUE(send(frame("payload", 0, 7, true, Sha256::hex_of("payload"))).is_ok());
  ASSERT_EQ(read(0, 7, now_).value(), "payload");
  ASSERT_TRUE(store_->remove(kId).is_ok());
  service_->expire_idle(now_ + 10s);
  EXPECT_EQ(read(0, 7, now_ + 10s).status().code(), Code::kNotFound);
}

TEST_F(ChunkServiceTest, ReadingAMissingChunkIsNotFound) {
  EXPECT_EQ(read(0, 10, now_).status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace dfs
