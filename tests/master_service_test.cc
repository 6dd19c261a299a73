// MasterService without sockets: requests in, replies out.
#include <gtest/gtest.h>

#include <set>

#include "master/master_service.h"
#include "tests/held_log.h"
#include "tests/test_util.h"

namespace dfs {
namespace {

class MasterServiceTest : public ::testing::Test {
 protected:
  using Clock = MasterService::Clock;

  void SetUp() override {
    MasterOptions options;
    options.max_uploads = 2;
    options.max_pending = 4;
    options.seed = 42;
    options_ = options;
    auto ns = Namespace::open(dir_.path());
    ASSERT_TRUE(ns.is_ok());
    service_ = std::make_unique<MasterService>(options, std::move(ns).value(), &log_);
    // Leading for long: past the startup grace unless a test says otherwise.
    service_->on_role(true, "", Clock::now() - std::chrono::hours(1));
  }

  // Hands the service a request and returns every reply it gives, without
  // delivering the log (a test decides when entries apply).
  template <typename Req>
  void send(const Req& req, uint64_t id) {
    Envelope env = make_envelope(req, id);
    env.routing_id = "client";
    service_->handle(env, Clock::now());
  }
  std::vector<Envelope> replies() { return service_->take_replies(); }

  // A request answered after everything it proposed applied.
  template <typename Rep, typename Req>
  Result<Rep> call(const Req& req) {
    send(req, ++request_id_);
    log_.deliver(*service_);
    auto out = replies();
    EXPECT_EQ(out.size(), 1u);
    if (out.size() != 1) return Status(Code::kInternal, "expected one reply");
    EXPECT_EQ(out[0].routing_id, "client");
    EXPECT_EQ(out[0].header.request_id, request_id_);
    return decode_reply<Rep>(out[0]);
  }

  void beat(const std::string& id, Clock::time_point now = Clock::now()) {
    service_->on_heartbeat(
        Heartbeat{id, "tcp://127.0.0.1:1", "tcp://127.0.0.1:2", 1 << 30, 0, 0, 1, {}}, now);
    log_.deliver(*service_);
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
  MasterOptions options_;
  test::HeldLog log_;
  std::unique_ptr<MasterService> service_;
  uint64_t request_id_ = 0;
};

TEST_F(MasterServiceTest, UploadsInProgressAreBounded) {
  ASSERT_TRUE((call<CreateUploadReply>(CreateUploadRequest{"/a", 0, 0, false}).is_ok()));
  ASSERT_TRUE((call<CreateUploadReply>(CreateUploadRequest{"/b", 0, 0, false}).is_ok()));
  auto third = call<CreateUploadReply>(CreateUploadRequest{"/c", 0, 0, false});
  EXPECT_EQ(third.status().code(), Code::kUnavailable);
  EXPECT_NE(third.status().message().find("too many uploads"), std::string::npos);
}

TEST_F(MasterServiceTest, AnEmptyFileIsMadeInOneStepWithoutAnyWorker) {
  ASSERT_TRUE(call<OkReply>(CreateFileRequest{"/e", 1 << 20, 2, false, {}}).is_ok());
  auto st = call<StatReply>(StatRequest{"/e"});
  ASSERT_TRUE(st.is_ok()) << st.status().to_string();
  EXPECT_EQ(st->entry.kind, static_cast<uint8_t>(EntryKind::kFile));
  EXPECT_EQ(st->entry.size, 0u);
  EXPECT_EQ(st->entry.chunk_size, 1u << 20);
  EXPECT_EQ(st->entry.replication, 2u);
  EXPECT_TRUE(st->chunks.empty());
  // Like any commit: an existing name needs overwrite, a missing parent fails.
  EXPECT_EQ(call<OkReply>(CreateFileRequest{"/e", 0, 0, false, {}}).status().code(),
            Code::kAlreadyExists);
  EXPECT_TRUE(call<OkReply>(CreateFileRequest{"/e", 0, 0, true, {}}).is_ok());
  EXPECT_EQ(call<OkReply>(CreateFileRequest{"/no/e", 0, 0, false, {}}).status().code(),
            Code::kNotFound);
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
  service_->on_chunk_report(ChunkReport{"w1", {alloc->chunk_id, orphan}}, now);
  log_.deliver(*service_);
  // Only the orphan is garbage: the other belongs to an upload in progress.
  EXPECT_EQ(service_->names().garbage(10)["w1"], std::vector<std::string>{orphan});
}

TEST_F(MasterServiceTest, ADrainingWorkerTakesNoNewChunkAndIsSafeToStopOnlyWhenNothingNeedsIt) {
  beat("w1");
  beat("w2");
  auto first = call<CreateUploadReply>(CreateUploadRequest{"/a", 0, 1, false});
  ASSERT_TRUE(first.is_ok());
  auto alloc = call<AllocateChunkReply>(AllocateChunkRequest{first->upload_id, 0, 100, {}});
  ASSERT_TRUE(alloc.is_ok()) << alloc.status().to_string();
  const std::string held = alloc->pipeline.at(0).id, other = held == "w1" ? "w2" : "w1";
  ASSERT_TRUE(call<OkReply>(WorkerDrainRequest{held, true, {}}).is_ok());
  EXPECT_EQ(call<OkReply>(WorkerDrainRequest{"w9", true, {}}).status().code(), Code::kNotFound);
  service_->tick(Clock::now());  // the leader walks its replica map
  // Worker w's count of chunks that need it, checking its drain flag.
  auto recorded = [&](const std::string& w, bool draining) -> int64_t {
    auto st = call<ClusterStatusReply>(ClusterStatusRequest{});
    EXPECT_TRUE(st.is_ok()) << st.status().to_string();
    for (const auto& i : st.is_ok() ? st->workers : std::vector<WorkerInfo>{}) {
      if (i.id == w) {
        EXPECT_EQ(i.draining, draining);
        return i.recorded_chunks;
      }
    }
    return -2;
  };
  // Nothing committed names it yet, but the open upload will when it commits.
  EXPECT_EQ(recorded(held, true), 1);
  // New chunks go elsewhere only; with nowhere else, the refusal says why.
  auto second = call<CreateUploadReply>(CreateUploadRequest{"/b", 0, 2, false, 1});
  ASSERT_TRUE(second.is_ok());
  auto placed = call<AllocateChunkReply>(AllocateChunkRequest{second->upload_id, 0, 100, {}});
  ASSERT_TRUE(placed.is_ok()) << placed.status().to_string();
  ASSERT_EQ(placed->pipeline.size(), 1u);
  EXPECT_EQ(placed->pipeline[0].id, other);
  auto refused = call<AllocateChunkReply>(AllocateChunkRequest{second->upload_id, 1, 100, {other}});
  EXPECT_NE(refused.status().message().find("draining, so not used: " + held), std::string::npos)
      << refused.status().to_string();
  // Committed, the chunk is recorded there: still needed.
  ChunkInfo c{0, alloc->chunk_id, 100, std::string(64, 'a'), {held}, {}};
  ASSERT_TRUE(call<OkReply>(CommitUploadRequest{first->upload_id, 100, {c}}).is_ok());
  EXPECT_EQ(recorded(held, true), 1);
  // Back in service: the flag is gone.
  ASSERT_TRUE(call<OkReply>(WorkerDrainRequest{held, false, {}}).is_ok());
  EXPECT_EQ(recorded(held, false), 1);
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

// ---- the asynchronous seam: exactly once, bounded, honest about leadership ----

TEST_F(MasterServiceTest, AMasterOutOfTouchWithItsGroupRefusesStaleReadsOfFilesButNotItsOwnView) {
  ASSERT_TRUE(call<OkReply>(MkdirRequest{"/d", false, {}}).is_ok());
  service_->on_role(false, "", Clock::now());
  auto stale_stat = [&] { return call<StatReply>(StatRequest{"/d", /*stale=*/true}); };
  auto stale_list = [&] { return call<ListReply>(ListRequest{"/", "", "", 10, /*stale=*/true}); };

  // Current 200 ms ago, or as long ago as the limit: served.
  log_.set_since_current(std::chrono::milliseconds(200));
  EXPECT_TRUE(stale_stat().is_ok());
  log_.set_since_current(options_.stale_read_limit);
  EXPECT_TRUE(stale_list().is_ok());

  // Past the limit, or never since it started: every read of files or keys
  // is refused at once, saying why.
  for (auto since :
       {std::optional<Clock::duration>(options_.stale_read_limit + std::chrono::milliseconds(1)),
        std::optional<Clock::duration>()}) {
    log_.set_since_current(since);
    auto stat = stale_stat();
    ASSERT_FALSE(stat.is_ok());
    EXPECT_EQ(stat.status().code(), Code::kUnavailable);
    EXPECT_NE(stat.status().message().find("limit for stale reads"), std::string::npos)
        << stat.status().message();
    EXPECT_EQ(stale_list().status().code(), Code::kUnavailable);
    EXPECT_EQ(call<KeysReply>(KeysRequest{true}).status().code(), Code::kUnavailable);
    // Its own view of the cluster is what an operator needs from it now.
    EXPECT_TRUE(call<ClusterStatusReply>(ClusterStatusRequest{0, true}).is_ok());
    EXPECT_TRUE(call<MembersReply>(MembersRequest{0, true}).is_ok());
  }

  // A limit of 0 is none.
  test::TempDir other;
  options_.stale_read_limit = std::chrono::milliseconds(0);
  service_ =
      std::make_unique<MasterService>(options_, Namespace::open(other.path()).value(), &log_);
  service_->on_role(false, "", Clock::now());
  EXPECT_EQ(stale_list().status().code(), Code::kOk);
  service_.reset();  // closes its store before `other` goes
}

TEST_F(MasterServiceTest, ARetriedMutationGetsItsOriginalAnswerInsteadOfApplyingTwice) {
  const uint64_t client = 77;
  ASSERT_TRUE(call<OkReply>(MkdirRequest{"/a", false, {client, 1}}).is_ok());
  ASSERT_TRUE(call<OkReply>(RenameRequest{"/a", "/b", {client, 2}}).is_ok());
  // The reply was lost, say: the client asks again with the same numbers.
  EXPECT_TRUE(call<OkReply>(RenameRequest{"/a", "/b", {client, 2}}).is_ok());
  // A new request (next number) really runs again, and finds no /a.
  EXPECT_EQ(call<OkReply>(RenameRequest{"/a", "/b", {client, 3}}).status().code(), Code::kNotFound);
  // An error is an outcome too: its retry gets the same error.
  EXPECT_EQ(call<OkReply>(RenameRequest{"/a", "/b", {client, 3}}).status().code(), Code::kNotFound);
  // A request overtaken by a newer one from the same client changes nothing.
  auto stale = call<OkReply>(DeleteRequest{"/b", false, {client, 1}});
  EXPECT_EQ(stale.status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(call<StatReply>(StatRequest{"/b"}).is_ok());
  // Another client's numbers are its own.
  EXPECT_TRUE(call<OkReply>(DeleteRequest{"/b", false, {client + 1, 1}}).is_ok());
}

TEST_F(MasterServiceTest, ARetriedCreateUploadReturnsTheSameUpload) {
  CreateUploadRequest req{"/f", 0, 1, false, 0, {5, 1}};
  auto first = call<CreateUploadReply>(req);
  auto again = call<CreateUploadReply>(req);
  ASSERT_TRUE(first.is_ok() && again.is_ok());
  EXPECT_EQ(first->upload_id, again->upload_id);
  EXPECT_EQ(service_->names().upload_count(), 1u);
}

TEST_F(MasterServiceTest, ARetriedAllocationGetsItsPipelineEvenWhenPlacementWouldNowFail) {
  beat("w1");
  auto upload = call<CreateUploadReply>(CreateUploadRequest{"/a", 0, 1, false});
  ASSERT_TRUE(upload.is_ok());
  AllocateChunkRequest req{upload->upload_id, 0, 100, {}, {8, 1}};
  auto first = call<AllocateChunkReply>(req);
  ASSERT_TRUE(first.is_ok()) << first.status().to_string();
  // The only worker falls silent: a fresh placement has nowhere to go.
  service_->tick(Clock::now() + std::chrono::hours(1));
  EXPECT_EQ(call<AllocateChunkReply>(AllocateChunkRequest{upload->upload_id, 1, 100, {}, {8, 2}})
                .status()
                .code(),
            Code::kUnavailable);
  // The retry of the first request is answered from its record, unplanned.
  auto again = call<AllocateChunkReply>(req);
  ASSERT_TRUE(again.is_ok()) << again.status().to_string();
  EXPECT_EQ(again->chunk_id, first->chunk_id);
  EXPECT_EQ(again->pipeline.at(0).id, "w1");
}

TEST_F(MasterServiceTest, TheSameRequestProposedTwiceAppliesOnce) {
  // A client that timed out and retried while the first attempt was still
  // in the log: both entries commit, one applies.
  send(MkdirRequest{"/d", false, {9, 1}}, 1);
  send(MkdirRequest{"/d", false, {9, 1}}, 2);
  EXPECT_EQ(log_.held(), 2u);
  log_.deliver(*service_);
  auto out = replies();
  ASSERT_EQ(out.size(), 2u);
  for (const auto& r : out) EXPECT_TRUE(decode_reply<OkReply>(r).is_ok());
  EXPECT_EQ(service_->names().directory_count(), 1u);
}

TEST_F(MasterServiceTest, AFullTableOfRequestsWaitingToCommitAnswersBusy) {
  for (uint64_t i = 1; i <= options_.max_pending; ++i) {
    send(MkdirRequest{"/d" + std::to_string(i), false, {1, i}}, i);
  }
  EXPECT_TRUE(replies().empty());
  send(MkdirRequest{"/more", false, {1, 99}}, 99);
  auto busy = replies();
  ASSERT_EQ(busy.size(), 1u);
  EXPECT_EQ(decode_reply<OkReply>(busy[0]).status().code(), Code::kBusy);
  log_.deliver(*service_);
  EXPECT_EQ(replies().size(), options_.max_pending);  // the waiting ones are all answered
}

TEST_F(MasterServiceTest, LosingLeadershipAnswersEveryWaitingRequestWithTheNewLeader) {
  send(MkdirRequest{"/a", false, {1, 1}}, 1);
  send(StatRequest{"/"}, 2);
  service_->on_role(false, "tcp://10.0.0.2:7400", Clock::now());
  auto out = replies();
  ASSERT_EQ(out.size(), 2u);
  for (const auto& r : out) {
    auto err = decode<ErrorReply>(r.body);
    ASSERT_TRUE(err.is_ok());
    EXPECT_EQ(err->code, static_cast<uint16_t>(Code::kNotLeader));
    EXPECT_EQ(err->leader, "tcp://10.0.0.2:7400");
  }
  // The entry may still commit under the new leader: it applies here as on
  // every replica, and nobody is answered twice.
  log_.deliver(*service_);
  EXPECT_TRUE(replies().empty());
  EXPECT_TRUE(service_->names().lookup("/a").is_ok());
  // A follower takes no requests of its own.
  send(MkdirRequest{"/b", false, {1, 2}}, 3);
  send(StatRequest{"/a"}, 4);
  auto refused = replies();
  ASSERT_EQ(refused.size(), 2u);
  for (const auto& r : refused) {
    EXPECT_EQ(decode_reply<OkReply>(r).status().code(), Code::kNotLeader);
  }
  EXPECT_EQ(log_.held(), 0u);
}

TEST_F(MasterServiceTest, ARequestWhoseEntryAnotherLeaderReplacedIsToldToRetry) {
  send(MkdirRequest{"/a", false, {1, 1}}, 1);
  log_.replace_first(encode(make_command(MkdirCmd{"/other", false, 1}, 1)));
  log_.deliver(*service_);
  auto out = replies();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(decode_reply<OkReply>(out[0]).status().code(), Code::kNotLeader);
  EXPECT_FALSE(service_->names().lookup("/a").is_ok());
  EXPECT_TRUE(service_->names().lookup("/other").is_ok());
}

TEST_F(MasterServiceTest, AReportRacingTheAllocationOfItsChunkDoesNotCollectIt) {
  beat("w1");
  auto upload = call<CreateUploadReply>(CreateUploadRequest{"/a", 0, 1, false});
  ASSERT_TRUE(upload.is_ok());
  // The allocation is in the log but not applied (a new leader catching up,
  // say) when a worker's inventory names the chunk.
  send(AllocateChunkRequest{upload->upload_id, 0, 100, {}, {3, 1}}, 1);
  auto held = log_.held_commands();
  ASSERT_EQ(held.size(), 1u);
  auto alloc = decode<AllocateChunkCmd>(held[0].body);
  ASSERT_TRUE(alloc.is_ok());
  service_->on_chunk_report(ChunkReport{"w1", {alloc->chunk_id}}, MasterService::Clock::now());
  log_.deliver(*service_);
  // Decided when the collection applied, after the allocation: not an orphan.
  EXPECT_TRUE(service_->names().garbage(10).empty());
  EXPECT_TRUE(service_->names().uploads().is_allocated(alloc->chunk_id));
}

TEST_F(MasterServiceTest, AnAllocationJustAfterTakingOverWaitsForTheWorkersFirstHeartbeat) {
  auto upload = call<CreateUploadReply>(CreateUploadRequest{"/a", 0, 1, false});
  ASSERT_TRUE(upload.is_ok());
  auto now = Clock::now();
  service_->on_role(false, "", now);
  service_->on_role(true, "", now);  // a fresh leader: no heartbeat yet
  send(AllocateChunkRequest{upload->upload_id, 0, 100, {}, {4, 1}}, 1);
  log_.deliver(*service_);
  EXPECT_TRUE(replies().empty());  // waiting, not failing
  beat("w1", now + std::chrono::milliseconds(300));
  auto out = replies();
  ASSERT_EQ(out.size(), 1u);
  auto alloc = decode_reply<AllocateChunkReply>(out[0]);
  ASSERT_TRUE(alloc.is_ok()) << alloc.status().to_string();
  EXPECT_EQ(alloc->pipeline.at(0).id, "w1");
  // Past the grace, no workers is an answer again.
  service_->on_role(false, "", now);
  service_->on_role(true, "", now);
  send(AllocateChunkRequest{upload->upload_id, 0, 100, {"w1"}, {4, 2}}, 2);
  service_->tick(now + options_.registry.suspect_after + std::chrono::milliseconds(1));
  out = replies();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(decode_reply<AllocateChunkReply>(out[0]).status().code(), Code::kUnavailable);
}

TEST_F(MasterServiceTest, ARequestTooBigForOneLogEntryIsRefusedBeforeItReachesTheLog) {
  auto upload = call<CreateUploadReply>(CreateUploadRequest{"/huge", 0, 1, false});
  ASSERT_TRUE(upload.is_ok());
  CommitUploadRequest req{upload->upload_id, 0, {}, {6, 1}};
  const size_t n = 250000;  // about 40 MiB of chunk list
  for (size_t i = 0; i < n; ++i) {
    char id[33];
    std::snprintf(id, sizeof id, "%032zx", i + 1);
    req.chunks.push_back(ChunkInfo{i, id, 64 << 20, std::string(64, 'a'), {"w1"}, {}});
  }
  req.size = uint64_t{n} * (64 << 20);
  auto out = call<OkReply>(req);
  EXPECT_EQ(out.status().code(), Code::kInvalidArgument);
  EXPECT_NE(out.status().message().find("MiB limit"), std::string::npos) << out.status().message();
  EXPECT_EQ(log_.held(), 0u);
}

}  // namespace
}  // namespace dfs

namespace dfs {
namespace {

// No size limit a user can hit: a file of 100,000 chunks (6.5 GB at the
// smallest chunk size) is allocated chunk by chunk, commits in one log entry,
// and stats whole.
TEST(MasterServiceScaleTest, AFileOfAHundredThousandChunksCommitsAndStats) {
  using Clock = MasterService::Clock;
  constexpr uint64_t kChunks = 100000;
  test::TempDir dir;
  test::HeldLog log;
  MasterOptions options;
  auto ns = Namespace::open(dir.path(), /*sync_writes=*/false);  // the log would be durable
  ASSERT_TRUE(ns.is_ok());
  MasterService service(options, std::move(ns).value(), &log);
  service.on_role(true, "", Clock::now() - std::chrono::hours(1));
  uint64_t rid = 0;
  auto call = [&](const auto& req) {
    Envelope env = make_envelope(req, ++rid);
    env.routing_id = "client";
    service.handle(env, Clock::now());
    log.deliver(service);
    auto out = service.take_replies();
    EXPECT_EQ(out.size(), 1u);
    return out.empty() ? Envelope{} : std::move(out[0]);
  };
  for (const char* w : {"w1", "w2", "w3"}) {
    service.on_heartbeat(
        Heartbeat{w, "tcp://127.0.0.1:1", "tcp://127.0.0.1:2", 1ull << 42, 0, 0, 1, {}},
        Clock::now());
  }
  log.deliver(service);
  auto up = decode_reply<CreateUploadReply>(
      call(CreateUploadRequest{"/huge", kMinChunkSize, 3, false, 0, {}}));
  ASSERT_TRUE(up.is_ok()) << up.status().to_string();
  std::vector<ChunkInfo> chunks;
  chunks.reserve(kChunks);
  for (uint64_t i = 0; i < kChunks; ++i) {
    auto alloc = decode_reply<AllocateChunkReply>(
        call(AllocateChunkRequest{up->upload_id, i, kMinChunkSize, {}, {}}));
    ASSERT_TRUE(alloc.is_ok()) << "chunk " << i << ": " << alloc.status().to_string();
    ChunkInfo c{i, alloc->chunk_id, kMinChunkSize, std::string(64, 'a'), {}, {}};
    for (const auto& w : alloc->pipeline) c.replicas.push_back(w.id);
    chunks.push_back(std::move(c));
  }
  auto committed = decode_reply<OkReply>(
      call(CommitUploadRequest{up->upload_id, kChunks * kMinChunkSize, std::move(chunks), {}}));
  ASSERT_TRUE(committed.is_ok()) << committed.status().to_string();
  auto st = decode_reply<StatReply>(call(StatRequest{"/huge", false}));
  ASSERT_TRUE(st.is_ok()) << st.status().to_string();
  EXPECT_EQ(st->entry.chunk_count, kChunks);
  EXPECT_EQ(st->entry.size, kChunks * kMinChunkSize);
  ASSERT_EQ(st->chunks.size(), kChunks);
  EXPECT_EQ(st->chunks.back().index, kChunks - 1);
}

}  // namespace
}  // namespace dfs
