// Upload sessions as replicated state: chunks are marked written as they
// complete, a resumed put learns which from the masters, and the commit takes
// the marked chunks. Plus the client's manifest, which finds the upload again.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "client/client.h"
#include "client/upload_manifest.h"
#include "master/namespace.h"
#include "tests/test_util.h"

namespace dfs {
namespace {

class UploadSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(run(admin_, MkdirCmd{"/home", false, 1, 0777}).is_ok());
    ASSERT_TRUE(
        run(alice_, CreateUploadCmd{upload_, "/home/f", kChunk, 2, 2, false, 0, 0644}).is_ok());
  }

  template <typename Cmd>
  Status run(const Caller& who, const Cmd& cmd, int64_t time_ms = 5) {
    Command c = make_command(cmd, time_ms);
    c.caller = who;
    return ns_->apply(ns_->applied_index() + 1, c).status;
  }
  std::string id(unsigned n) {
    char buf[33];
    std::snprintf(buf, sizeof buf, "%032x", n);
    return buf;
  }
  // Allocates chunk id(n) of `size` bytes on w1, w2, as chunk `index`.
  std::string allocate(unsigned n, uint64_t size, uint64_t index = 0) {
    std::vector<WorkerAddr> pipeline{{"w1", "tcp://h:1", "", ""}, {"w2", "tcp://h:2", "", ""}};
    EXPECT_TRUE(run(alice_, AllocateChunkCmd{upload_, id(n), size, pipeline, index}).is_ok());
    return id(n);
  }
  ChunkInfo chunk(uint64_t index, const std::string& chunk_id, uint64_t size) {
    return ChunkInfo{index, chunk_id, size, std::string(64, 'a'), {"w1", "w2"}, {}};
  }
  std::vector<uint64_t> written_indices() {
    std::vector<uint64_t> out;
    for (const auto& c : ns_->uploads().written(upload_)) out.push_back(c.index);
    return out;
  }
  bool garbage(const std::string& chunk_id) {
    auto g = ns_->garbage(100);
    auto& ids = g["w1"];
    return std::find(ids.begin(), ids.end(), chunk_id) != ids.end();
  }

  static constexpr uint64_t kChunk = 1 << 20;
  test::TempDir dir_;
  std::unique_ptr<Namespace> ns_ = std::move(Namespace::open(dir_.path())).value();
  Caller admin_;
  Caller alice_ = user_caller("alice", {"staff"});
  Caller bob_ = user_caller("bob", {"staff"});
  const std::string upload_ = std::string(32, '1');
};

TEST_F(UploadSessionTest, WrittenChunksAreRecordedByIndexAndTheCommitTakesThem) {
  std::string c1 = allocate(1, kChunk, 1);
  std::string c0 = allocate(2, kChunk, 0);
  std::string c2 = allocate(3, 100, 2);
  // Out of order, as parallel transfers finish.
  ASSERT_TRUE(run(alice_, ChunkWrittenCmd{upload_, chunk(1, c1, kChunk)}).is_ok());
  ASSERT_TRUE(run(alice_, ChunkWrittenCmd{upload_, chunk(2, c2, 100)}).is_ok());
  EXPECT_EQ(written_indices(), (std::vector<uint64_t>{1, 2}));
  // Index 0 is missing: the commit says so and leaves the upload open.
  Status early = run(alice_, CommitUploadCmd{upload_, 2 * kChunk + 100, {}});
  EXPECT_EQ(early.code(), Code::kInvalidArgument);
  EXPECT_NE(early.message().find("written 2"), std::string::npos) << early.message();
  ASSERT_TRUE(run(alice_, ChunkWrittenCmd{upload_, chunk(0, c0, kChunk)}).is_ok());
  ASSERT_TRUE(run(alice_, CommitUploadCmd{upload_, 2 * kChunk + 100, {}}).is_ok());
  auto file = ns_->lookup("/home/f");
  ASSERT_TRUE(file.is_ok());
  ASSERT_EQ(file->chunks.size(), 3u);
  EXPECT_EQ(file->chunks[0].id, c0);
  EXPECT_EQ(file->chunks[1].id, c1);
  EXPECT_EQ(file->chunks[2].id, c2);
  EXPECT_EQ(file->size, 2 * kChunk + 100);
  EXPECT_FALSE(ns_->uploads().find(upload_).has_value());
  EXPECT_TRUE(ns_->uploads().written(upload_).empty());  // the marks went with the upload
}

// A file of one chunk: its chunk allocated with the upload, committed with
// the chunk named in the commit (no mark): two entries in all.
TEST_F(UploadSessionTest, AFirstChunkAllocatedWithTheUploadIsCommittedWithoutAMark) {
  const std::string up = std::string(32, '2');
  std::vector<WorkerAddr> pipeline{{"w1", "tcp://h:1", "tcp://h:11", ""},
                                   {"w2", "tcp://h:2", "tcp://h:12", ""}};
  CreateUploadCmd create{up, "/home/small", kChunk, 2, 2, false, 0, 0644};
  create.first_chunk_id = id(40);
  create.first_chunk_size = 4096;
  create.first_pipeline = pipeline;
  Command c = make_command(create, 5);
  c.caller = alice_;
  Outcome out = ns_->apply(ns_->applied_index() + 1, c);
  ASSERT_TRUE(out.status.is_ok()) << out.status.to_string();
  auto reply = decode<CreateUploadReply>(out.reply_body);
  ASSERT_TRUE(reply.is_ok()) << reply.status().to_string();
  ASSERT_EQ(reply->first_chunk.size(), 1u);
  EXPECT_EQ(reply->first_chunk[0].chunk_id, id(40));
  EXPECT_EQ(reply->first_chunk[0].pipeline.size(), 2u);
  EXPECT_TRUE(ns_->uploads().is_allocated(id(40)));
  // The allocation holds like any other: a size it was not made for is refused.
  EXPECT_EQ(run(alice_, CommitUploadCmd{up, 4000, {chunk(0, id(40), 4000)}}).code(),
            Code::kInvalidArgument);
  ASSERT_TRUE(run(alice_, CommitUploadCmd{up, 4096, {chunk(0, id(40), 4096)}}).is_ok());
  auto file = ns_->lookup("/home/small");
  ASSERT_TRUE(file.is_ok());
  ASSERT_EQ(file->chunks.size(), 1u);
  EXPECT_EQ(file->chunks[0].id, id(40));
  EXPECT_FALSE(ns_->uploads().is_allocated(id(40)));

  // A first chunk whose id is already in use is refused with the upload.
  CreateUploadCmd again = create;
  again.upload_id = std::string(32, '3');
  again.path = "/home/other";
  EXPECT_EQ(run(alice_, again).code(), Code::kAlreadyExists);
  EXPECT_FALSE(ns_->uploads().find(again.upload_id));
  // And one larger than the chunk size, or with no pipeline, never decodes.
  again.first_chunk_id = id(41);
  again.first_chunk_size = kChunk + 1;
  EXPECT_FALSE(again.validate().is_ok());
  again.first_chunk_size = 10;
  again.first_pipeline.clear();
  EXPECT_FALSE(again.validate().is_ok());
}

TEST_F(UploadSessionTest, AChunkWrittenAgainReplacesTheFirstWhichIsCollected) {
  std::string first = allocate(1, 100);
  std::string second = allocate(2, 100);
  ASSERT_TRUE(run(alice_, ChunkWrittenCmd{upload_, chunk(0, first, 100)}).is_ok());
  ASSERT_TRUE(run(alice_, ChunkWrittenCmd{upload_, chunk(0, second, 100)}).is_ok());
  ASSERT_EQ(ns_->uploads().written(upload_).size(), 1u);
  ASSERT_TRUE(run(alice_, CommitUploadCmd{upload_, 100, {}}).is_ok());
  EXPECT_EQ(ns_->lookup("/home/f")->chunks[0].id, second);
  EXPECT_TRUE(garbage(first));
  EXPECT_FALSE(garbage(second));
}

TEST_F(UploadSessionTest, AMarkMustMatchItsAllocation) {
  std::string c = allocate(1, 100);
  // Not allocated to this upload.
  EXPECT_EQ(run(alice_, ChunkWrittenCmd{upload_, chunk(0, id(9), 100)}).code(),
            Code::kInvalidArgument);
  // Another index than allocated.
  EXPECT_EQ(run(alice_, ChunkWrittenCmd{upload_, chunk(1, c, 100)}).code(), Code::kInvalidArgument);
  // Another size than allocated.
  EXPECT_EQ(run(alice_, ChunkWrittenCmd{upload_, chunk(0, c, 99)}).code(), Code::kInvalidArgument);
  // A worker outside the pipeline, and too few replicas.
  ChunkInfo outside = chunk(0, c, 100);
  outside.replicas = {"w1", "w9"};
  EXPECT_EQ(run(alice_, ChunkWrittenCmd{upload_, outside}).code(), Code::kInvalidArgument);
  ChunkInfo short_of = chunk(0, c, 100);
  short_of.replicas = {"w1"};
  EXPECT_EQ(run(alice_, ChunkWrittenCmd{upload_, short_of}).code(), Code::kUnavailable);
  // Past any file's chunk count.
  EXPECT_EQ(run(alice_, ChunkWrittenCmd{upload_, chunk(kMaxChunksPerFile, c, 100)}).code(),
            Code::kInvalidArgument);
  // Someone else's upload.
  EXPECT_EQ(run(bob_, ChunkWrittenCmd{upload_, chunk(0, c, 100)}).code(), Code::kPermissionDenied);
  EXPECT_TRUE(written_indices().empty());
  EXPECT_TRUE(run(admin_, ChunkWrittenCmd{upload_, chunk(0, c, 100)}).is_ok());
}

TEST_F(UploadSessionTest, TheCommitRefusesMarksThatDoNotMakeTheFile) {
  std::string c0 = allocate(1, kChunk, 0);
  std::string c1 = allocate(2, 100, 1);
  std::string c2 = allocate(3, 100, 2);
  ASSERT_TRUE(run(alice_, ChunkWrittenCmd{upload_, chunk(0, c0, kChunk)}).is_ok());
  ASSERT_TRUE(run(alice_, ChunkWrittenCmd{upload_, chunk(1, c1, 100)}).is_ok());
  // The last chunk's size says the file's: 100 bytes more than kChunk, not 99 or 101.
  EXPECT_EQ(run(alice_, CommitUploadCmd{upload_, kChunk + 99, {}}).code(), Code::kInvalidArgument);
  EXPECT_EQ(run(alice_, CommitUploadCmd{upload_, kChunk + 101, {}}).code(), Code::kInvalidArgument);
  // A mark past the end: three chunks written for a file of two.
  ASSERT_TRUE(run(alice_, ChunkWrittenCmd{upload_, chunk(2, c2, 100)}).is_ok());
  EXPECT_EQ(run(alice_, CommitUploadCmd{upload_, kChunk + 100, {}}).code(), Code::kInvalidArgument);
  // One chunk at two places of an explicit list.
  EXPECT_EQ(run(alice_,
                CommitUploadCmd{upload_, 2 * kChunk, {chunk(0, c0, kChunk), chunk(1, c0, kChunk)}})
                .code(),
            Code::kInvalidArgument);
  EXPECT_FALSE(ns_->lookup("/home/f").is_ok());
  EXPECT_EQ(ns_->uploads().written(upload_).size(), 3u);
}

TEST_F(UploadSessionTest, AnAbortTakesTheMarksWithItAndCollectsTheirChunks) {
  std::string c = allocate(1, 100);
  ASSERT_TRUE(run(alice_, ChunkWrittenCmd{upload_, chunk(0, c, 100)}).is_ok());
  EXPECT_EQ(run(bob_, AbortUploadCmd{upload_}).code(), Code::kPermissionDenied);
  ASSERT_TRUE(run(alice_, AbortUploadCmd{upload_}).is_ok());
  EXPECT_TRUE(ns_->uploads().written(upload_).empty());
  EXPECT_TRUE(garbage(c));
}

TEST_F(UploadSessionTest, AMarkKeepsTheUploadFromExpiring) {
  std::string c = allocate(1, 100);
  ASSERT_TRUE(run(alice_, ChunkWrittenCmd{upload_, chunk(0, c, 100)}, 1000).is_ok());
  ASSERT_TRUE(run(admin_, ExpireCmd{500, 500}, 1400).is_ok());
  EXPECT_TRUE(ns_->uploads().find(upload_).has_value());
  ASSERT_TRUE(run(admin_, ExpireCmd{500, 500}, 1600).is_ok());
  EXPECT_FALSE(ns_->uploads().find(upload_).has_value());
  EXPECT_TRUE(garbage(c));
}

TEST_F(UploadSessionTest, UsersSeeTheirOwnUploadsAndAdminSeesAll) {
  ASSERT_TRUE(run(bob_, CreateUploadCmd{id(7), "/home/g", kChunk, 2, 2, false, 0, 0644}).is_ok());
  std::string c = allocate(1, 100);
  ASSERT_TRUE(run(alice_, ChunkWrittenCmd{upload_, chunk(0, c, 100)}).is_ok());
  auto mine = ns_->list_uploads(alice_, UploadsRequest{});
  ASSERT_TRUE(mine.is_ok());
  ASSERT_EQ(mine->uploads.size(), 1u);
  EXPECT_EQ(mine->uploads[0].upload_id, upload_);
  EXPECT_EQ(mine->uploads[0].path, "/home/f");
  EXPECT_EQ(mine->uploads[0].chunks_written, 1u);
  EXPECT_EQ(mine->uploads[0].bytes_written, 100u);
  EXPECT_TRUE(mine->uploads[0].chunks.empty());  // chunks only when one upload is asked for
  auto all = ns_->list_uploads(admin_, UploadsRequest{});
  ASSERT_TRUE(all.is_ok());
  EXPECT_EQ(all->uploads.size(), 2u);
  auto one = ns_->list_uploads(alice_, UploadsRequest{upload_, 0});
  ASSERT_TRUE(one.is_ok());
  ASSERT_EQ(one->uploads.size(), 1u);
  ASSERT_EQ(one->uploads[0].chunks.size(), 1u);
  EXPECT_EQ(one->uploads[0].chunks[0].id, c);
  EXPECT_TRUE(ns_->list_uploads(alice_, UploadsRequest{upload_, 1})->uploads[0].chunks.empty());
  EXPECT_EQ(ns_->list_uploads(bob_, UploadsRequest{upload_, 0}).status().code(),
            Code::kPermissionDenied);
  EXPECT_EQ(ns_->list_uploads(alice_, UploadsRequest{id(8), 0}).status().code(), Code::kNotFound);
}

// A lease of slots (small files): chunks placed ahead in one entry, each
// committed as a file of its own at a path named then, in one entry more.
class SlotLeaseTest : public UploadSessionTest {
 protected:
  // Leases `count` slots of kSlot bytes to `who`, ids id(100), id(101)...
  Result<CreateUploadReply> lease(const Caller& who, const std::string& lease_id, unsigned count,
                                  unsigned first = 100, int64_t time_ms = 5) {
    CreateUploadCmd create{lease_id, "", kChunk, 2, 2, false, 0, 0644};
    create.first_chunk_size = kSlot;
    for (unsigned i = 0; i < count; ++i) {
      create.slots.push_back(ChunkSlot{
          id(first + i),
          {{"w1", "tcp://h:1", "tcp://h:11", ""}, {"w2", "tcp://h:2", "tcp://h:12", ""}}});
    }
    EXPECT_TRUE(create.validate().is_ok()) << create.validate().to_string();
    Command c = make_command(create, time_ms);
    c.caller = who;
    Outcome out = ns_->apply(ns_->applied_index() + 1, c);
    if (!out.status.is_ok()) return out.status;
    return decode<CreateUploadReply>(out.reply_body);
  }
  CommitUploadCmd commit(const std::string& lease_id, const std::string& path, unsigned n,
                         uint64_t size, bool overwrite = false) {
    CommitUploadCmd cmd{lease_id, size, {chunk(0, id(n), size)}, "etag", {}};
    cmd.path = path;
    cmd.overwrite = overwrite;
    cmd.mode = 0640;
    return cmd;
  }
  Outcome apply(const Caller& who, const CommitUploadCmd& cmd) {
    Command c = make_command(cmd, 5);
    c.caller = who;
    return ns_->apply(ns_->applied_index() + 1, c);
  }
  static constexpr uint64_t kSlot = 4096;
  const std::string lease_ = std::string(32, '4');
};

TEST_F(SlotLeaseTest, EachSlotCommitsAsAFileOfItsOwnAndTheLastEndsTheLease) {
  auto reply = lease(alice_, lease_, 2);
  ASSERT_TRUE(reply.is_ok()) << reply.status().to_string();
  ASSERT_EQ(reply->slots.size(), 2u);
  EXPECT_EQ(reply->slots[1].chunk_id, id(101));
  EXPECT_TRUE(ns_->uploads().is_allocated(id(100)));
  // A file smaller than its slot.
  Outcome first = apply(alice_, commit(lease_, "/home/a", 100, 1000));
  ASSERT_TRUE(first.status.is_ok()) << first.status.to_string();
  auto a = ns_->lookup("/home/a");
  ASSERT_TRUE(a.is_ok());
  EXPECT_EQ(a->size, 1000u);
  ASSERT_EQ(a->chunks.size(), 1u);
  EXPECT_EQ(a->chunks[0].id, id(100));
  EXPECT_EQ(a->owner, "alice");
  EXPECT_EQ(a->mode, 0640u);
  EXPECT_EQ(a->etag, "etag");
  EXPECT_TRUE(ns_->references_chunk(id(100)));
  EXPECT_FALSE(ns_->uploads().is_allocated(id(100)));
  EXPECT_TRUE(ns_->uploads().find(lease_).has_value());  // one slot left
  // A slot is used once.
  EXPECT_EQ(apply(alice_, commit(lease_, "/home/a2", 100, 1000)).status.code(),
            Code::kInvalidArgument);
  ASSERT_TRUE(apply(alice_, commit(lease_, "/home/b", 101, kSlot)).status.is_ok());
  EXPECT_FALSE(ns_->uploads().find(lease_).has_value());
  EXPECT_FALSE(ns_->uploads().is_allocated(id(101)));
  EXPECT_TRUE(ns_->lookup("/home/b").is_ok());
}

TEST_F(SlotLeaseTest, ASlotCommitIsCheckedLikeAnyFileAndFailsWithoutUsingTheSlot) {
  ASSERT_TRUE(lease(alice_, lease_, 1).is_ok());
  // Larger than the slot, or empty.
  EXPECT_EQ(apply(alice_, commit(lease_, "/home/a", 100, kSlot + 1)).status.code(),
            Code::kInvalidArgument);
  // Another user's lease.
  EXPECT_EQ(apply(bob_, commit(lease_, "/home/a", 100, 10)).status.code(), Code::kPermissionDenied);
  // A directory alice may not write in; a missing one; an existing file
  // without overwrite.
  ASSERT_TRUE(run(admin_, MkdirCmd{"/root", false, 1, 0755}).is_ok());
  EXPECT_EQ(apply(alice_, commit(lease_, "/root/a", 100, 10)).status.code(),
            Code::kPermissionDenied);
  EXPECT_EQ(apply(alice_, commit(lease_, "/nowhere/a", 100, 10)).status.code(), Code::kNotFound);
  ASSERT_TRUE(run(alice_, CommitFileCmd{"/home/x", false, 0, kChunk, 2, {}, 1}).is_ok());
  EXPECT_EQ(apply(alice_, commit(lease_, "/home/x", 100, 10)).status.code(), Code::kAlreadyExists);
  // A chunk the lease does not hold.
  EXPECT_EQ(apply(alice_, commit(lease_, "/home/a", 99, 10)).status.code(), Code::kInvalidArgument);
  // None of that used the slot: it still commits, here over /home/x.
  EXPECT_TRUE(ns_->uploads().is_allocated(id(100)));
  ASSERT_TRUE(apply(alice_, commit(lease_, "/home/x", 100, 10, /*overwrite=*/true)).status.is_ok());
  EXPECT_EQ(ns_->lookup("/home/x")->size, 10u);
}

TEST_F(SlotLeaseTest, ALeaseIsNeitherAFileUploadNorExtendedByAllocation) {
  ASSERT_TRUE(lease(alice_, lease_, 1).is_ok());
  // Committed without a path, marked, or given another chunk: refused.
  EXPECT_EQ(run(alice_, CommitUploadCmd{lease_, 10, {chunk(0, id(100), 10)}}).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(run(alice_, ChunkWrittenCmd{lease_, chunk(0, id(100), kSlot)}).code(),
            Code::kInvalidArgument);
  std::vector<WorkerAddr> pipeline{{"w1", "tcp://h:1", "", ""}};
  EXPECT_EQ(run(alice_, AllocateChunkCmd{lease_, id(5), 10, pipeline, 0}).code(),
            Code::kInvalidArgument);
  // And an ordinary upload's commit names no path.
  EXPECT_EQ(apply(alice_, commit(upload_, "/home/f", 100, 10)).status.code(),
            Code::kInvalidArgument);
  // A slot id already in use refuses the whole lease.
  EXPECT_EQ(lease(alice_, std::string(32, '5'), 2, 100).status().code(), Code::kAlreadyExists);
  EXPECT_FALSE(ns_->uploads().find(std::string(32, '5')).has_value());
}

TEST_F(SlotLeaseTest, AnIdleLeaseExpiresAndItsUnusedSlotsAreCollected) {
  ASSERT_TRUE(lease(alice_, lease_, 2, 100, 1000).is_ok());
  ASSERT_TRUE(apply(alice_, commit(lease_, "/home/a", 100, 10)).status.is_ok());
  // Leases expire sooner than uploads: the file's upload, as idle, stays.
  ASSERT_TRUE(
      run(alice_, CreateUploadCmd{id(9), "/home/g", kChunk, 2, 2, false, 0, 0644}, 1000).is_ok());
  EXPECT_TRUE(ns_->has_expired(0, 0, 1600 - 500));
  ASSERT_TRUE(run(admin_, ExpireCmd{5000, 5000, 500}, 1600).is_ok());
  EXPECT_TRUE(ns_->uploads().find(id(9)).has_value());
  EXPECT_FALSE(ns_->uploads().find(lease_).has_value());
  EXPECT_TRUE(garbage(id(101)));
  EXPECT_FALSE(garbage(id(100)));  // committed: the file's
  EXPECT_TRUE(ns_->lookup("/home/a").is_ok());
}

TEST_F(SlotLeaseTest, MalformedLeasesAndSlotCommitsNeverDecode) {
  CreateUploadCmd create{lease_, "", kChunk, 2, 2, false, 0, 0644};
  create.first_chunk_size = kSlot;
  create.slots.push_back(ChunkSlot{id(1), {{"w1", "tcp://h:1", "", ""}}});
  EXPECT_TRUE(create.validate().is_ok());
  CreateUploadCmd twice = create;
  twice.slots.push_back(twice.slots[0]);
  EXPECT_FALSE(twice.validate().is_ok());
  CreateUploadCmd with_path = create;
  with_path.path = "/home/f";
  EXPECT_FALSE(with_path.validate().is_ok());
  CreateUploadCmd too_big = create;
  too_big.first_chunk_size = kChunk + 1;
  EXPECT_FALSE(too_big.validate().is_ok());
  CreateUploadCmd no_pipeline = create;
  no_pipeline.slots[0].pipeline.clear();
  EXPECT_FALSE(no_pipeline.validate().is_ok());

  CreateUploadRequest ask{"", 0, 0, false, 0, {}, kDefaultUmask, false, kSlot, 8};
  EXPECT_TRUE(ask.validate().is_ok());
  ask.slots = kMaxSlotsPerLease + 1;
  EXPECT_FALSE(ask.validate().is_ok());
  ask.slots = 8;
  ask.first_chunk_size = 0;
  EXPECT_FALSE(ask.validate().is_ok());

  CommitUploadRequest two{lease_, 20, {chunk(0, id(1), 10), chunk(1, id(2), 10)}, {}, "", {}};
  two.path = "/home/a";
  EXPECT_FALSE(two.validate().is_ok());
  CommitUploadRequest sized{lease_, 20, {chunk(0, id(1), 10)}, {}, "", {}};
  sized.path = "/home/a";
  EXPECT_FALSE(sized.validate().is_ok());  // the file is its one chunk's size
  sized.size = 10;
  EXPECT_TRUE(sized.validate().is_ok());
  sized.path = "home/a";
  EXPECT_FALSE(sized.validate().is_ok());
}

// A multipart upload (S3's): parts of any size, written in any order and
// again, committed by naming them.
class MultipartUploadTest : public UploadSessionTest {
 protected:
  void SetUp() override {
    UploadSessionTest::SetUp();
    CreateUploadCmd create{mp_, "/home/mp", kChunk, 2, 2, true, 0, 0644, /*multipart=*/true};
    ASSERT_TRUE(run(alice_, create).is_ok());
  }
  // Writes part `number` as chunks of these sizes (ids from `first_id`).
  std::vector<std::string> write_part(uint32_t number, const std::vector<uint64_t>& sizes,
                                      unsigned first_id, const std::string& etag) {
    std::vector<WorkerAddr> pipeline{{"w1", "tcp://h:1", "", ""}, {"w2", "tcp://h:2", "", ""}};
    std::vector<ChunkInfo> chunks;
    std::vector<std::string> ids;
    for (size_t i = 0; i < sizes.size(); ++i) {
      uint64_t index = number * kPartIndexStride + i;
      std::string cid = id(first_id + static_cast<unsigned>(i));
      EXPECT_TRUE(run(alice_, AllocateChunkCmd{mp_, cid, sizes[i], pipeline, index}).is_ok());
      chunks.push_back(chunk(index, cid, sizes[i]));
      ids.push_back(cid);
    }
    EXPECT_TRUE(run(alice_, PartWrittenCmd{mp_, number, etag, chunks}).is_ok());
    return ids;
  }
  const std::string mp_ = std::string(32, '2');
};

TEST_F(MultipartUploadTest, TheCommitLaysTheNamedPartsEndToEnd) {
  // Out of order, of sizes that are no multiple of the chunk size.
  auto p3 = write_part(3, {300}, 30, "e3");
  auto p1 = write_part(1, {kChunk, 5}, 10, "e1");
  auto p2 = write_part(2, {kChunk}, 20, "e2");  // written, never named
  auto listed = ns_->list_uploads(alice_, UploadsRequest{mp_, 0, 0});
  ASSERT_TRUE(listed.is_ok());
  const auto& parts = listed->uploads[0].parts;
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].number, 1u);
  EXPECT_EQ(parts[0].size, kChunk + 5);
  EXPECT_EQ(parts[0].etag, "e1");
  EXPECT_EQ(parts[2].number, 3u);
  EXPECT_TRUE(listed->uploads[0].multipart);
  // After part 1 only.
  EXPECT_EQ(ns_->list_uploads(alice_, UploadsRequest{mp_, 0, 1})->uploads[0].parts.size(), 2u);

  ASSERT_TRUE(
      run(alice_, CommitUploadCmd{mp_, kChunk + 305, {}, "x-2", {{1, "e1"}, {3, "e3"}}}).is_ok());
  auto file = ns_->lookup("/home/mp");
  ASSERT_TRUE(file.is_ok());
  ASSERT_EQ(file->chunks.size(), 3u);
  EXPECT_EQ(file->size, kChunk + 305);
  EXPECT_EQ(file->etag, "x-2");
  for (uint64_t i = 0; i < 3; ++i) EXPECT_EQ(file->chunks[i].index, i);
  EXPECT_EQ(file->chunks[0].id, p1[0]);
  EXPECT_EQ(file->chunks[1].id, p1[1]);
  EXPECT_EQ(file->chunks[1].size, 5u);
  EXPECT_EQ(file->chunks[2].id, p3[0]);
  // The part not named is collected with the upload; the others are the file's.
  EXPECT_TRUE(garbage(p2[0]));
  EXPECT_FALSE(garbage(p1[0]));
  EXPECT_FALSE(ns_->uploads().find(mp_).has_value());
  EXPECT_TRUE(ns_->uploads().parts(mp_, 0, 100).empty());
}

TEST_F(MultipartUploadTest, APartWrittenAgainReplacesTheFirstWhoseChunksAreCollectedAtOnce) {
  auto first = write_part(1, {100}, 10, "old");
  auto second = write_part(1, {200}, 20, "new");
  // Collected at once, not when the upload ends.
  EXPECT_TRUE(garbage(first[0]));
  EXPECT_FALSE(garbage(second[0]));
  EXPECT_FALSE(ns_->uploads().allocation(mp_, first[0]).has_value());
  // Named by the first's ETag: refused, and nothing is made.
  EXPECT_EQ(run(alice_, CommitUploadCmd{mp_, 100, {}, "", {{1, "old"}}}).code(),
            Code::kInvalidArgument);
  EXPECT_FALSE(ns_->lookup("/home/mp").is_ok());
  ASSERT_TRUE(run(alice_, CommitUploadCmd{mp_, 200, {}, "", {{1, "new"}}}).is_ok());
  EXPECT_EQ(ns_->lookup("/home/mp")->chunks[0].id, second[0]);
  EXPECT_TRUE(garbage(first[0]));
}

TEST_F(MultipartUploadTest, TheCommitRefusesPartsThatDoNotMakeTheFile) {
  write_part(1, {100}, 10, "e1");
  // A part never written, a wrong size, and no parts at all.
  EXPECT_EQ(run(alice_, CommitUploadCmd{mp_, 100, {}, "", {{1, "e1"}, {2, "e2"}}}).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(run(alice_, CommitUploadCmd{mp_, 101, {}, "", {{1, "e1"}}}).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(run(alice_, CommitUploadCmd{mp_, 100, {}}).code(), Code::kInvalidArgument);
  // Parts out of order or twice never reach the state machine.
  EXPECT_FALSE(CommitUploadCmd({mp_, 200, {}, "", {{2, "a"}, {1, "b"}}}).validate().is_ok());
  EXPECT_FALSE(CommitUploadCmd({mp_, 200, {}, "", {{1, "a"}, {1, "a"}}}).validate().is_ok());
  // Another user cannot finish it.
  EXPECT_EQ(run(bob_, CommitUploadCmd{mp_, 100, {}, "", {{1, "e1"}}}).code(),
            Code::kPermissionDenied);
  EXPECT_FALSE(ns_->lookup("/home/mp").is_ok());
  ASSERT_TRUE(run(alice_, CommitUploadCmd{mp_, 100, {}, "", {{1, "e1"}}}).is_ok());
}

TEST_F(MultipartUploadTest, APartMustBeItsOwnUploadsChunksAtItsOwnIndexes) {
  std::vector<WorkerAddr> pipeline{{"w1", "tcp://h:1", "", ""}, {"w2", "tcp://h:2", "", ""}};
  // Allocated for part 2's first index, claimed as part 1's.
  ASSERT_TRUE(
      run(alice_, AllocateChunkCmd{mp_, id(5), 100, pipeline, 2 * kPartIndexStride}).is_ok());
  ChunkInfo c = chunk(kPartIndexStride, id(5), 100);
  EXPECT_EQ(run(alice_, PartWrittenCmd{mp_, 1, "e", {c}}).code(), Code::kInvalidArgument);
  // Chunk marks on a multipart upload, a part of an upload that is not
  // multipart, and a plain commit of a multipart one.
  EXPECT_EQ(run(alice_, ChunkWrittenCmd{mp_, chunk(0, id(5), 100)}).code(), Code::kInvalidArgument);
  EXPECT_EQ(run(alice_, PartWrittenCmd{upload_, 1, "e", {}}).code(), Code::kInvalidArgument);
  EXPECT_EQ(run(alice_, CommitUploadCmd{upload_, 0, {}, "", {{1, "e"}}}).code(),
            Code::kInvalidArgument);
  // Indexes that are not the part's are refused before the state machine.
  EXPECT_FALSE(PartWrittenCmd({mp_, 1, "e", {chunk(0, id(5), 100)}}).validate().is_ok());
  EXPECT_FALSE(PartWrittenCmd({mp_, kMaxParts + 1, "e", {}}).validate().is_ok());
  EXPECT_EQ(run(bob_, PartWrittenCmd{mp_, 1, "e", {}}).code(), Code::kPermissionDenied);
}

TEST_F(MultipartUploadTest, AnAbortCollectsEveryPart) {
  auto p1 = write_part(1, {100}, 10, "e1");
  auto p2 = write_part(2, {100, 7}, 20, "e2");
  ASSERT_TRUE(run(alice_, AbortUploadCmd{mp_}).is_ok());
  EXPECT_TRUE(ns_->uploads().parts(mp_, 0, 100).empty());
  EXPECT_TRUE(garbage(p1[0]));
  EXPECT_TRUE(garbage(p2[1]));
}

TEST_F(MultipartUploadTest, PartsAreListedAPageAtATime) {
  std::vector<WorkerAddr> pipeline{{"w1", "tcp://h:1", "", ""}, {"w2", "tcp://h:2", "", ""}};
  const uint32_t n = kMaxPartsListed + 5;
  for (uint32_t p = 1; p <= n; ++p) {
    ASSERT_TRUE(run(alice_, PartWrittenCmd{mp_, p, "e" + std::to_string(p), {}}).is_ok());
  }
  auto first = ns_->list_uploads(alice_, UploadsRequest{mp_, 0, 0});
  ASSERT_TRUE(first.is_ok());
  EXPECT_TRUE(first->truncated);
  ASSERT_EQ(first->uploads[0].parts.size(), kMaxPartsListed);
  uint32_t last = first->uploads[0].parts.back().number;
  auto rest = ns_->list_uploads(alice_, UploadsRequest{mp_, 0, last});
  EXPECT_FALSE(rest->truncated);
  ASSERT_EQ(rest->uploads[0].parts.size(), 5u);
  EXPECT_EQ(rest->uploads[0].parts.back().number, n);
}

TEST(ChunksDoneTest, OnlyMarksOfTheRightIndexAndSizeCount) {
  const uint64_t chunk = 100;
  auto mark = [](uint64_t index, uint64_t size) {
    return ChunkInfo{index, std::string(32, 'c'), size, std::string(64, 'a'), {}, {}};
  };
  // A file of 250 bytes: chunks of 100, 100 and 50.
  auto done = chunks_done({mark(0, 100), mark(2, 50), mark(1, 99), mark(3, 100)}, chunk, 250);
  EXPECT_EQ(done, (std::vector<bool>{true, false, true}));
  EXPECT_EQ(chunks_done({mark(2, 100)}, chunk, 250), (std::vector<bool>{false, false, false}));
  EXPECT_TRUE(chunks_done({}, chunk, 0).empty());
}

UploadManifest sample_manifest() {
  UploadManifest m;
  m.remote = "/data/a b=c.bin";
  m.upload_id = std::string(32, 'e');
  m.chunk_size = 64 << 20;
  m.local = {"/home/u/a = b.bin", 1234567, 1700000000123456789, 42, 2049};
  m.options = {8 << 20, 2, 1, true};
  return m;
}

TEST(UploadManifestTest, ReadsBackWhatItWrote) {
  UploadManifest m = sample_manifest();
  auto back = parse_manifest(format_manifest(m));
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(back->remote, m.remote);
  EXPECT_EQ(back->upload_id, m.upload_id);
  EXPECT_EQ(back->chunk_size, m.chunk_size);
  EXPECT_EQ(back->local, m.local);
  EXPECT_EQ(back->options, m.options);
}

TEST(UploadManifestTest, RefusesAMissingOrMalformedField) {
  std::string text = format_manifest(sample_manifest());
  for (const char* field :
       {"remote = ", "upload-id = ", "chunk-size = ", "local-path = ", "local-size = ",
        "local-mtime-ns = ", "local-inode = ", "local-device = ", "option-chunk-size = ",
        "option-replication = ", "option-min-replication = ", "option-overwrite = "}) {
    std::string without = text;
    auto at = without.find(field);
    without.erase(at, without.find('\n', at) + 1 - at);
    EXPECT_FALSE(parse_manifest(without).is_ok()) << "without " << field;
    std::string garbled = text;
    garbled.insert(garbled.find(field) + std::string(field).size(), "x");
    EXPECT_FALSE(parse_manifest(garbled).is_ok()) << "garbled " << field;
  }
  EXPECT_FALSE(parse_manifest("no equals sign\n").is_ok());
  EXPECT_FALSE(parse_manifest(std::string(1 << 17, 'a')).is_ok());
}

TEST(UploadManifestTest, IsKeptOwnerOnlyAndKeyedByClusterAndRemotePath) {
  test::TempDir dir;
  std::string where = dir.path() + "/state/dfs/uploads";
  std::string path = manifest_path(where, "tcp://h:1,", "/a");
  EXPECT_NE(path, manifest_path(where, "tcp://h:2,", "/a"));
  EXPECT_NE(path, manifest_path(where, "tcp://h:1,", "/b"));
  auto none = load_manifest(path);
  ASSERT_TRUE(none.is_ok());
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(save_manifest(path, sample_manifest()).is_ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(where.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  auto back = load_manifest(path);
  ASSERT_TRUE(back.is_ok() && back->has_value());
  EXPECT_EQ((*back)->local, sample_manifest().local);
  remove_manifest(path);
  EXPECT_FALSE(load_manifest(path)->has_value());
  UploadManifest odd = sample_manifest();
  odd.local.path = "/a\nb";
  EXPECT_FALSE(save_manifest(path, odd).is_ok());
}

}  // namespace
}  // namespace dfs
