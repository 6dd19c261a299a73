// A hostile or mistaken peer for the security tests: connects one socket of
// a given type to one endpoint, with no keys, an unknown key or a real one,
// optionally sends one well-formed dfs message, and says what happened:
//   handshake: ok | refused (<why>) | none
//   reply: <type> <code> <message>      (DEALER only, when one came)
// Exit 0 when the handshake succeeded, 3 when it was refused or never came.
//
//   security_probe --type dealer|push|pub|sub --connect tcp://H:P
//       [--server-key Z85] [--key FILE | --new-key] [--send KIND] [--wait-ms N]
//       [--repeat N --interval-ms M]   (send N times on the one connection)
//       [--watch-ms N]   then watch the connection for N ms, and print
//                        connection: cut          each time the server closed it
//                        redial: ok | refused (<why>)   for the handshake after;
//                        watching ends with a refused redial
// KIND: stat, drain (admin only), heartbeat:WORKER, raft, replica-frame, read,
// read:CHUNK-ID, bulk:CHUNK-ID. bulk (to a worker's data socket) opens a bulk
// session and tries its bulk socket, printing a line for each of
//   bulk session | bulk read | bulk replay | bulk forged | bulk reflected |
//   bulk unknown session | bulk garbage | bulk after
// each "none" when nothing came back within --wait-ms, "notice" for the
// unknown-session notice, else the reply's type and status.
#include <zmq.h>

#include <boost/program_options.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "bus/bulk_seal.h"
#include "bus/curve_keys.h"
#include "bus/wire.h"
#include "codec/messages.h"
#include "codec/raft_messages.h"

namespace {

using namespace dfs;
namespace po = boost::program_options;

Envelope message_of(const std::string& kind, const KeyPair& keys) {
  // Stale: any master answers it, leader or not.
  if (kind == "stat") return make_envelope(StatRequest{"/", true}, 7);
  if (kind == "drain") return make_envelope(WorkerDrainRequest{"w1", true, {}}, 7);
  if (kind == "read") return make_envelope(ReadChunkRequest{std::string(32, 'a'), 0, 4096}, 7);
  if (kind.rfind("read:", 0) == 0) {  // a real chunk's id, with no ticket
    return make_envelope(ReadChunkRequest{kind.substr(5), 0, 4096}, 7);
  }
  if (kind.rfind("heartbeat:", 0) == 0) {
    Heartbeat hb;
    hb.worker_id = kind.substr(10);
    hb.endpoint = "tcp://127.0.0.1:1";
    hb.pipeline = "tcp://127.0.0.1:2";
    hb.key = keys.public_key;
    hb.capacity = 1ull << 40;
    Envelope env = make_envelope(hb);
    env.topic = "hb." + hb.worker_id;
    return env;
  }
  if (kind == "replica-frame") {
    ReplicaFrame f;
    f.frame.chunk_id = std::string(32, 'b');
    f.frame.total_size = 4;
    f.upstream = WorkerAddr{"w1", "tcp://127.0.0.1:1", "tcp://127.0.0.1:2", keys.public_key};
    Envelope env = make_envelope(f);
    env.data.emplace_back("data", 4);
    return env;
  }
  if (kind == "raft") {
    raft::Message m;  // a vote request from a member that does not exist
    m.kind = static_cast<uint8_t>(raft::MsgKind::kVote);
    m.from = 9;
    m.to = 1;
    m.term = 1000000;
    return make_envelope(m);
  }
  return Envelope{};
}

std::string describe(const Envelope& rep) {
  std::string text = std::string(msg_type_name(rep.header.type));
  if (rep.header.type == MsgType::kErrorReply) {
    auto err = decode<ErrorReply>(rep.body);
    if (err.is_ok()) text += " " + err->to_status().to_string();
  }
  return text;
}

std::vector<zmq::message_t> copy_of(const std::vector<zmq::message_t>& frames) {
  std::vector<zmq::message_t> out;
  for (const auto& f : frames) out.emplace_back(f.data(), f.size());
  return out;
}

// The bulk channel's attacks (see the top of the file), on `data`: a CURVE
// DEALER to a worker's data socket whose handshake succeeded.
void bulk_attacks(zmq::context_t& ctx, zmq::socket_t& data, const std::string& chunk, int wait_ms) {
  auto say = [](const std::string& what, const std::string& text) {
    std::printf("%s: %s\n", what.c_str(), text.c_str());
    std::fflush(stdout);
  };
  (void)send_envelope(data, Framing::kPlain, make_envelope(BulkSessionRequest{}, 1));
  zmq::pollitem_t item{data.handle(), 0, ZMQ_POLLIN, 0};
  zmq::poll(&item, 1, std::chrono::milliseconds(wait_ms));
  Envelope env;
  if (!recv_envelope(data, Framing::kPlain, &env).is_ok()) return say("bulk session", "none");
  auto rep = decode_reply<BulkSessionReply>(env);
  if (!rep.is_ok()) return say("bulk session", rep.status().to_string());
  say("bulk session", "ok");
  BulkSecret secret{rep->session, rep->key};
  BulkSealer out(secret, BulkDirection::kToServer);
  BulkOpener in(secret, BulkDirection::kToClient);
  // Our own routing id on the bulk socket, so a forged route can name it.
  const std::string bulk_id = "probe";
  zmq::socket_t bulk(ctx, zmq::socket_type::dealer);
  bulk.set(zmq::sockopt::linger, 0);
  bulk.set(zmq::sockopt::routing_id, bulk_id);
  bulk.set(zmq::sockopt::plain_username, bulk_gate_username(secret.session));
  bulk.set(zmq::sockopt::plain_password, bulk_gate_password(secret.key));
  bulk.connect(rep->endpoint);
  auto send = [&](std::vector<zmq::message_t> frames) {
    (void)send_frames(bulk, frames, /*dontwait=*/false);
  };
  // What came back: a sealed reply (kept in *sealed), the notice, or none.
  auto answer = [&](std::vector<zmq::message_t>* sealed = nullptr) -> std::string {
    zmq::pollitem_t b{bulk.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&b, 1, std::chrono::milliseconds(wait_ms));
    std::vector<zmq::message_t> frames;
    if (!zmq::recv_multipart(bulk, std::back_inserter(frames), zmq::recv_flags::dontwait)) {
      return "none";
    }
    if (bulk_unknown_session_of(frames)) return "notice";
    if (sealed) *sealed = copy_of(frames);
    if (!in.open(&frames).is_ok()) return "unopenable";
    Envelope e;
    if (!envelope_from_frames(std::move(frames), Framing::kPlain, &e).is_ok()) return "malformed";
    return describe(e);
  };
  auto read = [&](uint64_t id) {
    auto frames =
        envelope_frames(make_envelope(ReadChunkRequest{chunk, 0, 4096}, id), Framing::kPlain);
    (void)out.seal(&frames);
    return frames;
  };
  // Counters 1-10 are spent unsent, so the forgeries below (counter 1) are
  // refused for their key or direction, not as replays.
  for (uint64_t i = 0; i < 10; ++i) (void)read(100 + i);
  auto genuine = read(2);
  send(copy_of(genuine));
  std::vector<zmq::message_t> reply;
  say("bulk read", answer(&reply));
  send(copy_of(genuine));
  say("bulk replay", answer());
  {
    BulkSecret wrong = secret;
    wrong.key = BulkSecret::random()->key;
    BulkSealer forger(wrong, BulkDirection::kToServer);
    auto frames =
        envelope_frames(make_envelope(ReadChunkRequest{chunk, 0, 4096}, 3), Framing::kPlain);
    (void)forger.seal(&frames);
    send(std::move(frames));
    say("bulk forged", answer());
  }
  send(copy_of(reply));
  say("bulk reflected", answer());
  {
    BulkSecret other = secret;
    other.session = BulkSecret::random()->session;
    BulkSealer stranger(other, BulkDirection::kToServer);
    auto frames =
        envelope_frames(make_envelope(ReadChunkRequest{chunk, 0, 4096}, 4), Framing::kPlain);
    (void)stranger.seal(&frames);
    send(std::move(frames));
    say("bulk unknown session", answer());
  }
  {
    std::vector<zmq::message_t> frames;
    frames.emplace_back("garbage", 7);
    frames.emplace_back(std::string(5000, 'g').data(), 5000);
    send(std::move(frames));
    say("bulk garbage", answer());
  }
  {
    // A connection that holds no session is not let in: had it been, a
    // message naming an unknown session would get the notice.
    BulkSecret none = BulkSecret::random().value();
    zmq::socket_t stranger(ctx, zmq::socket_type::dealer);
    stranger.set(zmq::sockopt::linger, 0);
    stranger.set(zmq::sockopt::plain_username, bulk_gate_username(none.session));
    stranger.set(zmq::sockopt::plain_password, bulk_gate_password(none.key));
    stranger.connect(rep->endpoint);
    BulkSealer sealer(none, BulkDirection::kToServer);
    auto frames =
        envelope_frames(make_envelope(ReadChunkRequest{chunk, 0, 4096}, 6), Framing::kPlain);
    (void)sealer.seal(&frames);
    (void)send_frames(stranger, frames, /*dontwait=*/true);
    zmq::pollitem_t item{stranger.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(wait_ms));
    say("bulk stranger", (item.revents & ZMQ_POLLIN) ? "answered" : "none");
  }
  {
    // A route into our session forged on the data socket: a CURVE peer
    // whose routing id names it, with a malformed message (a data frame
    // over 1 MiB) that would be answered to that routing id.
    zmq::socket_t forger(ctx, zmq::socket_type::dealer);
    forger.set(zmq::sockopt::linger, 0);
    forger.set(zmq::sockopt::routing_id, "b" + secret.session + bulk_id);
    forger.set(zmq::sockopt::curve_serverkey, data.get(zmq::sockopt::curve_serverkey));
    forger.set(zmq::sockopt::curve_publickey, data.get(zmq::sockopt::curve_publickey));
    forger.set(zmq::sockopt::curve_secretkey, data.get(zmq::sockopt::curve_secretkey));
    forger.connect(data.get(zmq::sockopt::last_endpoint));
    Envelope bad = make_envelope(ReadChunkRequest{chunk, 0, 4096}, 8);
    bad.data.emplace_back(std::string((1 << 20) + 10, 'x').data(), (1 << 20) + 10);
    (void)send_envelope(forger, Framing::kPlain, std::move(bad), /*dontwait=*/false);
    std::string got = answer();
    zmq::pollitem_t item{forger.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(100));
    if (got == "none" && (item.revents & ZMQ_POLLIN)) got = "answered on the data socket";
    say("bulk forged route", got);
  }
  send(read(5));
  say("bulk after", answer());
}

int run(int argc, char** argv) {
  po::options_description desc("security_probe");
  desc.add_options()("type", po::value<std::string>()->required(), "")(
      "connect", po::value<std::string>()->required(), "")(
      "server-key", po::value<std::string>()->default_value(""), "")(
      "key", po::value<std::string>()->default_value(""), "")("new-key", "")(
      "send", po::value<std::string>()->default_value(""), "")(
      "wait-ms", po::value<int>()->default_value(3000), "")(
      "repeat", po::value<int>()->default_value(1), "")("interval-ms",
                                                        po::value<int>()->default_value(200), "")(
      "watch-ms", po::value<int>()->default_value(0), "");
  po::variables_map vm;
  po::store(po::parse_command_line(argc, argv, desc), vm);
  po::notify(vm);
  std::string type = vm["type"].as<std::string>();
  zmq::socket_type st = type == "dealer" ? zmq::socket_type::dealer
                        : type == "push" ? zmq::socket_type::push
                        : type == "pub"  ? zmq::socket_type::pub
                                         : zmq::socket_type::sub;
  zmq::context_t ctx(1);
  zmq::socket_t s(ctx, st);
  s.set(zmq::sockopt::linger, 0);
  KeyPair keys;
  if (vm.count("new-key")) {
    keys = generate_key_pair().value();
  } else if (!vm["key"].as<std::string>().empty()) {
    auto k = load_key_file(vm["key"].as<std::string>(), true);
    if (!k.is_ok()) {
      std::fprintf(stderr, "%s\n", k.status().message().c_str());
      return 2;
    }
    keys = k.value();
  }
  if (!keys.secret_key.empty()) {
    s.set(zmq::sockopt::curve_serverkey, vm["server-key"].as<std::string>());
    s.set(zmq::sockopt::curve_publickey, keys.public_key);
    s.set(zmq::sockopt::curve_secretkey, keys.secret_key);
  }
  if (st == zmq::socket_type::sub) s.set(zmq::sockopt::subscribe, "");
  zmq_socket_monitor(s.handle(), "inproc://probe-monitor",
                     ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                         ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                         ZMQ_EVENT_DISCONNECTED);
  zmq::socket_t mon(ctx, zmq::socket_type::pair);
  mon.connect("inproc://probe-monitor");
  s.connect(vm["connect"].as<std::string>());

  // The next handshake's outcome (or a disconnection), "none" if nothing
  // happened within `ms`.
  auto next_outcome = [&](int ms) -> std::string {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < deadline) {
      zmq::pollitem_t item{mon.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, std::chrono::milliseconds(100));
      zmq::message_t event, address;
      if (!mon.recv(event, zmq::recv_flags::dontwait)) continue;
      if (event.more()) (void)mon.recv(address);
      uint16_t id = 0;
      uint32_t value = 0;
      std::memcpy(&id, event.data(), 2);
      std::memcpy(&value, static_cast<const char*>(event.data()) + 2, 4);
      if (id == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) return "ok";
      if (id == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
        return "refused (auth " + std::to_string(value) + ")";
      if (id == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
        return "refused (protocol " + std::to_string(value) + ")";
      }
      if (id == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) return "refused (no detail)";
      if (id == ZMQ_EVENT_DISCONNECTED) return "refused (disconnected)";
    }
    return "none";
  };
  std::string outcome = next_outcome(vm["wait-ms"].as<int>());
  std::printf("handshake: %s\n", outcome.c_str());
  std::fflush(stdout);
  std::string kind = vm["send"].as<std::string>();
  int repeat = std::max(1, vm["repeat"].as<int>());
  if (outcome == "ok" && kind.rfind("bulk:", 0) == 0) {
    bulk_attacks(ctx, s, kind.substr(5), vm["wait-ms"].as<int>());
  } else if (outcome == "ok" && !kind.empty()) {
    Framing framing = st == zmq::socket_type::pub ? Framing::kTopic : Framing::kPlain;
    // A PUB drops what it sends before the subscription arrives: send a few times.
    int sends = framing == Framing::kTopic ? std::max(repeat, 5) : repeat;
    for (int i = 0; i < sends; ++i) {
      if (i > 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(vm["interval-ms"].as<int>()));
      }
      // Never blocks: a DEALER whose connection was cut has nowhere to send.
      if (!send_envelope(s, framing, message_of(kind, keys)).is_ok()) {
        if (st == zmq::socket_type::dealer) std::printf("reply: none (not connected)\n");
        std::fflush(stdout);
        continue;
      }
      if (st != zmq::socket_type::dealer) continue;
      // One connection throughout: what a key revoked meanwhile gets.
      zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, std::chrono::milliseconds(vm["wait-ms"].as<int>()));
      Envelope rep;
      if (recv_envelope(s, Framing::kPlain, &rep).is_ok()) {
        std::string text = std::string(msg_type_name(rep.header.type));
        if (rep.header.type == MsgType::kErrorReply) {
          auto err = decode<ErrorReply>(rep.body);
          if (err.is_ok()) text += " " + err->to_status().to_string();
        }
        std::printf("reply: %s\n", text.c_str());
      } else {
        std::printf("reply: none\n");
      }
      std::fflush(stdout);
    }
  }
  if (outcome == "ok" && vm["watch-ms"].as<int>() > 0) {
    // Held open until the server cuts it (a revoked key), then redialled.
    auto until =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(vm["watch-ms"].as<int>());
    auto left = [&] {
      return static_cast<int>(std::max<int64_t>(
          0, std::chrono::duration_cast<std::chrono::milliseconds>(until -
                                                                   std::chrono::steady_clock::now())
                 .count()));
    };
    // Each cut, and how the redial after it went, until one is refused.
    for (;;) {
      std::string cut = next_outcome(left());
      if (cut != "refused (disconnected)") {
        std::printf("connection: %s\n", cut == "none" ? "open" : cut.c_str());
        break;
      }
      std::printf("connection: cut\n");
      std::fflush(stdout);
      std::string redial = next_outcome(left());
      std::printf("redial: %s\n", redial.c_str());
      std::fflush(stdout);
      if (redial != "ok") break;
    }
  }
  zmq_socket_monitor(s.handle(), nullptr, 0);
  return outcome == "ok" ? 0 : 3;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "security_probe: %s\n", e.what());
    return 2;
  }
}
