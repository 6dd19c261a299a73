// PushPeers' bulk route (bus/push_peers.h): chunk frames move to a peer's
// bulk socket once the session it asked for is answered, a chunk never
// changes route midway, and only the peer asked may answer.
#include "bus/push_peers.h"

#include <gtest/gtest.h>

#include "bus/bulk_sessions.h"
#include "bus/security.h"
#include "bus/socket.h"

namespace dfs {
namespace {

using namespace std::chrono;

std::string bound(zmq::socket_t& s) {
  s.bind("tcp://127.0.0.1:*");
  return s.get(zmq::sockopt::last_endpoint);
}

Envelope frame(const std::string& chunk, uint64_t offset, bool last) {
  ReplicaFrame f;
  f.frame.chunk_id = chunk;
  f.frame.offset = offset;
  f.frame.total_size = 2;
  f.frame.last = last;
  if (last) f.frame.sha256 = std::string(64, '0');
  f.upstream = WorkerAddr{"w1", "tcp://127.0.0.1:1", "tcp://127.0.0.1:2", ""};
  Envelope env = make_envelope(f);
  env.data.emplace_back("x", 1);
  return env;
}

// The next message on `s` (within `wait`), or none.
std::vector<zmq::message_t> next(zmq::socket_t& s, milliseconds wait = milliseconds(2000)) {
  zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
  zmq::poll(&item, 1, wait);
  std::vector<zmq::message_t> frames;
  (void)zmq::recv_multipart(s, std::back_inserter(frames), zmq::recv_flags::dontwait);
  return frames;
}

// A ReplicaFrame's chunk and offset, as "chunk@offset".
std::string where(std::vector<zmq::message_t>&& frames) {
  Envelope env;
  if (!envelope_from_frames(std::move(frames), Framing::kPlain, &env).is_ok()) return "malformed";
  if (env.header.type == MsgType::kReplicaAbort) return "abort";
  auto f = decode<ReplicaFrame>(env.body);
  if (!f.is_ok()) return std::string(msg_type_name(env.header.type));
  return f->frame.chunk_id + "@" + std::to_string(f->frame.offset);
}

TEST(PushPeersBulk, ChunksMoveToTheBulkRouteOnlyFromTheirFirstFrame) {
  zmq::context_t ctx(1);
  ZapHandler zap(ctx);
  SocketOptions opts;
  zmq::socket_t pull = make_socket(ctx, zmq::socket_type::pull, opts);
  // As a worker's bulk socket: admitting the sessions the gate holds.
  zmq::socket_t router = make_socket(ctx, zmq::socket_type::router, opts);
  router.set(zmq::sockopt::plain_server, 1);
  router.set(zmq::sockopt::zap_domain, std::string(kBulkZapDomain));
  std::string pull_ep = bound(pull);
  std::string bulk_ep = bound(router);
  const std::string a(32, 'a'), b(32, 'b');
  PushPeers peers(ctx, 128, minutes(5));
  peers.enable_bulk(WorkerAddr{"w1", "tcp://127.0.0.1:1", "tcp://127.0.0.1:2", ""});
  auto now = steady_clock::now();

  ASSERT_TRUE(peers.send(pull_ep, "k", frame(a, 0, false), now).is_ok());
  // The session is asked for first, on the PUSH socket, naming us.
  Envelope ask;
  ASSERT_TRUE(envelope_from_frames(next(pull), Framing::kPlain, &ask).is_ok());
  ASSERT_EQ(ask.header.type, MsgType::kBulkSessionRequest);
  EXPECT_EQ(decode<BulkSessionRequest>(ask.body)->from.id, "w1");
  EXPECT_EQ(where(next(pull)), a + "@0");

  BulkSecret secret = BulkSecret::random().value();
  process_bulk_gate().allow(secret.session, secret.key);
  BulkSessionReply reply{secret.session, secret.key, bulk_ep};
  uint64_t asked = ask.header.request_id;
  EXPECT_FALSE(peers.on_bulk_session("another worker", asked, reply)) << "only the peer asked";
  EXPECT_FALSE(peers.on_bulk_session("k", asked + 1, reply)) << "only to the request made";
  ASSERT_TRUE(peers.on_bulk_session("k", asked, reply));
  EXPECT_FALSE(peers.on_bulk_session("k", asked, reply)) << "answered once";
  // Chunks start on it once it is connected and let in.
  auto deadline = steady_clock::now() + seconds(5);
  while (!peers.bulk_route_up(pull_ep, "k") && steady_clock::now() < deadline) {
    zmq::pollitem_t none{nullptr, 0, 0, 0};
    zmq::poll(&none, 0, milliseconds(5));  // a bounded wait for the handshake
  }
  ASSERT_TRUE(peers.bulk_route_up(pull_ep, "k"));

  // Chunk a began on the PUSH socket and ends there; chunk b goes by bulk.
  ASSERT_TRUE(peers.send(pull_ep, "k", frame(b, 0, false), now).is_ok());
  ASSERT_TRUE(peers.send(pull_ep, "k", frame(a, 1, true), now).is_ok());
  ASSERT_TRUE(peers.send(pull_ep, "k", frame(b, 1, true), now).is_ok());
  ASSERT_TRUE(peers.send(pull_ep, "k", make_envelope(ReplicaAbort{b, "test"}), now).is_ok());
  EXPECT_EQ(where(next(pull)), a + "@1");
  EXPECT_EQ(where(next(pull)), "abort") << "aborts stay on the PUSH socket";
  BulkOpener in(secret, BulkDirection::kToServer);
  std::string routing_id;
  for (uint64_t offset : {0, 1}) {
    auto got = next(router);
    ASSERT_GE(got.size(), 2u);
    routing_id = got[0].to_string();
    got.erase(got.begin());
    ASSERT_TRUE(in.open(&got).is_ok()) << "sealed under the session's key";
    EXPECT_EQ(where(std::move(got)), b + "@" + std::to_string(offset));
  }
  EXPECT_EQ(peers.bulk_frames(), 2u);
  EXPECT_TRUE(peers.lost().empty());

  // The peer forgot the session while chunk c was on it: the peer counts as
  // lost (the writes through it fail now), and the route ends.
  const std::string c(32, 'c');
  ASSERT_TRUE(peers.send(pull_ep, "k", frame(c, 0, false), now).is_ok());
  ASSERT_EQ(next(router).size(), 6u) << "c's first frame, by bulk";
  std::vector<zmq::message_t> notice;
  notice.emplace_back(routing_id.data(), routing_id.size());
  std::string text = bulk_unknown_session(secret.session);
  notice.emplace_back(text.data(), text.size());
  ASSERT_TRUE(send_frames(router, notice, false).is_ok());
  deadline = steady_clock::now() + seconds(5);
  std::vector<std::pair<std::string, std::string>> lost;
  while (lost.empty() && steady_clock::now() < deadline) {
    lost = peers.lost();
    if (lost.empty()) {
      zmq::pollitem_t none{nullptr, 0, 0, 0};
      zmq::poll(&none, 0, milliseconds(10));  // a bounded wait for the notice to arrive
    }
  }
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(lost[0], std::make_pair(pull_ep, std::string("k")));
  EXPECT_FALSE(peers.bulk_route_up(pull_ep, "k"));
  // The next chunk goes by PUSH, and no new session is asked for at once.
  const std::string d(32, 'd');
  ASSERT_TRUE(peers.send(pull_ep, "k", frame(d, 0, false), now).is_ok());
  EXPECT_EQ(where(next(pull)), d + "@0");
}

// The ZAP handler lets a connection reach a bulk socket only with the
// credentials of a session the process's gate holds.
TEST(BulkGate, OnlyAConnectionHoldingASessionGetsIn) {
  zmq::context_t ctx(1);
  ZapHandler zap(ctx);
  SocketOptions opts;
  zmq::socket_t router = make_socket(ctx, zmq::socket_type::router, opts);
  router.set(zmq::sockopt::plain_server, 1);
  router.set(zmq::sockopt::zap_domain, std::string(kBulkZapDomain));
  std::string ep = bound(router);
  BulkSessions sessions(minutes(10), &process_bulk_gate());
  auto held = sessions.open("keyA", steady_clock::now());
  ASSERT_TRUE(held.is_ok());
  BulkSecret stranger = BulkSecret::random().value();
  // What reaches the ROUTER from a DEALER presenting these credentials.
  auto reaches = [&](const std::string& session, const std::string& key) {
    zmq::socket_t d = make_socket(ctx, zmq::socket_type::dealer, opts);
    d.set(zmq::sockopt::plain_username, bulk_gate_username(session));
    d.set(zmq::sockopt::plain_password, bulk_gate_password(key));
    d.connect(ep);
    (void)d.send(zmq::str_buffer("hello"), zmq::send_flags::dontwait);
    auto got = next(router, milliseconds(500));
    return got.size() == 2 && got[1].to_string() == "hello";
  };
  EXPECT_TRUE(reaches(held->session, held->key));
  EXPECT_FALSE(reaches(stranger.session, stranger.key)) << "no session held";
  EXPECT_FALSE(reaches(held->session, stranger.key)) << "a session's id without its key";
  sessions.sweep(steady_clock::now(), [](const std::string&) { return false; });
  EXPECT_FALSE(reaches(held->session, held->key)) << "a session dropped closes its gate";
}

}  // namespace
}  // namespace dfs
