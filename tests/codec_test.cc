// Every message type: a valid sample survives encode/decode unchanged, and
// truncated, oversized, wrong-type or garbage input is rejected with a
// protocol error, never a crash.
#include <gtest/gtest.h>

#include <functional>
#include <random>

#include "bus/wire.h"
#include "codec/codec.h"
#include "codec/commands.h"
#include "codec/header.h"
#include "codec/raft_messages.h"
#include "tests/test_util.h"

namespace dfs {
namespace {

const std::string kChunk = "0123456789abcdef0123456789abcdef";
const std::string kSha = std::string(64, 'a');

ChunkInfo chunk(uint64_t index) {
  return ChunkInfo{index, kChunk, 100, kSha, {"w1", "w2"}, {"w2"}};
}
WorkerAddr addr(const std::string& id) { return {id, "tcp://127.0.0.1:1", "tcp://127.0.0.1:2"}; }
EntryInfo entry() { return EntryInfo{"file.txt", 1, 10, 1700000000000, 1, 1 << 20, 1}; }

template <typename T>
T sample();
template <>
ErrorReply sample() {
  return {static_cast<uint16_t>(Code::kNotFound), "no such file", "", "w3"};
}
template <>
OkReply sample() {
  return {};
}
template <>
MkdirRequest sample() {
  return {"/a/b", true};
}
template <>
StatRequest sample() {
  return {"/a"};
}
template <>
StatReply sample() {
  return {entry(), {chunk(0)}, {addr("w1")}, {"w1"}};
}
template <>
ListRequest sample() {
  return {"/a", "pre", "prefix1", 100};
}
template <>
ListReply sample() {
  return {{entry()}, true};
}
template <>
DeleteRequest sample() {
  return {"/a", true};
}
template <>
RenameRequest sample() {
  return {"/a", "/b"};
}
template <>
CreateUploadRequest sample() {
  return {"/a/f", 1 << 20, 3, true, 2, {}, 022, /*multipart=*/true};
}
template <>
CreateFileRequest sample() {
  return {"/a/empty", 1 << 20, 2, true, {7, 9}};
}
template <>
CreateUploadReply sample() {
  return {kChunk, 1 << 20, 3, 2, {{kChunk, {addr("w1"), addr("w2")}}}};
}
template <>
AllocateChunkRequest sample() {
  return {kChunk, 3, 1000, {"w9"}};
}
template <>
AllocateChunkReply sample() {
  return {kChunk, {addr("w1"), addr("w2")}};
}
template <>
CommitUploadRequest sample() {
  return {kChunk, 100, {}, {}, "etag-2", {{1, "a"}, {2, "b"}}};
}
template <>
AbortUploadRequest sample() {
  return {kChunk};
}
template <>
ChunkWrittenRequest sample() {
  return {kChunk, chunk(3), {9, 4}};
}
template <>
UploadsRequest sample() {
  return {kChunk, 7, 12};
}
template <>
UploadsReply sample() {
  return {{{kChunk,
            "/a/b",
            "alice",
            1 << 20,
            3,
            1234,
            2,
            200,
            {chunk(0), chunk(1)},
            true,
            1000,
            {{1, 5 << 20, "e1", 1200}, {3, 7, "e3", 1300}}}},
          true};
}
template <>
ChunkWrittenCmd sample() {
  return {kChunk, chunk(5)};
}
ChunkInfo part_chunk(uint32_t part, uint64_t i) {
  ChunkInfo c = chunk(part * kPartIndexStride + i);
  return c;
}
template <>
PartWrittenRequest sample() {
  return {kChunk, 3, kSha.substr(0, 32), {part_chunk(3, 0), part_chunk(3, 1)}, {9, 5}};
}
template <>
PartWrittenCmd sample() {
  return {kChunk, 2, kSha.substr(0, 32), {part_chunk(2, 0)}};
}
template <>
CommitUploadCmd sample() {
  return {kChunk, 300, {}, "etag-2", {{1, "a"}, {4, "b"}}};
}
template <>
ClusterStatusRequest sample() {
  return {};
}
template <>
ClusterStatusReply sample() {
  return {"m1", "leader", {{"w1", "tcp://127.0.0.1:3", 100, 10, 1, "live", 5}}, 1, 2, 3};
}
template <>
WriteChunkFrame sample() {
  return {kChunk, 0, 100, true, kSha, {addr("w2")}, {}, {0x1234abcd}};
}
template <>
WriteChunkAck sample() {
  return {kChunk, 100, true};
}
template <>
ReadChunkRequest sample() {
  return {kChunk, 0, 4096};
}
template <>
ReadChunkReply sample() {
  return {kChunk, 0, 100, 64, {1, 0xffffffff}};
}
template <>
Heartbeat sample() {
  return {"w1", "tcp://127.0.0.1:4", "tcp://127.0.0.1:5", 100, 10, 1, 7, {kChunk}};
}
template <>
ReplicaFrame sample() {
  return {WriteChunkFrame{kChunk, 0, 100, true, kSha, {addr("w3")}}, addr("w1"), {"w0"}};
}
template <>
ReplicaAck sample() {
  return {kChunk, "w2", 100, true, static_cast<uint16_t>(Code::kChecksumMismatch), "bad"};
}
template <>
ReplicaAbort sample() {
  return {kChunk, "w3 timed out"};
}
template <>
ReportBadReplicaRequest sample() {
  return {"/a/f", kChunk, "w2", "checksum mismatch"};
}
template <>
FsckRequest sample() {
  return {"/a"};
}
template <>
FsckReply sample() {
  return {3, 5, 1, 0, {FsckProblem{"/a/f", 3, chunk(0), {"w1"}, {"w4"}}}};
}
template <>
DeleteChunksJob sample() {
  return {"w1", {kChunk}};
}
template <>
ChunkReport sample() {
  return {"w1", {kChunk}};
}
template <>
ClusterEvent sample() {
  return {"worker.dead", "w1", "", 1, 2};
}
template <>
MkdirCmd sample() {
  return {"/a", false, 5};
}
template <>
CommitFileCmd sample() {
  return {"/a/f", false, 100, 1 << 20, 1, {chunk(0)}, 5};
}
template <>
DeleteCmd sample() {
  return {"/a", true};
}
template <>
RenameCmd sample() {
  return {"/a", "/b", 5};
}
template <>
RegisterWorkerCmd sample() {
  return {addr("w1")};
}
template <>
GcDoneCmd sample() {
  return {"w1", {kChunk}};
}
template <>
AddGarbageCmd sample() {
  return {{chunk(0)}};
}
template <>
raft::Message sample() {
  raft::Message m;
  m.kind = static_cast<uint8_t>(raft::MsgKind::kAppend);
  m.from = 1;
  m.to = 2;
  m.term = 7;
  m.log_term = 6;
  m.index = 41;
  m.commit = 40;
  m.entries = {raft::Entry{7, 42, 1, "cmd"}};
  m.reject = false;
  m.hint = 3;
  return m;
}
template <>
MarkReplicaBadCmd sample() {
  return {kChunk, "w2"};
}

template <>
ReplicateChunkJob sample() {
  return {std::string(32, 'e'),
          "w1",
          kChunk,
          4096,
          std::string(64, 'a'),
          {{"w2", "tcp://127.0.0.1:9", "tcp://127.0.0.1:10"}}};
}
template <>
ReplicateChunkDone sample() {
  return {std::string(32, 'e'), "w1", kChunk, {"w2", "w3"}, 8, "checksum mismatch", "w1"};
}
template <>
ReplicaAddedCmd sample() {
  return {7, "f.bin", kChunk, {"w4", "w5"}};
}
template <>
ReplicaDroppedCmd sample() {
  return {7, "f.bin", kChunk, "w4", "surplus"};
}

template <typename T>
class CodecTest : public ::testing::Test {};

using AllMessages = ::testing::Types<
    ErrorReply, OkReply, MkdirRequest, StatRequest, StatReply, ListRequest, ListReply,
    DeleteRequest, RenameRequest, CreateUploadRequest, CreateFileRequest, CreateUploadReply,
    AllocateChunkRequest, AllocateChunkReply, CommitUploadRequest, AbortUploadRequest,
    ClusterStatusRequest, ClusterStatusReply, ReportBadReplicaRequest, FsckRequest, FsckReply,
    WriteChunkFrame, WriteChunkAck, ReadChunkRequest, ReadChunkReply, ReplicaFrame, ReplicaAck,
    ReplicaAbort, Heartbeat, DeleteChunksJob, ChunkReport, ClusterEvent, MkdirCmd, CommitFileCmd,
    DeleteCmd, RenameCmd, RegisterWorkerCmd, GcDoneCmd, AddGarbageCmd, MarkReplicaBadCmd,
    ReplicateChunkJob, ReplicateChunkDone, ReplicaAddedCmd, ReplicaDroppedCmd, raft::Message,
    ChunkWrittenRequest, UploadsRequest, UploadsReply, ChunkWrittenCmd, PartWrittenRequest,
    PartWrittenCmd, CommitUploadCmd>;
TYPED_TEST_SUITE(CodecTest, AllMessages);

TYPED_TEST(CodecTest, RoundTripKeepsEveryField) {
  TypeParam original = sample<TypeParam>();
  ASSERT_TRUE(original.validate().is_ok()) << original.validate().to_string();
  std::string bytes = encode(original);
  auto decoded = decode<TypeParam>(bytes);
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  // Re-encoding the decoded message gives the same bytes: no field was lost.
  EXPECT_EQ(encode(decoded.value()), bytes);
}

TYPED_TEST(CodecTest, EveryTruncationIsRejected) {
  std::string bytes = encode(sample<TypeParam>());
  for (size_t len = 0; len < bytes.size(); ++len) {
    auto decoded = decode<TypeParam>(std::string_view(bytes.data(), len));
    EXPECT_FALSE(decoded.is_ok()) << "accepted a body cut to " << len << " of " << bytes.size();
  }
}

TYPED_TEST(CodecTest, TrailingBytesAreRejected) {
  std::string bytes = encode(sample<TypeParam>()) + "x";
  EXPECT_EQ(decode<TypeParam>(bytes).status().code(), Code::kProtocol);
}

TYPED_TEST(CodecTest, NonMapBodiesAreRejected) {
  for (const std::string& body :
       {encode(42), encode(std::string("hello")), encode(std::vector<int>{1, 2})}) {
    EXPECT_EQ(decode<TypeParam>(body).status().code(), Code::kProtocol);
  }
}

TYPED_TEST(CodecTest, WrongFieldTypesAreRejected) {
  // Every field of the sample, replaced in turn by a value of a wrong type.
  std::string bytes = encode(sample<TypeParam>());
  msgpack::object_handle oh = msgpack::unpack(bytes.data(), bytes.size());
  msgpack::object_map map = oh.get().via.map;
  for (uint32_t i = 0; i < map.size; ++i) {
    msgpack::sbuffer buf;
    msgpack::packer<msgpack::sbuffer> pk(buf);
    pk.pack_map(map.size);
    for (uint32_t k = 0; k < map.size; ++k) {
      pk.pack(map.ptr[k].key);
      if (k != i) {
        pk.pack(map.ptr[k].val);
      } else if (map.ptr[k].val.type == msgpack::type::STR) {
        pk.pack(std::vector<int>{1, 2, 3});
      } else {
        pk.pack(std::string("not-the-right-type"));
      }
    }
    auto decoded = decode<TypeParam>(std::string_view(buf.data(), buf.size()));
    EXPECT_FALSE(decoded.is_ok()) << "field " << i << " of the wrong type was accepted";
  }
}

TYPED_TEST(CodecTest, RandomGarbageNeverCrashes) {
  std::mt19937 rng(1234);
  std::string bytes = encode(sample<TypeParam>());
  for (int round = 0; round < 300; ++round) {
    std::string mutated = bytes;
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) mutated[rng() % mutated.size()] = static_cast<char>(rng());
    auto decoded = decode<TypeParam>(mutated);  // ok or an error; never a crash
    if (decoded.is_ok()) {
      EXPECT_TRUE(decoded->validate().is_ok());
    }
  }
}

TEST(CodecLimits, OversizedBodyIsRejected) {
  std::string huge(kMaxBodyBytes + 1, '\x80');
  EXPECT_EQ(decode<StatRequest>(huge).status().code(), Code::kProtocol);
}

TEST(CodecLimits, HugeDeclaredArrayDoesNotAllocate) {
  // A map whose only value claims 2^32-1 array elements but carries none.
  std::string body = "\x81\xa4path\xdd\xff\xff\xff\xff";
  EXPECT_FALSE(decode<StatRequest>(body).is_ok());
}

TEST(CodecValidation, BlockCrcsComeOnABlockBoundaryAndAtMostAFramesWorth) {
  WriteChunkFrame f{kChunk, kCrcBlockSize, 4 * kCrcBlockSize, false, "", {}};
  f.block_crcs = {1, 2};
  EXPECT_TRUE(f.validate().is_ok());
  f.offset = kCrcBlockSize + 1;
  EXPECT_FALSE(f.validate().is_ok());
  f.offset = 0;
  f.block_crcs.assign(kMaxFrameBytes / kCrcBlockSize + 1, 7);
  EXPECT_FALSE(f.validate().is_ok());
}

TEST(CodecValidation, AFirstChunkIsOneOfAtMostTheLargestChunkAndNeverWithParts) {
  CreateUploadRequest req{"/a/f", 0, 3, false, 0, {}, 022};
  req.first_chunk_size = kMaxChunkSize;
  EXPECT_TRUE(req.validate().is_ok());
  req.first_chunk_size = kMaxChunkSize + 1;
  EXPECT_FALSE(req.validate().is_ok());
  req.first_chunk_size = 4096;
  req.multipart = true;
  EXPECT_FALSE(req.validate().is_ok());
  CreateUploadReply rep = sample<CreateUploadReply>();
  EXPECT_TRUE(rep.validate().is_ok());
  rep.first_chunk.push_back(rep.first_chunk.front());
  EXPECT_FALSE(rep.validate().is_ok());
  rep.first_chunk = {AllocateChunkReply{"not-an-id", {addr("w1")}}};
  EXPECT_FALSE(rep.validate().is_ok());
}

TEST(CodecValidation, BadFieldsAreRejectedAfterDecoding) {
  EXPECT_FALSE(decode<StatRequest>(encode(StatRequest{"relative/path"})).is_ok());
  EXPECT_FALSE(decode<StatRequest>(encode(StatRequest{"/a//b"})).is_ok());
  EXPECT_FALSE(decode<ReadChunkRequest>(encode(ReadChunkRequest{"XYZ", 0, 10})).is_ok());
  EXPECT_FALSE(
      decode<ReadChunkRequest>(encode(ReadChunkRequest{kChunk, 0, kMaxFrameBytes + 1})).is_ok());
  EXPECT_FALSE(
      decode<WriteChunkFrame>(encode(WriteChunkFrame{kChunk, 0, 100, true, "bad", {}})).is_ok());
  EXPECT_FALSE(
      decode<WriteChunkFrame>(encode(WriteChunkFrame{kChunk, 100, 100, false, "", {}})).is_ok());
  EXPECT_FALSE(decode<Heartbeat>(encode(Heartbeat{"W1!", "tcp://x:1", "tcp://x:2", 0, 0, 0, 0, {}}))
                   .is_ok());
  // Every pipeline member must say where its pipeline socket listens.
  EXPECT_FALSE(decode<Heartbeat>(encode(Heartbeat{"w1", "tcp://x:1", "", 0, 0, 0, 0, {}})).is_ok());
  EXPECT_FALSE(decode<WriteChunkFrame>(
                   encode(WriteChunkFrame{kChunk, 0, 100, false, "", {{"w2", "tcp://x:1", ""}}}))
                   .is_ok());
  EXPECT_FALSE(decode<ReplicaAck>(encode(ReplicaAck{kChunk, "w1", 0, false, 999, ""})).is_ok());
  CommitFileCmd sizes_disagree = sample<CommitFileCmd>();
  sizes_disagree.size = 99;
  EXPECT_FALSE(decode<CommitFileCmd>(encode(sizes_disagree)).is_ok());
  CommitUploadRequest gap{kChunk, 100, {chunk(0)}};
  gap.chunks[0].index = 1;
  EXPECT_FALSE(decode<CommitUploadRequest>(encode(gap)).is_ok());
  // Parts: never with chunks, never part 0, never out of order.
  CommitUploadRequest both = sample<CommitUploadRequest>();
  both.chunks = {chunk(0)};
  EXPECT_FALSE(decode<CommitUploadRequest>(encode(both)).is_ok());
  CommitUploadRequest zero = sample<CommitUploadRequest>();
  zero.parts[0].number = 0;
  EXPECT_FALSE(decode<CommitUploadRequest>(encode(zero)).is_ok());
  CommitUploadRequest backwards = sample<CommitUploadRequest>();
  std::swap(backwards.parts[0], backwards.parts[1]);
  EXPECT_FALSE(decode<CommitUploadRequest>(encode(backwards)).is_ok());
  // A part's chunks sit at its own indexes, at most kPartIndexStride of them.
  PartWrittenRequest elsewhere = sample<PartWrittenRequest>();
  elsewhere.chunks[1].index += 1;
  EXPECT_FALSE(decode<PartWrittenRequest>(encode(elsewhere)).is_ok());
  PartWrittenRequest too_many = sample<PartWrittenRequest>();
  too_many.chunks.clear();
  for (uint64_t i = 0; i <= kPartIndexStride; ++i) too_many.chunks.push_back(part_chunk(3, i));
  EXPECT_FALSE(decode<PartWrittenRequest>(encode(too_many)).is_ok());
}

TEST(Header, RoundTripAndRejections) {
  Header h{MsgType::kWriteChunkFrame, 0x0102030405060708ull};
  auto bytes = h.encode();
  auto back = Header::decode(bytes.data(), bytes.size());
  ASSERT_TRUE(back.is_ok());
  EXPECT_EQ(back->type, MsgType::kWriteChunkFrame);
  EXPECT_EQ(back->request_id, 0x0102030405060708ull);
  EXPECT_FALSE(Header::decode(bytes.data(), 15).is_ok());
  auto bad = bytes;
  bad[0] = 'X';
  EXPECT_FALSE(Header::decode(bad.data(), bad.size()).is_ok());
  bad = bytes;
  bad[3] = 9;
  EXPECT_FALSE(Header::decode(bad.data(), bad.size()).is_ok());
  bad = bytes;
  bad[4] = 0xff;
  EXPECT_FALSE(Header::decode(bad.data(), bad.size()).is_ok());
}

TEST(Wire, MessagesCrossARealSocketPairWhole) {
  zmq::context_t ctx;
  zmq::socket_t a(ctx, zmq::socket_type::pair), b(ctx, zmq::socket_type::pair);
  a.bind("inproc://wire-test");
  b.connect("inproc://wire-test");
  Envelope out = make_envelope(sample<WriteChunkFrame>(), 77);
  out.data.emplace_back("payload", 7);
  ASSERT_TRUE(send_envelope(a, Framing::kPlain, std::move(out)).is_ok());
  zmq::pollitem_t item{b.handle(), 0, ZMQ_POLLIN, 0};
  ASSERT_EQ(zmq::poll(&item, 1, std::chrono::milliseconds(5000)), 1);
  Envelope in;
  ASSERT_TRUE(recv_envelope(b, Framing::kPlain, &in).is_ok());
  EXPECT_EQ(in.header.request_id, 77u);
  ASSERT_EQ(in.data.size(), 1u);
  EXPECT_EQ(in.data[0].to_string(), "payload");
  // A message of one frame is malformed: it gets an error, not a crash.
  a.send(zmq::str_buffer("only-one-frame"));
  ASSERT_EQ(zmq::poll(&item, 1, std::chrono::milliseconds(5000)), 1);
  EXPECT_EQ(recv_envelope(b, Framing::kPlain, &in).code(), Code::kProtocol);
}

// The map decoder's rules, on bodies packed by hand as another encoder (or
// an attacker) might: the fields are found whatever the order, unknown
// keys are skipped, a missing field keeps its default, of a repeated key
// the first counts, and a key that is not a string is an error.
std::string packed_map(const std::function<void(msgpack::packer<msgpack::sbuffer>&)>& fill,
                       uint32_t pairs) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_map(pairs);
  fill(pk);
  return std::string(buf.data(), buf.size());
}

TEST(MapFields, FieldsAreFoundInAnyOrderAndUnknownKeysAreSkipped) {
  auto body = packed_map(
      [](auto& pk) {
        pk.pack(std::string("stale"));
        pk.pack(true);
        pk.pack(std::string("from_a_newer_peer"));
        pk.pack(42);
        pk.pack(std::string("path"));
        pk.pack(std::string("/a/b"));
      },
      3);
  auto r = decode<StatRequest>(body);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->path, "/a/b");
  EXPECT_TRUE(r->stale);
}

TEST(MapFields, AMissingFieldKeepsItsDefault) {
  auto body = packed_map(
      [](auto& pk) {
        pk.pack(std::string("path"));
        pk.pack(std::string("/x"));
      },
      1);
  auto r = decode<StatRequest>(body);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->path, "/x");
  EXPECT_FALSE(r->stale);
}

TEST(MapFields, OfARepeatedKeyTheFirstCounts) {
  auto body = packed_map(
      [](auto& pk) {
        pk.pack(std::string("path"));
        pk.pack(std::string("/first"));
        pk.pack(std::string("path"));
        pk.pack(std::string("/second"));
      },
      2);
  auto r = decode<StatRequest>(body);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->path, "/first");
}

TEST(MapFields, NonStringKeysAndWrongTypesAreErrors) {
  auto int_key = packed_map(
      [](auto& pk) {
        pk.pack(1);
        pk.pack(std::string("/x"));
      },
      1);
  EXPECT_EQ(decode<StatRequest>(int_key).status().code(), Code::kProtocol);
  auto wrong_type = packed_map(
      [](auto& pk) {
        pk.pack(std::string("path"));
        pk.pack(7);
      },
      1);
  EXPECT_EQ(decode<StatRequest>(wrong_type).status().code(), Code::kProtocol);
}

TEST(MapFields, DecodesOneAfterAnotherShareNothing) {
  // Each decode unpacks into this thread's reused zone, emptied after each
  // one: a body far larger than its first block, between small ones, must
  // leave every result whole (under ASan, a block freed too early or twice
  // fails here).
  std::string small = "/a/" + std::string(200, 'a');
  raft::Entry big{3, 7, static_cast<uint8_t>(raft::EntryType::kNormal),
                  test::random_bytes(100000, 1)};
  auto a = decode<StatRequest>(encode(StatRequest{small, false}));
  auto b = decode<raft::Entry>(encode(big));  // far more than the zone's first block
  auto c = decode<StatRequest>(encode(StatRequest{"/c", true}));
  ASSERT_TRUE(a.is_ok()) << a.status().to_string();
  ASSERT_TRUE(b.is_ok()) << b.status().to_string();
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_EQ(a->path, small);
  EXPECT_EQ(b.value(), big);
  EXPECT_EQ(c->path, "/c");
}

}  // namespace
}  // namespace dfs
