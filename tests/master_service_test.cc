// MasterService without sockets: requests in, replies out.
#include <gtest/gtest.h>

#include <set>

#include "master/master_service.h"
#include "tests/test_util.h"

namespace dfs {
namespace {

class MasterServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MasterOptions options;
    options.max_uploads = 2;
    options.seed = 42;
    service_ =
        std::make_unique<MasterService>(options, std::move(Namespace::open(dir_.path())).value());
  }

  template <typename Rep, typename Req>
  Result<Rep> call(const Req& req) {
    Envelope env = make_envelope(req, 1);
    env.routing_id = "client";
    Envelope reply = service_->handle(env, MasterService::Clock::now());
    EXPECT_EQ(reply.routing_id, "client");
    EXPECT_EQ(reply.header.request_id, 1u);
    return decode_reply<Rep>(reply);
  }

  void beat(const std::string& id, MasterService::Clock::time_point now) {
    service_->on_heartbeat(
        Heartbeat{id, "tcp://127.0.0.1:1", "tcp://127.0.0.1:2", 1 << 30, 0, 0, 1, {}}, now);
  }

  // Uploads one chunk of 100 bytes to `path` through whatever pipeline the
  // master gives, committing it on the workers named in `replicas` (all of
  // the pipeline when empty).
  Result<AllocateChunkReply> upload(const std::string& path, uint32_t replication,
                                    uint32_t min_replication, Status* commit, size_t replicas = 0) {
    auto up =
        call<CreateUploadReply>(CreateUploadRequest{path, 0, replication, false, min_replication});
    if (!up.is_ok()) return up.status();
    auto alloc = call<AllocateChunkReply>(AllocateChunkRequest{up->upload_id, 0, 100, {}});
    if (!alloc.is_ok()) return alloc.status();
    ChunkInfo c{0, alloc->chunk_id, 100, std::string(64, 'a'), {}, {}};
    for (const auto& w : alloc->pipeline) {
      if (replicas == 0 || c.replicas.size() < replicas) c.replicas.push_back(w.id);
    }
    *commit = call<OkReply>(CommitUploadRequest{up->upload_id, 100, {c}}).status();
    return alloc;
  }

  test::TempDir dir_;
  std::unique_ptr<MasterService> service_;
};

TEST_F(MasterServiceTest, UploadsInProgressAreBounded) {
  ASSERT_TRUE((call<CreateUploadReply>(CreateUploadRequest{"/a", 0, 0, false}).is_ok()));
  ASSERT_TRUE((call<CreateUploadReply>(CreateUploadRequest{"/b", 0, 0, false}).is_ok()));
  auto third = call<CreateUploadReply>(CreateUploadRequest{"/c", 0, 0, false});
  EXPECT_EQ(third.status().code(), Code::kUnavailable);
  EXPECT_NE(third.status().message().find("too many uploads"), std::string::npos);
}

TEST_F(MasterServiceTest, AllocationWithoutWorkersSaysSo) {
  auto upload = call<CreateUploadReply>(CreateUploadRequest{"/a", 0, 0, false});
  ASSERT_TRUE(upload.is_ok());
  auto alloc = call<AllocateChunkReply>(AllocateChunkRequest{upload->upload_id, 0, 100, {}});
  EXPECT_EQ(alloc.status().code(), Code::kUnavailable);
  EXPECT_NE(alloc.status().message().find("no live workers"), std::string::npos);
}

TEST_F(MasterServiceTest, CommitOfChunksNeverAllocatedIsRefusedAndNothingAppears) {
  auto upload = call<CreateUploadReply>(CreateUploadRequest{"/a", 0, 0, false});
  ASSERT_TRUE(upload.is_ok());
  ChunkInfo forged{0, std::string(32, 'f'), 10, std::string(64, 'a'), {"w1"}, {}};
  auto commit = call<OkReply>(CommitUploadRequest{upload->upload_id, 10, {forged}});
  EXPECT_EQ(commit.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(call<StatReply>(StatRequest{"/a"}).status().code(), Code::kNotFound);
}

TEST_F(MasterServiceTest, InventoryReportsCollectOnlyChunksNothingClaims) {
  auto now = MasterService::Clock::now();
  beat("w1", now);
  auto upload = call<CreateUploadReply>(CreateUploadRequest{"/a", 0, 1, false});
  ASSERT_TRUE(upload.is_ok());
  auto alloc = call<AllocateChunkReply>(AllocateChunkRequest{upload->upload_id, 0, 100, {}});
  ASSERT_TRUE(alloc.is_ok()) << alloc.status().to_string();
  const std::string orphan(32, 'e');
  service_->on_chunk_report(ChunkReport{"w1", {alloc->chunk_id, orphan}});
  // Only the orphan is garbage: the other belongs to an upload in progress.
  EXPECT_EQ(service_->names().garbage(10)["w1"], std::vector<std::string>{orphan});
}

TEST_F(MasterServiceTest, TheDefaultReplicationIsThreeDistinctWorkersInAPipeline) {
  auto now = MasterService::Clock::now();
  for (const char* w : {"w1", "w2", "w3", "w4"}) beat(w, now);
  Status commit;
  auto alloc = upload("/a", 0, 0, &commit);
  ASSERT_TRUE(alloc.is_ok()) << alloc.status().to_string();
  ASSERT_TRUE(commit.is_ok()) << commit.to_string();
  std::set<std::string> ids;
  for (const auto& w : alloc->pipeline) {
    ids.insert(w.id);
    EXPECT_EQ(w.pipeline, "tcp://127.0.0.1:2");
  }
  EXPECT_EQ(ids.size(), 3u);
  auto st = call<StatReply>(StatRequest{"/a"});
  ASSERT_TRUE(st.is_ok());
  EXPECT_EQ(st->entry.replication, 3u);
  EXPECT_EQ(st->chunks.at(0).replicas.size(), 3u);
  auto fsck = call<FsckReply>(FsckRequest{"/"});
  ASSERT_TRUE(fsck.is_ok());
  EXPECT_EQ(fsck->files, 1u);
  EXPECT_EQ(fsck->under_replicated, 0u);
}

TEST_F(MasterServiceTest, TooFewWorkersFailTheAllocationUnlessAMinimumAllowsIt) {
  auto now = MasterService::Clock::now();
  beat("w1", now);
  beat("w2", now);
  Status commit;
  auto refused = upload("/a", 3, 0, &commit);
  EXPECT_EQ(refused.status().code(), Code::kUnavailable);
  EXPECT_NE(refused.status().message().find("needs 3 live workers"), std::string::npos)
      << refused.status().message();

  auto accepted = upload("/b", 3, 2, &commit);
  ASSERT_TRUE(accepted.is_ok()) << accepted.status().to_string();
  ASSERT_TRUE(commit.is_ok()) << commit.to_string();
  EXPECT_EQ(accepted->pipeline.size(), 2u);
  // Recorded as under-replicated, for repair to find.
  auto fsck = call<FsckReply>(FsckRequest{"/"});
  ASSERT_TRUE(fsck.is_ok());
  EXPECT_EQ(fsck->under_replicated, 1u);
  EXPECT_EQ(fsck->lost, 0u);
  ASSERT_EQ(fsck->problems.size(), 1u);
  EXPECT_EQ(fsck->problems[0].path, "/b");
  EXPECT_EQ(fsck->problems[0].good.size(), 2u);
}

TEST_F(MasterServiceTest, ACommitOnFewerWorkersThanTheMinimumIsRefused) {
  auto now = MasterService::Clock::now();
  for (const char* w : {"w1", "w2", "w3"}) beat(w, now);
  Status commit;
  ASSERT_TRUE(upload("/a", 3, 0, &commit, /*replicas=*/2).is_ok());
  EXPECT_EQ(commit.code(), Code::kUnavailable);
  EXPECT_EQ(call<StatReply>(StatRequest{"/a"}).status().code(), Code::kNotFound);
}

TEST_F(MasterServiceTest, AReportedCorruptReplicaStopsCountingAsGood) {
  auto now = MasterService::Clock::now();
  for (const char* w : {"w1", "w2", "w3"}) beat(w, now);
  Status commit;
  auto alloc = upload("/a", 3, 0, &commit);
  ASSERT_TRUE(alloc.is_ok() && commit.is_ok());
  const std::string bad = alloc->pipeline[1].id;
  // A report about a worker that holds no replica is refused.
  EXPECT_EQ(
      call<OkReply>(ReportBadReplicaRequest{"/a", alloc->chunk_id, "w9", "x"}).status().code(),
      Code::kNotFound);
  ASSERT_TRUE(
      call<OkReply>(ReportBadReplicaRequest{"/a", alloc->chunk_id, bad, "checksum mismatch"})
          .is_ok());
  auto st = call<StatReply>(StatRequest{"/a"});
  ASSERT_TRUE(st.is_ok());
  EXPECT_EQ(st->chunks.at(0).corrupt, std::vector<std::string>{bad});
  EXPECT_EQ(st->chunks.at(0).replicas.size(), 3u);  // the copy is kept until repaired
  auto fsck = call<FsckReply>(FsckRequest{"/a"});
  ASSERT_TRUE(fsck.is_ok());
  EXPECT_EQ(fsck->under_replicated, 1u);
  ASSERT_EQ(fsck->problems.size(), 1u);
  EXPECT_EQ(fsck->problems[0].good.size(), 2u);
  EXPECT_EQ(fsck->problems[0].chunk.corrupt, std::vector<std::string>{bad});
  // Deleting the file forgets the record with the chunk.
  ASSERT_TRUE(call<OkReply>(DeleteRequest{"/a", false}).is_ok());
  EXPECT_EQ(call<FsckReply>(FsckRequest{"/"})->under_replicated, 0u);
}

TEST_F(MasterServiceTest, UnknownRequestTypesAreProtocolErrors) {
  EXPECT_EQ(call<OkReply>(Heartbeat{"w1", "tcp://127.0.0.1:1", "tcp://127.0.0.1:2", 1, 0, 0, 1, {}})
                .status()
                .code(),
            Code::kProtocol);
}

}  // namespace
}  // namespace dfs
