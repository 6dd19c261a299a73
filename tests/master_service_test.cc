// MasterService without sockets: requests in, replies out.
#include <gtest/gtest.h>

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
  ChunkInfo forged{0, std::string(32, 'f'), 10, std::string(64, 'a'), {"w1"}};
  auto commit = call<OkReply>(CommitUploadRequest{upload->upload_id, 10, {forged}});
  EXPECT_EQ(commit.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(call<StatReply>(StatRequest{"/a"}).status().code(), Code::kNotFound);
}

TEST_F(MasterServiceTest, InventoryReportsCollectOnlyChunksNothingClaims) {
  auto now = MasterService::Clock::now();
  service_->on_heartbeat(Heartbeat{"w1", "tcp://127.0.0.1:1", 1 << 30, 0, 0, 1, {}}, now);
  auto upload = call<CreateUploadReply>(CreateUploadRequest{"/a", 0, 0, false});
  ASSERT_TRUE(upload.is_ok());
  auto alloc = call<AllocateChunkReply>(AllocateChunkRequest{upload->upload_id, 0, 100, {}});
  ASSERT_TRUE(alloc.is_ok()) << alloc.status().to_string();
  const std::string orphan(32, 'e');
  service_->on_chunk_report(ChunkReport{"w1", {alloc->chunk_id, orphan}});
  // Only the orphan is garbage: the other belongs to an upload in progress.
  EXPECT_EQ(service_->names().garbage(10)["w1"], std::vector<std::string>{orphan});
}

TEST_F(MasterServiceTest, ReplicationBeyondWhatWorkersSupportIsRefused) {
  auto upload = call<CreateUploadReply>(CreateUploadRequest{"/a", 0, 3, false});
  EXPECT_EQ(upload.status().code(), Code::kInvalidArgument);
}

TEST_F(MasterServiceTest, UnknownRequestTypesAreProtocolErrors) {
  EXPECT_EQ(call<OkReply>(Heartbeat{"w1", "tcp://127.0.0.1:1", 1, 0, 0, 1, {}}).status().code(),
            Code::kProtocol);
}

}  // namespace
}  // namespace dfs
