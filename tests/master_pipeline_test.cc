// MasterPipeline against fake masters on real sockets: many requests in
// flight on one connection, each answered by its own reply whatever the
// order; NOT_LEADER hints followed; a silent master left for the next;
// mutations in flight together on separate sessions, each keeping its
// session across retries; and a clear error when no master leads.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "bus/wire.h"
#include "client/master_pipeline.h"
#include "codec/codec.h"

namespace dfs {
namespace {

using std::chrono::milliseconds;

// A ROUTER on a loopback port that answers each request with what
// `answer` returns (nothing: it stays silent). It holds answers until
// `hold` requests are waiting, then sends them newest first.
class FakeMaster {
 public:
  using Answer = std::function<std::optional<Envelope>(const Envelope&)>;

  FakeMaster(zmq::context_t& ctx, Answer answer, size_t hold = 1, int port = 0)
      : socket_(ctx, zmq::socket_type::router), answer_(std::move(answer)), hold_(hold) {
    socket_.bind("tcp://127.0.0.1:" + (port ? std::to_string(port) : std::string("*")));
    std::string at = socket_.get(zmq::sockopt::last_endpoint);
    at_ = parse_endpoint(at).value();
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeMaster() {
    stop_ = true;
    thread_.join();
  }

  const HostPort& at() const { return at_; }
  size_t requests() const { return requests_; }
  std::vector<Envelope> seen() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<Envelope> out;
    for (const auto& e : seen_) {
      Envelope copy;
      copy.header = e.header;
      copy.body = e.body;
      out.push_back(std::move(copy));
    }
    return out;
  }

 private:
  void serve() {
    std::vector<Envelope> held;
    while (!stop_) {
      zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, milliseconds(20));
      if (!(item.revents & ZMQ_POLLIN)) continue;
      Envelope req;
      if (!recv_envelope(socket_, Framing::kRouted, &req).is_ok()) continue;
      ++requests_;
      {
        std::lock_guard<std::mutex> lock(mu_);
        Envelope copy;
        copy.header = req.header;
        copy.body = req.body;
        seen_.push_back(std::move(copy));
      }
      auto reply = answer_(req);
      if (!reply) continue;
      reply->routing_id = req.routing_id;
      reply->header.request_id = req.header.request_id;
      held.push_back(std::move(*reply));
      if (held.size() < hold_) continue;
      for (auto it = held.rbegin(); it != held.rend(); ++it) {
        (void)send_envelope(socket_, Framing::kRouted, std::move(*it));
      }
      held.clear();
    }
  }

  zmq::socket_t socket_;
  HostPort at_;
  Answer answer_;
  size_t hold_;
  std::atomic<bool> stop_{false};
  std::atomic<size_t> requests_{0};
  std::mutex mu_;
  std::vector<Envelope> seen_;
  std::thread thread_;
};

Envelope error(Code code, const std::string& message, const std::string& leader = "") {
  ErrorReply e;
  e.code = static_cast<uint16_t>(code);
  e.message = message;
  e.leader = leader;
  return make_envelope(e);
}

// Runs the pipeline until every request submitted so far has finished.
void drain(MasterPipeline& p) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (p.in_flight() > 0 && std::chrono::steady_clock::now() < deadline)
    p.poll(milliseconds(100));
  ASSERT_EQ(p.in_flight(), 0u);
}

TEST(MasterPipeline, ManyRequestsInFlightEachGetTheirOwnAnswer) {
  zmq::context_t ctx;
  // Names the path back; answers only once all 64 are waiting, newest first.
  FakeMaster m(
      ctx,
      [](const Envelope& req) {
        return error(Code::kNotFound, decode<StatRequest>(req.body)->path);
      },
      64);
  MasterPipeline p(ctx, {m.at()}, milliseconds(5000));
  std::vector<std::string> answers(64);
  for (int i = 0; i < 64; ++i) {
    p.submit(StatRequest{"/f" + std::to_string(i), false}, [&answers, i](Result<Envelope> r) {
      ASSERT_TRUE(r.is_ok());
      answers[i] = decode<ErrorReply>(r->body)->message;
    });
  }
  drain(p);
  for (int i = 0; i < 64; ++i) EXPECT_EQ(answers[i], "/f" + std::to_string(i));
  EXPECT_EQ(m.requests(), 64u);  // each sent once, all before any answer
}

TEST(MasterPipeline, ANotLeaderAnswerIsFollowedAndRemembered) {
  zmq::context_t ctx;
  FakeMaster leader(ctx, [](const Envelope&) { return make_envelope(OkReply{}); });
  std::string leader_api = master_api(leader.at());
  FakeMaster follower(
      ctx, [&](const Envelope&) { return error(Code::kNotLeader, "not the leader", leader_api); });
  MasterPipeline p(ctx, {follower.at()}, milliseconds(5000));
  int ok = 0;
  auto count = [&](Result<Envelope> r) {
    if (r.is_ok() && r->header.type == MsgType::kOkReply) ++ok;
  };
  p.submit(StatRequest{"/a", false}, count);
  drain(p);
  size_t asked_follower = follower.requests();
  EXPECT_EQ(asked_follower, 1u);  // the hint was followed at once, not bounced back
  for (int i = 0; i < 5; ++i) p.submit(StatRequest{"/b", false}, count);
  drain(p);
  EXPECT_EQ(ok, 6);
  EXPECT_EQ(follower.requests(), asked_follower);  // later requests went straight to the leader
}

// A loopback port nothing listens on (as far as anyone can know).
int free_port(zmq::context_t& ctx) {
  zmq::socket_t probe(ctx, zmq::socket_type::router);
  probe.set(zmq::sockopt::linger, 0);
  probe.bind("tcp://127.0.0.1:*");
  return parse_endpoint(probe.get(zmq::sockopt::last_endpoint)).value().port;
}

// A loopback port that refuses connections for as long as this lives:
// bound but never listening, so no other socket (another test's, run
// beside this one) can take it meanwhile, as one could a free_port().
class RefusingPort {
 public:
  RefusingPort() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    port_ = ntohs(addr.sin_port);
  }
  ~RefusingPort() { ::close(fd_); }
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;
  int port() const { return port_; }

 private:
  int fd_;
  int port_ = 0;
};

TEST(MasterPipeline, ASilentMasterIsLeftForTheNext) {
  zmq::context_t ctx;
  FakeMaster silent(ctx, [](const Envelope&) { return std::nullopt; });
  int later = free_port(ctx);
  MasterPipeline p(ctx, {silent.at(), HostPort{"127.0.0.1", later}}, milliseconds(500));
  std::optional<Result<Envelope>> got;
  p.submit(StatRequest{"/a", false}, [&](Result<Envelope> r) { got = std::move(r); });
  // The first attempt can only go to the silent master: the other is not up.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (silent.requests() == 0 && std::chrono::steady_clock::now() < deadline) {
    p.poll(milliseconds(10));
  }
  ASSERT_EQ(silent.requests(), 1u);
  FakeMaster alive(
      ctx, [](const Envelope&) { return make_envelope(OkReply{}); }, 1, later);
  drain(p);
  ASSERT_TRUE(got.has_value());
  ASSERT_TRUE(got->is_ok()) << got->status().to_string();
  EXPECT_EQ((*got)->header.type, MsgType::kOkReply);
  EXPECT_EQ(silent.requests(), 1u);
}

// A process that asks one question of a healthy group makes one CURVE
// handshake, not one per master.
TEST(MasterPipeline, OnlyTheMasterAskedIsDialedWhileItAnswers) {
  zmq::context_t ctx;
  auto ok = [](const Envelope&) { return make_envelope(OkReply{}); };
  FakeMaster a(ctx, ok), b(ctx, ok), c(ctx, ok);
  MasterPipeline p(ctx, {a.at(), b.at(), c.at()}, milliseconds(5000));
  EXPECT_EQ(p.dialed(), 0u);
  int answered = 0;
  for (int i = 0; i < 5; ++i) {
    p.submit(StatRequest{"/a", false}, [&](Result<Envelope> r) { answered += r.is_ok(); });
  }
  drain(p);
  EXPECT_EQ(answered, 5);
  EXPECT_EQ(a.requests(), 5u);
  EXPECT_EQ(p.dialed(), 1u);
}

// The first master listed is down: the request does not wait out the
// connect timeout for it, but dials the others and goes to one that is up.
TEST(MasterPipeline, WhenTheMasterAskedIsDownTheOthersAreDialedSoon) {
  zmq::context_t ctx;
  FakeMaster up(ctx, [](const Envelope&) { return make_envelope(OkReply{}); });
  const RefusingPort refusing;
  const HostPort down{"127.0.0.1", refusing.port()};
  MasterPipeline p(ctx, {down, up.at()}, milliseconds(5000));
  std::optional<Result<Envelope>> got;
  const auto start = std::chrono::steady_clock::now();
  p.submit(StatRequest{"/a", false}, [&](Result<Envelope> r) { got = std::move(r); });
  drain(p);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(got.has_value() && got->is_ok()) << (got ? got->status().to_string() : "none");
  EXPECT_EQ(up.requests(), 1u);
  EXPECT_EQ(p.dialed(), 2u);
  // Well before the 2 s a master gets to connect (the dial comes after 150 ms).
  EXPECT_LT(took, milliseconds(1500));
}

TEST(MasterPipeline, PollWithNoWaitStillCollectsAnswers) {
  zmq::context_t ctx;
  FakeMaster m(ctx, [](const Envelope&) { return make_envelope(OkReply{}); });
  MasterPipeline p(ctx, {m.at()}, milliseconds(5000));
  int ok = 0;
  for (int i = 0; i < 10; ++i) {
    p.submit(StatRequest{"/a", false}, [&](Result<Envelope> r) { ok += r.is_ok(); });
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (ok < 10 && std::chrono::steady_clock::now() < deadline) p.poll(milliseconds(0));
  EXPECT_EQ(ok, 10);
}

TEST(MasterPipeline, RequestsBeyondWhatOneMasterHoldsWaitTheirTurn) {
  zmq::context_t ctx;
  // Answers only once 256 are waiting, and the burst is larger than the
  // socket holds: the pipeline must hold the rest back, neither reporting
  // the master unreachable nor giving up on them.
  FakeMaster m(
      ctx, [](const Envelope&) { return make_envelope(OkReply{}); }, 256);
  MasterPipeline p(ctx, {m.at()}, milliseconds(5000));
  int ok = 0;
  for (int i = 0; i < 2048; ++i) {
    p.submit(StatRequest{"/a", false},
             [&](Result<Envelope> r) { ok += r.is_ok() && r->header.type == MsgType::kOkReply; });
  }
  drain(p);
  EXPECT_EQ(ok, 2048);
  EXPECT_EQ(m.requests(), 2048u);  // each sent once
}

TEST(MasterPipeline, MutationsInFlightTogetherHaveTheirOwnSessionsKeptAcrossRetries) {
  zmq::context_t ctx;
  // BUSY to each session's first attempt, OK to its retry.
  std::mutex mu;
  std::set<std::pair<uint64_t, uint64_t>> refused;
  FakeMaster m(
      ctx,
      [&](const Envelope& req) {
        auto s = decode<MkdirRequest>(req.body)->session;
        std::lock_guard<std::mutex> lock(mu);
        if (refused.insert({s.client, s.seq}).second) return error(Code::kBusy, "busy");
        return make_envelope(OkReply{});
      },
      1);
  MasterPipeline p(ctx, {m.at()}, milliseconds(5000));
  int ok = 0;
  auto count = [&](Result<Envelope> r) {
    if (r.is_ok() && r->header.type == MsgType::kOkReply) ++ok;
  };
  p.submit(MkdirRequest{"/a", false, {}}, count);
  p.submit(MkdirRequest{"/b", false, {}}, count);
  drain(p);
  EXPECT_EQ(ok, 2);
  auto seen = m.seen();
  ASSERT_EQ(seen.size(), 4u);  // two attempts each
  std::map<std::string, std::set<std::pair<uint64_t, uint64_t>>> sessions_by_path;
  for (const auto& e : seen) {
    auto req = decode<MkdirRequest>(e.body).value();
    sessions_by_path[req.path].insert({req.session.client, req.session.seq});
  }
  ASSERT_EQ(sessions_by_path["/a"].size(), 1u);  // the retry kept the session
  ASSERT_EQ(sessions_by_path["/b"].size(), 1u);
  auto a = *sessions_by_path["/a"].begin(), b = *sessions_by_path["/b"].begin();
  EXPECT_NE(a.first, b.first);  // in flight together: different clients
  // One at a time afterwards: a session is reused with its next number.
  p.submit(MkdirRequest{"/c", false, {}}, count);
  drain(p);
  auto c = decode<MkdirRequest>(m.seen().back().body)->session;
  EXPECT_TRUE((c.client == a.first && c.seq == a.second + 1) ||
              (c.client == b.first && c.seq == b.second + 1));
}

TEST(MasterPipeline, WhenNoMasterLeadsTheCallerIsToldSo) {
  zmq::context_t ctx;
  auto no_leader = [](const Envelope&) { return error(Code::kNotLeader, "election in progress"); };
  FakeMaster a(ctx, no_leader), b(ctx, no_leader);
  MasterPipeline p(ctx, {a.at(), b.at()}, milliseconds(200));
  std::optional<Status> got;
  p.submit(MkdirRequest{"/a", false, {}}, [&](Result<Envelope> r) { got = r.status(); });
  drain(p);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->code(), Code::kUnavailable);
  EXPECT_NE(got->message().find("no master is leading"), std::string::npos) << got->message();
  EXPECT_NE(got->message().find("election in progress"), std::string::npos) << got->message();
  EXPECT_NE(got->message().find("may still apply it"), std::string::npos) << got->message();
}

}  // namespace
}  // namespace dfs
