// The replication pipeline as one worker runs it, without sockets: which
// frames it forwards and writes, when it acknowledges, and how one failure
// anywhere in the chain is reported upstream, aborted downstream and dropped
// locally.
#include <gtest/gtest.h>

#include "worker/pipeline_tracker.h"

namespace dfs {
namespace {

using namespace std::chrono_literals;

const std::string kChunk = "0123456789abcdef0123456789abcdef";

WorkerAddr addr(const std::string& id) {
  return {id, "tcp://127.0.0.1:1", "tcp://pipe-" + id + ":1"};
}

class PipelineTrackerTest : public ::testing::Test {
 protected:
  PipelineTracker::Options options() {
    PipelineTracker::Options o;
    o.hop_timeout = 1000ms;
    o.idle_timeout = 5000ms;
    o.max_pending = 4;
    return o;
  }

  // A frame of `len` bytes at `offset` of a chunk of `total`, from the client.
  PipelineActions client_frame(uint64_t offset, size_t len, uint64_t total,
                               std::vector<WorkerAddr> downstream = {},
                               PipelineTracker::Clock::time_point at = {}) {
    IncomingFrame in;
    in.frame = WriteChunkFrame{
        kChunk, offset, total, offset + len == total, std::string(64, 'a'), std::move(downstream)};
    in.data = zmq::message_t(len);
    in.request_id = ++request_;
    PipelineActions out;
    tracker_.on_frame(std::move(in), Upstream{"client", {}, {}},
                      at == PipelineTracker::Clock::time_point{} ? t0_ : at, &out);
    return out;
  }

  PipelineActions local(uint64_t received, bool stored) {
    PipelineActions out;
    tracker_.on_local_ack(ReplicaAck{kChunk, "w1", received, stored, 0, ""}, &out);
    return out;
  }
  // An acknowledgement naming `from`, sent with the key of `sender` (nullopt:
  // keys are not checked).
  PipelineActions remote(const std::string& from, uint64_t received, bool stored,
                         Code code = Code::kOk, std::chrono::milliseconds at = 0ms,
                         const PeerName& sender = std::nullopt, Status* refused = nullptr) {
    PipelineActions out;
    Status s = tracker_.on_remote_ack(
        ReplicaAck{kChunk, from, received, stored, static_cast<uint16_t>(code),
                   code == Code::kOk ? "" : "it broke"},
        sender, t0_ + at, &out);
    if (refused) *refused = s;
    return out;
  }

  static Result<WriteChunkAck> client_reply(const PipelineActions& out, size_t i = 0) {
    EXPECT_GT(out.replies.size(), i);
    if (out.replies.size() <= i) return Status(Code::kInternal, "no reply");
    EXPECT_EQ(out.replies[i].routing_id, "client");
    return decode_reply<WriteChunkAck>(out.replies[i]);
  }
  static std::string culprit(const Envelope& reply) {
    auto err = decode<ErrorReply>(reply.body);
    return err.is_ok() ? err->worker : "";
  }
  static std::vector<std::string> endpoints(const PipelineActions& out) {
    std::vector<std::string> eps;
    for (const auto& s : out.sends) eps.push_back(s.endpoint);
    return eps;
  }

  PipelineTracker::Clock::time_point t0_ = PipelineTracker::Clock::now();
  PipelineTracker tracker_{addr("w1"), options()};
  uint64_t request_ = 0;
};

TEST_F(PipelineTrackerTest, ASingleReplicaAcknowledgesWhatItsDiskHolds) {
  auto out = client_frame(0, 10, 20);
  ASSERT_EQ(out.writes.size(), 1u);
  EXPECT_TRUE(out.sends.empty());
  EXPECT_TRUE(out.replies.empty());  // nothing is acknowledged before the disk has it
  out = local(10, false);
  auto ack = client_reply(out);
  ASSERT_TRUE(ack.is_ok());
  EXPECT_EQ(ack->received, 10u);
  EXPECT_FALSE(ack->stored);
  EXPECT_EQ(out.replies[0].header.request_id, 1u);

  client_frame(10, 10, 20);
  EXPECT_TRUE(local(20, false).replies.empty());  // written, not yet committed
  ack = client_reply(local(20, true));
  ASSERT_TRUE(ack.is_ok());
  EXPECT_TRUE(ack->stored);
  EXPECT_EQ(tracker_.open_writes(), 0u);
}

TEST_F(PipelineTrackerTest, TheHeadForwardsAndAcknowledgesOnlyWhatTheWholeChainHolds) {
  auto out = client_frame(0, 10, 10, {addr("w2"), addr("w3")});
  ASSERT_EQ(out.writes.size(), 1u);
  ASSERT_EQ(out.sends.size(), 1u);
  EXPECT_EQ(out.sends[0].endpoint, "tcp://pipe-w2:1");
  auto fwd = decode<ReplicaFrame>(out.sends[0].envelope.body);
  ASSERT_TRUE(fwd.is_ok()) << fwd.status().to_string();
  EXPECT_EQ(fwd->upstream.id, "w1");
  EXPECT_EQ(fwd->upstream.pipeline, "tcp://pipe-w1:1");
  ASSERT_EQ(fwd->frame.downstream.size(), 1u);  // the rest of the chain after w2
  EXPECT_EQ(fwd->frame.downstream[0].id, "w3");
  EXPECT_EQ(fwd->frame.offset, 0u);
  EXPECT_TRUE(fwd->frame.last);
  ASSERT_EQ(out.sends[0].envelope.data.size(), 1u);
  EXPECT_EQ(out.sends[0].envelope.data[0].size(), 10u);

  EXPECT_TRUE(local(10, true).replies.empty());          // w2 and w3 have not confirmed
  EXPECT_TRUE(remote("w2", 10, false).replies.empty());  // received, not committed
  auto ack = client_reply(remote("w2", 10, true));
  ASSERT_TRUE(ack.is_ok());
  EXPECT_TRUE(ack->stored);
}

TEST_F(PipelineTrackerTest, AMiddleWorkerAcknowledgesToThePreviousWorker) {
  IncomingFrame in;
  in.frame = WriteChunkFrame{kChunk, 0, 10, true, std::string(64, 'a'), {addr("w3")}};
  in.data = zmq::message_t(10);
  PipelineActions out;
  tracker_.on_frame(std::move(in), Upstream{"", addr("w0"), {}}, t0_, &out);
  ASSERT_EQ(endpoints(out), std::vector<std::string>{"tcp://pipe-w3:1"});
  local(10, true);
  out = remote("w3", 10, true);
  ASSERT_EQ(endpoints(out), std::vector<std::string>{"tcp://pipe-w0:1"});
  auto ack = decode<ReplicaAck>(out.sends[0].envelope.body);
  ASSERT_TRUE(ack.is_ok());
  EXPECT_EQ(ack->worker_id, "w1");
  EXPECT_TRUE(ack->stored);
  EXPECT_FALSE(ack->failed());
}

TEST_F(PipelineTrackerTest, AFailureDownstreamNamesTheCulpritAbortsEverywhereAndSticks) {
  client_frame(0, 10, 30, {addr("w2"), addr("w3")});
  auto out = remote("w3", 0, false, Code::kChecksumMismatch);
  ASSERT_EQ(out.replies.size(), 1u);
  EXPECT_EQ(decode_reply<WriteChunkAck>(out.replies[0]).status().code(), Code::kChecksumMismatch);
  EXPECT_EQ(culprit(out.replies[0]), "w3");
  // Every later worker hears directly, in case the next hop is the dead one.
  EXPECT_EQ(endpoints(out), (std::vector<std::string>{"tcp://pipe-w2:1", "tcp://pipe-w3:1"}));
  EXPECT_EQ(out.aborts, std::vector<std::string>{kChunk});
  EXPECT_EQ(tracker_.open_writes(), 0u);
  // A frame still in flight gets the same error, and nothing is written or forwarded.
  out = client_frame(10, 10, 30);
  EXPECT_TRUE(out.writes.empty());
  EXPECT_TRUE(out.sends.empty());
  EXPECT_EQ(culprit(out.replies.at(0)), "w3");
}

TEST_F(PipelineTrackerTest, ALocalDiskFailureBlamesThisWorker) {
  client_frame(0, 10, 10, {addr("w2")});
  PipelineActions out;
  tracker_.on_local_ack(
      ReplicaAck{kChunk, "w1", 0, false, static_cast<uint16_t>(Code::kDiskFull), "full"}, &out);
  EXPECT_EQ(decode_reply<WriteChunkAck>(out.replies.at(0)).status().code(), Code::kDiskFull);
  EXPECT_EQ(culprit(out.replies[0]), "w1");
  EXPECT_EQ(endpoints(out), std::vector<std::string>{"tcp://pipe-w2:1"});
}

TEST_F(PipelineTrackerTest, ASilentHopTimesOutAfterItsShareOfTheChain) {
  client_frame(0, 10, 20, {addr("w2"), addr("w3")});
  local(10, false);
  PipelineActions out;
  // Two workers left in the chain: twice the hop timeout before blaming w2,
  // so w2 can first report a silent w3.
  tracker_.tick(t0_ + 1500ms, &out);
  EXPECT_TRUE(out.empty());
  tracker_.tick(t0_ + 2100ms, &out);
  ASSERT_EQ(out.replies.size(), 1u);
  EXPECT_EQ(decode_reply<WriteChunkAck>(out.replies[0]).status().code(), Code::kTimeout);
  EXPECT_EQ(culprit(out.replies[0]), "w2");
}

TEST_F(PipelineTrackerTest, ProgressFromDownstreamRestartsTheSilenceClock) {
  client_frame(0, 10, 30, {addr("w2")});
  remote("w2", 10, false, Code::kOk, 900ms);
  client_frame(10, 10, 30, {}, t0_ + 900ms);
  PipelineActions out;
  tracker_.tick(t0_ + 1800ms, &out);
  EXPECT_TRUE(out.replies.empty());
  tracker_.tick(t0_ + 2000ms, &out);
  EXPECT_EQ(culprit(out.replies.at(0)), "w2");
}

TEST_F(PipelineTrackerTest, AnUnreachableNextHopFailsItsWrites) {
  client_frame(0, 10, 10, {addr("w2")});
  PipelineActions out;
  tracker_.on_peer_unreachable("tcp://pipe-w2:1", "", "queue full", &out);
  EXPECT_EQ(decode_reply<WriteChunkAck>(out.replies.at(0)).status().code(), Code::kUnavailable);
  EXPECT_EQ(culprit(out.replies[0]), "w2");
  EXPECT_EQ(tracker_.open_writes(), 0u);
}

TEST_F(PipelineTrackerTest, AnAbortFromUpstreamDropsTheWriteAndPassesItOn) {
  IncomingFrame in;
  in.frame = WriteChunkFrame{kChunk, 0, 20, false, "", {addr("w3")}};
  in.data = zmq::message_t(10);
  PipelineActions out;
  tracker_.on_frame(std::move(in), Upstream{"", addr("w0"), {}}, t0_, &out);
  out = {};
  ASSERT_TRUE(tracker_.on_abort(ReplicaAbort{kChunk, "w0 gave up"}, "w0", &out).is_ok());
  EXPECT_EQ(out.aborts, std::vector<std::string>{kChunk});
  EXPECT_EQ(endpoints(out), std::vector<std::string>{"tcp://pipe-w3:1"});
  EXPECT_EQ(tracker_.open_writes(), 0u);
}

TEST_F(PipelineTrackerTest, AnAbortBeforeTheFirstFrameKeepsTheWriteFromOpening) {
  PipelineActions out;
  ASSERT_TRUE(tracker_.on_abort(ReplicaAbort{kChunk, "reordered"}, std::nullopt, &out).is_ok());
  out = client_frame(0, 10, 10);
  EXPECT_TRUE(out.writes.empty());
  EXPECT_EQ(decode_reply<WriteChunkAck>(out.replies.at(0)).status().code(), Code::kCancelled);
}

// An abort can overtake the first frame (they travel different routes), so
// it is kept until that frame says who is before this worker in the chain.
TEST_F(PipelineTrackerTest, AnAbortThatOvertookTheFirstFrameCountsOnlyFromTheChain) {
  auto first_frame = [&](const std::string& chunk, const Upstream& from) {
    IncomingFrame in;
    in.frame = WriteChunkFrame{chunk, 0, 20, false, "", {addr("w3")}};
    in.data = zmq::message_t(10);
    PipelineActions out;
    tracker_.on_frame(std::move(in), from, t0_, &out);
    return out;
  };
  const std::string other = "fedcba9876543210fedcba9876543210";
  const std::string third = "00112233445566778899aabbccddeeff";
  PipelineActions out;
  // From the head of the chain, two hops up: the write never opens.
  ASSERT_TRUE(tracker_.on_abort(ReplicaAbort{kChunk, "gave up"}, "wa", &out).is_ok());
  out = first_frame(kChunk, Upstream{"", addr("w0"), {"wa"}});
  EXPECT_TRUE(out.writes.empty());
  EXPECT_EQ(tracker_.open_writes(), 0u);
  // From a worker outside the chain: the write goes on, here and downstream.
  ASSERT_TRUE(tracker_.on_abort(ReplicaAbort{other, "forged"}, "w9", &out).is_ok());
  out = first_frame(other, Upstream{"", addr("w0"), {"wa"}});
  EXPECT_EQ(out.writes.size(), 1u);
  EXPECT_EQ(endpoints(out), std::vector<std::string>{"tcp://pipe-w3:1"});
  // A client's write (a repair copy) is never cut off by a worker's abort.
  ASSERT_TRUE(tracker_.on_abort(ReplicaAbort{third, "forged"}, "w0", &out).is_ok());
  out = first_frame(third, Upstream{"client", {}, {}});
  EXPECT_EQ(out.writes.size(), 1u);
  EXPECT_EQ(tracker_.open_writes(), 2u);
}

TEST_F(PipelineTrackerTest, MalformedStreamsAreRefusedWithoutForwarding) {
  // A chain that names this worker, or one worker twice.
  auto out = client_frame(0, 10, 10, {addr("w2"), addr("w1")});
  EXPECT_TRUE(out.writes.empty());
  EXPECT_EQ(decode_reply<WriteChunkAck>(out.replies.at(0)).status().code(), Code::kInvalidArgument);
  // A gap in offsets fails the write.
  client_frame(0, 10, 30);
  out = client_frame(20, 10, 30);
  EXPECT_TRUE(out.writes.empty());
  EXPECT_EQ(out.aborts, std::vector<std::string>{kChunk});
}

TEST_F(PipelineTrackerTest, TooManyUnacknowledgedFramesFailTheWrite) {
  client_frame(0, 1, 100);
  for (uint64_t off = 1; off < 4; ++off) EXPECT_TRUE(client_frame(off, 1, 100).replies.empty());
  auto out = client_frame(4, 1, 100);
  EXPECT_EQ(decode_reply<WriteChunkAck>(out.replies.at(0)).status().code(), Code::kUnavailable);
}

TEST_F(PipelineTrackerTest, AcknowledgementsFromOutsideTheChainAreIgnored) {
  client_frame(0, 10, 10, {addr("w2")});
  local(10, true);
  EXPECT_TRUE(remote("w9", 10, true).replies.empty());
  EXPECT_TRUE(remote("w9", 0, false, Code::kIoError).replies.empty());
  EXPECT_EQ(tracker_.open_writes(), 1u);
}

TEST_F(PipelineTrackerTest, OnlyTheNextHopsKeyMayAcknowledge) {
  client_frame(0, 10, 10, {addr("w2"), addr("w3")});
  local(10, true);
  // w3 is in the chain but answers through w2: with its own key, even a
  // failure it names itself for is refused, and the write goes on.
  Status refused;
  EXPECT_TRUE(remote("w3", 10, true, Code::kOk, 0ms, "w3", &refused).replies.empty());
  EXPECT_EQ(refused.code(), Code::kPermissionDenied);
  EXPECT_TRUE(remote("w3", 0, false, Code::kIoError, 0ms, "w3", &refused).empty());
  EXPECT_EQ(refused.code(), Code::kPermissionDenied);
  // A key the keyring does not name is nobody in the chain.
  EXPECT_TRUE(remote("w2", 10, true, Code::kOk, 0ms, "", &refused).replies.empty());
  EXPECT_EQ(refused.code(), Code::kPermissionDenied);
  // An acknowledgement from w2 naming a worker outside the chain is refused too.
  EXPECT_TRUE(remote("w9", 10, true, Code::kOk, 0ms, "w2", &refused).replies.empty());
  EXPECT_EQ(refused.code(), Code::kPermissionDenied);
  EXPECT_EQ(tracker_.open_writes(), 1u);
  auto ack = client_reply(remote("w2", 10, true, Code::kOk, 0ms, "w2", &refused));
  EXPECT_TRUE(refused.is_ok());
  ASSERT_TRUE(ack.is_ok());
  EXPECT_TRUE(ack->stored);
}

TEST_F(PipelineTrackerTest, OnlyAWorkerBeforeThisOneMayAbort) {
  // w1 is third in wa -> w0 -> w1 -> w3.
  IncomingFrame in;
  in.frame = WriteChunkFrame{kChunk, 0, 20, false, "", {addr("w3")}};
  in.data = zmq::message_t(10);
  PipelineActions out;
  tracker_.on_frame(std::move(in), Upstream{"", addr("w0"), {"wa"}}, t0_, &out);
  // The frame forwarded to w3 names everyone before w3 besides w1.
  ASSERT_EQ(out.sends.size(), 1u);
  auto fwd = decode<ReplicaFrame>(out.sends[0].envelope.body);
  ASSERT_TRUE(fwd.is_ok()) << fwd.status().to_string();
  EXPECT_EQ(fwd->earlier, (std::vector<std::string>{"wa", "w0"}));
  // Neither the worker after it nor a stranger can abort it.
  out = {};
  for (const char* who : {"w3", "w9", ""}) {
    Status s = tracker_.on_abort(ReplicaAbort{kChunk, "forged"}, who, &out);
    EXPECT_EQ(s.code(), Code::kPermissionDenied) << who;
  }
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(tracker_.open_writes(), 1u);
  // The head of the chain can, past a dead w0.
  ASSERT_TRUE(tracker_.on_abort(ReplicaAbort{kChunk, "w0 is gone"}, "wa", &out).is_ok());
  EXPECT_EQ(out.aborts, std::vector<std::string>{kChunk});
  EXPECT_EQ(tracker_.open_writes(), 0u);
}

TEST_F(PipelineTrackerTest, AWriteFromAClientCannotBeAbortedByAWorker) {
  client_frame(0, 10, 20, {addr("w2")});
  PipelineActions out;
  EXPECT_EQ(tracker_.on_abort(ReplicaAbort{kChunk, "forged"}, "w2", &out).code(),
            Code::kPermissionDenied);
  EXPECT_EQ(tracker_.open_writes(), 1u);
}

TEST_F(PipelineTrackerTest, AWriteWhoseClientWentQuietIsDropped) {
  client_frame(0, 10, 20);
  local(10, false);
  PipelineActions out;
  tracker_.tick(t0_ + 4000ms, &out);
  EXPECT_EQ(tracker_.open_writes(), 1u);
  tracker_.tick(t0_ + 6000ms, &out);
  EXPECT_EQ(tracker_.open_writes(), 0u);
  EXPECT_EQ(out.aborts, std::vector<std::string>{kChunk});
}

}  // namespace
}  // namespace dfs
