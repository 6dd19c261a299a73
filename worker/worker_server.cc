#include "worker/worker_server.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>
#include <mutex>
#include <optional>
#include <thread>

#include "bus/chunk_ticket.h"
#include "bus/dialer.h"
#include "bus/process.h"
#include "bus/security.h"
#include "bus/socket.h"
#include "bus/wire.h"
#include "codec/sha256.h"
#include "worker/repair_copier.h"

namespace dfs {

namespace {

// A data directory belongs to one worker id for life: starting a worker on
// another's directory would make the master believe chunks moved.
Status claim_directory(const std::string& dir, const std::string& id) {
  std::string path = dir + "/worker.id";
  std::ifstream in(path);
  if (in) {
    std::string existing;
    std::getline(in, existing);
    if (existing != id) {
      return invalid_argument("directory " + dir + " belongs to worker '" + existing + "', not '" +
                              id + "'");
    }
    return Status::ok();
  }
  std::ofstream out(path);
  out << id << "\n";
  if (!out) return io_error("cannot write " + path);
  return Status::ok();
}

// A reply's route into the bulk channel: "b", the session, then the bulk
// socket's routing id. The data socket's routing ids start with a zero byte
// (ZeroMQ's own) and one starting with 'b' is refused there, so the two
// never meet.
constexpr char kBulkRoute = 'b';

// The jobs link carries event.masters every 5 s from the leader: quiet for
// three of those, its connection may be dead without either end told (the
// master's host gone, a long partition), so it is made afresh. Quiet because
// no master leads, it is made afresh every so often for nothing, which costs
// a handshake.
constexpr auto kJobsQuiet = std::chrono::seconds(15);

std::string bulk_route(std::string_view session, const std::string& routing_id) {
  return kBulkRoute + std::string(session) + routing_id;
}

bool is_bulk_route(std::string_view routing_id) {
  return !routing_id.empty() && routing_id[0] == kBulkRoute;
}

// Whose key a pipeline message came with, for the tracker to check against
// the chain (an unknown key names nobody in it).
PeerName pipeline_sender(const Envelope& env) {
  if (!process_security().secure()) return std::nullopt;
  auto who = process_security().sender(env);
  return who ? who->name : std::string();
}

}  // namespace

WorkerServer::WorkerServer(zmq::context_t& ctx, WorkerConfig config)
    : ctx_(ctx), config_(std::move(config)) {}

Status WorkerServer::start() {
  ChunkStoreOptions store_options;
  store_options.dir = config_.dir;
  store_options.capacity = config_.capacity;
  store_options.pack_max_bytes = config_.pack_max_bytes;
  auto store = ChunkStore::open(store_options);
  if (!store.is_ok()) return store.status();
  store_ = std::move(store).value();
  DFS_RETURN_IF_ERROR(claim_directory(config_.dir, config_.id));
  spdlog::info("worker {} holds {} chunks, {} of {} bytes used", config_.id, store_->chunk_count(),
               store_->used(), store_->capacity());
  return Status::ok();
}

void WorkerServer::publish_heartbeat(zmq::socket_t& pub, size_t copies) {
  Heartbeat hb;
  hb.worker_id = config_.id;
  hb.endpoint = config_.listen.tcp();
  hb.pipeline = config_.pipeline.tcp();
  hb.key = process_security().own().public_key;
  hb.keys_version = process_security().log_keys_version();
  hb.capacity = store_->capacity();
  hb.used = store_->used();
  hb.chunk_count = store_->chunk_count();
  hb.writes = static_cast<uint32_t>(tracker_->open_writes());
  hb.copies = static_cast<uint32_t>(copies);
  hb.sequence = ++heartbeat_seq_;
  auto fs = store_->filesystem();
  hb.fs_id = fs.id;
  hb.fs_size = fs.size;
  hb.fs_free = fs.free;
  hb.deleted = store_->take_deleted(10000);
  if (scrubber_) {
    for (auto& [id, why] : scrubber_->bad()) {
      if (hb.bad.size() == kMaxBadPerHeartbeat) break;
      hb.bad.push_back({id, why});
    }
  }
  Envelope env = make_envelope(hb);
  env.topic = "hb." + config_.id;
  // PUB never blocks; a dropped heartbeat is harmless because the next one
  // repeats the state, but dropped deletions are re-announced by the master.
  if (!send_envelope(pub, Framing::kTopic, std::move(env)).is_ok()) {
    spdlog::debug("heartbeat dropped: publish queue full");
  }
}

void WorkerServer::report_inventory(const std::stop_token& stop) {
  Dialer dialer(ctx_, [&] { return make_socket(ctx_, zmq::socket_type::pub, SocketOptions{}); });
  size_t connected = 0;
  auto connect_new = [&] {
    std::lock_guard lock(masters_mu_);
    for (; connected < masters_.size(); ++connected) {
      const HostPort& m = masters_[connected];
      Status s = dialer.dial_master(master_events(m), m);
      if (!s.is_ok()) spdlog::warn("inventory reports: {}", s.message());
    }
  };
  connect_new();
  // Numbered from the wall clock, so a restarted worker's reports never
  // reuse a number the master is still assembling.
  uint64_t report_seq =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count());
  // The first report waits a little so the subscription is in place.
  auto next = std::chrono::steady_clock::now() +
              std::min(config_.report_interval, std::chrono::milliseconds(2000));
  uint64_t scrubbed = scrubber_ ? scrubber_->passes() : 0;
  while (!stop.stop_requested()) {
    // A finished scrubber pass reports at once: a chunk file that vanished
    // is then found within a pass, not a report interval.
    uint64_t passes = scrubber_ ? scrubber_->passes() : 0;
    if (passes != scrubbed) {
      scrubbed = passes;
      next = std::chrono::steady_clock::now();
    }
    // Between reports, not just before one: a fresh socket has its
    // subscribers by the time the next report goes out.
    dialer.redial_refused(std::chrono::steady_clock::now());
    if (std::chrono::steady_clock::now() < next) {
      std::this_thread::sleep_for(
          std::chrono::milliseconds(50));  // a timer tick, not a wait for a condition
      continue;
    }
    next = std::chrono::steady_clock::now() + config_.report_interval;
    connect_new();
    auto listed = std::chrono::steady_clock::now();
    std::vector<std::string> ids = store_->list();
    // At least one page: an empty store says so too.
    uint32_t pages = static_cast<uint32_t>(
        std::max<size_t>(1, (ids.size() + kMaxReportPage - 1) / kMaxReportPage));
    ++report_seq;
    for (uint32_t p = 0; p < pages; ++p) {
      size_t i = static_cast<size_t>(p) * kMaxReportPage;
      ChunkReport page;
      page.worker_id = config_.id;
      page.report = report_seq;
      page.page = p;
      page.pages = pages;
      page.listed_ms_ago =
          static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::steady_clock::now() - listed)
                                    .count());
      page.chunk_ids.assign(
          ids.begin() + static_cast<long>(std::min(ids.size(), i)),
          ids.begin() + static_cast<long>(std::min(ids.size(), i + kMaxReportPage)));
      Envelope env = make_envelope(page);
      env.topic = "report." + config_.id;
      if (!send_envelope(dialer.socket(), Framing::kTopic, std::move(env)).is_ok()) {
        spdlog::debug("inventory page dropped; the next report repeats it");
      }
    }
  }
}

WorkerAddr WorkerServer::self() const {
  return WorkerAddr{config_.id, config_.listen.tcp(), config_.pipeline.tcp(),
                    process_security().own().public_key};
}

void WorkerServer::warn_bad(const Envelope& env, const char* where, const Status& s) {
  warn_bad_input(bad_input_, env.peer_key.empty() ? env.routing_id : env.peer_key, where,
                 s.to_string());
}

namespace {
// The chunk and ticket of a WriteChunkFrame or ReadChunkRequest, without
// decoding the rest (both carry them under these names).
struct TicketOnly {
  std::string chunk_id;
  ChunkTicket ticket;
  DFS_MSGPACK_MAP(chunk_id, ticket);
  Status validate() const { return ticket.validate(); }
};
}  // namespace

Status WorkerServer::check_ticket_of(const Envelope& env) {
  const Security& security = process_security();
  if (!security.needs_ticket(env)) return Status::ok();
  const char* op = env.header.type == MsgType::kWriteChunkFrame    ? "write"
                   : env.header.type == MsgType::kReadChunkRequest ? "read"
                                                                   : nullptr;
  if (!op) return Status::ok();  // refused later as a type the socket does not take
  auto t = decode<TicketOnly>(env.body);
  if (!t.is_ok()) return t.status();
  int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  return tickets_.check(t->ticket, security.ticket_keys(), t->chunk_id, op, now_ms);
}

void WorkerServer::reply(zmq::socket_t& data, Envelope&& env) {
  if (is_bulk_route(env.routing_id)) {
    send_bulk(envelope_frames(std::move(env), Framing::kRouted));
    return;
  }
  if (!send_envelope(data, Framing::kRouted, std::move(env)).is_ok()) ++dropped_replies_;
}

void WorkerServer::send_bulk(std::vector<zmq::message_t>&& frames) {
  std::string_view route(frames[0].data<char>(), frames[0].size());
  if (!bulk_ || route.size() <= 1 + kBulkSessionBytes) {
    ++dropped_replies_;
    return;
  }
  auto* session = bulk_sessions_.find(route.substr(1, kBulkSessionBytes));
  if (!session) {
    ++dropped_replies_;  // expired while the disk worked: the client asks again
    return;
  }
  zmq::message_t routing_id(route.data() + 1 + kBulkSessionBytes,
                            route.size() - 1 - kBulkSessionBytes);
  frames.erase(frames.begin());
  if (!session->out.seal(&frames).is_ok()) {
    ++dropped_replies_;
    return;
  }
  frames.insert(frames.begin(), std::move(routing_id));
  if (!send_frames(*bulk_, frames, /*dontwait=*/true).is_ok()) ++dropped_replies_;
}

void WorkerServer::drain_data(zmq::socket_t& data, DiskPool& pool, PipelineActions* out) {
  auto now = std::chrono::steady_clock::now();
  for (int i = 0; i < 64 && pool.has_room(); ++i) {
    Envelope env;
    Status s = recv_envelope(data, Framing::kRouted, &env);
    if (s.code() == Code::kTimeout) break;
    // Even a malformed message is answered to its routing id: one that
    // names a bulk route is refused whatever else is wrong with it.
    if (is_bulk_route(env.routing_id)) {
      s = protocol_error("routing ids starting with 'b' are reserved");
      env.routing_id.clear();  // nothing can be answered to it
    }
    take_data_request(std::move(env), s, pool, now, out);
  }
}

void WorkerServer::drain_bulk(zmq::socket_t& bulk, DiskPool& pool, PipelineActions* out) {
  auto now = std::chrono::steady_clock::now();
  for (int i = 0; i < 64 && pool.has_room(); ++i) {
    std::vector<zmq::message_t> frames;
    try {
      if (!zmq::recv_multipart(bulk, std::back_inserter(frames), zmq::recv_flags::dontwait)) break;
    } catch (const zmq::error_t& e) {
      spdlog::warn("the bulk socket: {}", e.what());
      break;
    }
    if (frames.size() < 2) continue;
    std::string routing_id = frames[0].to_string();
    frames.erase(frames.begin());
    // Anyone may connect here: nothing is taken until it opens under a
    // session's key, and nothing is answered unsealed but "unknown session".
    auto named = bulk_session_of(frames[0]);
    if (!named.is_ok()) {
      warn_bad_input(bad_input_, Sha256::hex_of(routing_id).substr(0, 16), "the bulk socket",
                     named.status().to_string());
      continue;
    }
    std::string session(named.value());
    auto* held = bulk_sessions_.find(session);
    if (!held) {
      std::vector<zmq::message_t> notice;
      notice.emplace_back(routing_id.data(), routing_id.size());
      std::string text = bulk_unknown_session(session);
      notice.emplace_back(text.data(), text.size());
      (void)send_frames(bulk, notice, /*dontwait=*/true);
      continue;
    }
    Status s = held->in.open(&frames);
    if (!s.is_ok()) {
      warn_bad_input(bad_input_, held->peer_key, "the bulk socket", s.to_string());
      continue;
    }
    held->used = now;  // only what opened keeps a session alive
    Envelope env;
    s = envelope_from_frames(std::move(frames), Framing::kPlain, &env);
    env.routing_id = bulk_route(session, routing_id);
    env.peer_key = held->peer_key;
    if (s.is_ok() && env.header.type == MsgType::kBulkSessionRequest) {
      s = protocol_error("a bulk session is opened over CURVE, on the data socket");
    }
    // An upstream worker's chunk frames (acks and aborts stay on the
    // pipeline socket, but are taken here as there).
    if (s.is_ok() &&
        (env.header.type == MsgType::kReplicaFrame || env.header.type == MsgType::kReplicaAck ||
         env.header.type == MsgType::kReplicaAbort)) {
      take_pipeline_message(std::move(env), now, out);
      continue;
    }
    take_data_request(std::move(env), s, pool, now, out);
  }
}

void WorkerServer::take_data_request(Envelope&& env, Status s, DiskPool& pool,
                                     std::chrono::steady_clock::time_point now,
                                     PipelineActions* out) {
  if (s.is_ok()) s = process_security().authorize(env, Domain::kWorkerData);
  if (s.is_ok()) s = check_ticket_of(env);
  if (!s.is_ok()) {
    warn_bad(env, "the data socket", s);
    if (!env.routing_id.empty() && env.header.request_id != 0) {
      reply(*data_, make_error_reply(env, s));
    }
    return;
  }
  if (env.header.type == MsgType::kBulkSessionRequest) {
    if (!bulk_) {
      reply(*data_,
            make_error_reply(env, invalid_argument("worker " + config_.id +
                                                   " has no bulk channel (insecure mode)")));
      return;
    }
    auto secret = bulk_sessions_.open(env.peer_key, now);
    if (!secret.is_ok()) {
      reply(*data_, make_error_reply(env, secret.status()));
      return;
    }
    BulkSessionReply rep{secret->session, secret->key, bulk_endpoint_};
    Envelope answer = make_envelope(rep, env.header.request_id);
    answer.routing_id = env.routing_id;
    reply(*data_, std::move(answer));
    return;
  }
  if (env.header.type == MsgType::kWriteChunkFrame) {
    auto frame = decode<WriteChunkFrame>(env.body);
    if (!frame.is_ok() || env.data.size() != 1) {
      reply(*data_, make_error_reply(env, frame.is_ok()
                                              ? protocol_error("a WriteChunkFrame carries exactly "
                                                               "one data frame")
                                              : frame.status()));
      return;
    }
    IncomingFrame in{std::move(frame).value(), std::move(env.data[0]), env.header.request_id};
    tracker_->on_frame(std::move(in), Upstream{env.routing_id, {}, {}}, now, out);
    return;
  }
  if (!pool.submit_request(env)) {
    Status busy(Code::kUnavailable, "worker " + config_.id + " is busy; try again");
    reply(*data_, make_error_reply(env, busy));
  }
}

void WorkerServer::drain_pipeline(zmq::socket_t& pull, DiskPool& pool, PipelineActions* out) {
  auto now = std::chrono::steady_clock::now();
  for (int i = 0; i < 64 && pool.has_room(); ++i) {
    Envelope env;
    Status s = recv_envelope(pull, Framing::kPlain, &env);
    if (s.code() == Code::kTimeout) break;
    if (!s.is_ok()) {
      warn_bad(env, "the pipeline socket", s);
      continue;
    }
    take_pipeline_message(std::move(env), now, out);
  }
}

void WorkerServer::take_pipeline_message(Envelope&& env, std::chrono::steady_clock::time_point now,
                                         PipelineActions* out) {
  Status s = process_security().authorize(env, Domain::kWorkerPipeline);
  if (!s.is_ok()) {
    warn_bad(env, "the pipeline socket", s);
    return;
  }
  switch (env.header.type) {
    case MsgType::kReplicaFrame: {
      auto f = decode<ReplicaFrame>(env.body);
      Status bad = f.status();
      if (bad.is_ok() && env.data.size() != 1) bad = protocol_error("no data frame");
      // Acks go back to the sender it names: that must be the sender.
      if (bad.is_ok()) bad = process_security().check_name(env, f->upstream.id);
      if (!bad.is_ok()) {
        warn_bad(env, "the pipeline socket", bad);
        return;
      }
      IncomingFrame in{std::move(f->frame), std::move(env.data[0]), 0};
      tracker_->on_frame(std::move(in), Upstream{"", f->upstream, std::move(f->earlier)}, now, out);
      return;
    }
    case MsgType::kReplicaAck: {
      auto ack = decode<ReplicaAck>(env.body);
      Status bad = ack.status();
      if (bad.is_ok()) bad = tracker_->on_remote_ack(ack.value(), pipeline_sender(env), now, out);
      if (!bad.is_ok()) warn_bad(env, "the pipeline socket", bad);
      return;
    }
    case MsgType::kReplicaAbort: {
      auto abort = decode<ReplicaAbort>(env.body);
      Status bad = abort.status();
      if (bad.is_ok()) bad = tracker_->on_abort(abort.value(), pipeline_sender(env), out);
      if (!bad.is_ok()) warn_bad(env, "the pipeline socket", bad);
      return;
    }
    case MsgType::kBulkSessionRequest: {
      // An upstream worker asks for a session on our bulk socket; the
      // answer goes to the pipeline socket it names, which must be its own.
      auto req = decode<BulkSessionRequest>(env.body);
      Status bad = req.status();
      if (bad.is_ok() && req->from.id.empty()) bad = protocol_error("no sender named");
      if (bad.is_ok()) bad = process_security().check_name(env, req->from.id);
      // The reply goes to the key named: it must be the asker's own.
      if (bad.is_ok() && process_security().secure() && req->from.key != env.peer_key) {
        bad = Status(Code::kPermissionDenied, "a session asked for on behalf of another key");
      }
      if (bad.is_ok() && !bulk_) bad = invalid_argument("no bulk channel (insecure mode)");
      auto secret = bad.is_ok() ? bulk_sessions_.open(env.peer_key, now) : Result<BulkSecret>(bad);
      if (!secret.is_ok()) {
        warn_bad(env, "the pipeline socket", secret.status());
        return;
      }
      BulkSessionReply rep{secret->session, secret->key, bulk_endpoint_};
      out->sends.push_back(
          {req->from.pipeline, make_envelope(rep, env.header.request_id), req->from.key});
      return;
    }
    case MsgType::kBulkSessionReply: {
      auto rep = decode<BulkSessionReply>(env.body);
      Status bad = rep.status();
      if (bad.is_ok() && !peers_->on_bulk_session(env.peer_key, env.header.request_id, *rep)) {
        bad = invalid_argument("a bulk session nobody asked this sender for");
      }
      if (!bad.is_ok()) warn_bad(env, "the pipeline socket", bad);
      return;
    }
    default:
      warn_bad(env, "the pipeline socket",
               protocol_error("unexpected " + std::string(msg_type_name(env.header.type))));
  }
}

void WorkerServer::drain_acks(zmq::socket_t& acks, PipelineActions* out) {
  for (int i = 0; i < 256; ++i) {
    Envelope env;
    Status s = recv_envelope(acks, Framing::kPlain, &env);
    if (s.code() == Code::kTimeout) break;
    auto ack = s.is_ok() ? decode<ReplicaAck>(env.body) : Result<ReplicaAck>(s);
    if (!ack.is_ok()) {
      spdlog::error("bad acknowledgement from a disk thread: {}", ack.status().to_string());
      continue;
    }
    tracker_->on_local_ack(ack.value(), out);
  }
}

void WorkerServer::forward_replies(zmq::socket_t& replies, zmq::socket_t& data) {
  // Forward every ready reply; the frames are already [routing][header][body][data].
  for (int i = 0; i < 64; ++i) {
    std::vector<zmq::message_t> frames;
    if (!zmq::recv_multipart(replies, std::back_inserter(frames), zmq::recv_flags::dontwait)) break;
    if (frames.empty()) continue;
    if (is_bulk_route(std::string_view(frames[0].data<char>(), frames[0].size()))) {
      send_bulk(std::move(frames));
      continue;
    }
    try {
      if (!zmq::send_multipart(data, frames, zmq::send_flags::dontwait)) ++dropped_replies_;
    } catch (const zmq::error_t&) {
      ++dropped_replies_;  // the client went away; it will time out and retry
    }
  }
}

void WorkerServer::carry_out(PipelineActions&& actions, zmq::socket_t& data, DiskPool& pool) {
  // A failed send makes the tracker fail writes, which produces more actions;
  // each round fails at least one write, so this ends.
  for (int round = 0; round < 1000 && !actions.empty(); ++round) {
    PipelineActions more;
    for (auto& w : actions.writes) {
      std::string id = w.frame.chunk_id;
      // The sockets are read only while every lane has room, and one frame
      // makes at most one write, so this fails only on a broken invariant.
      if (!pool.submit_write(std::move(w))) {
        tracker_->on_local_ack(
            ReplicaAck{id, config_.id, 0, false, static_cast<uint16_t>(Code::kUnavailable),
                       "worker " + config_.id + " disk queue full"},
            &more);
      }
    }
    auto now = std::chrono::steady_clock::now();
    for (auto& m : actions.sends) {
      Status s = peers_->send(m.endpoint, m.key, std::move(m.envelope), now);
      if (!s.is_ok()) {
        spdlog::warn("pipeline peer {}: {}", m.endpoint, s.to_string());
        peers_->forget(m.endpoint, m.key);
        tracker_->on_peer_unreachable(m.endpoint, m.key, s.message(), &more);
      }
    }
    for (auto& r : actions.replies) reply(data, std::move(r));
    for (const auto& id : actions.aborts) pool.submit_abort(id);
    actions = std::move(more);
  }
}

Status WorkerServer::run() {
  SocketOptions data_opts;
  data_opts.router_mandatory = true;
  data_opts.recv_hwm = 256;
  data_opts.send_hwm = 256;
  data_opts.serves = Domain::kWorkerData;
  zmq::socket_t data = make_socket(ctx_, zmq::socket_type::router, data_opts);
  SocketOptions pull_opts;
  pull_opts.recv_hwm = 256;
  pull_opts.serves = Domain::kWorkerPipeline;
  zmq::socket_t pull = make_socket(ctx_, zmq::socket_type::pull, pull_opts);
  try {
    data.bind(bind_address(config_.listen));
  } catch (const zmq::error_t& e) {
    return Status(Code::kUnavailable, "cannot listen on " + config_.listen.tcp() + ": " + e.what());
  }
  try {
    pull.bind(bind_address(config_.pipeline));
  } catch (const zmq::error_t& e) {
    return Status(Code::kUnavailable,
                  "cannot listen on " + config_.pipeline.tcp() + " (pipeline): " + e.what());
  }

  // The bulk channel: no CURVE (its messages are sealed by session keys
  // handed out over CURVE), so only in secure mode; insecure, the data
  // socket is as fast.
  std::optional<zmq::socket_t> bulk;
  if (process_security().secure()) {
    SocketOptions bulk_opts;
    bulk_opts.router_mandatory = true;
    bulk_opts.recv_hwm = 256;
    bulk_opts.send_hwm = 256;
    bulk_opts.max_message_bytes = (2 << 20) + 4096;  // a sealed frame and its envelope
    bulk = make_socket(ctx_, zmq::socket_type::router, bulk_opts);
    bulk->set(zmq::sockopt::plain_server, 1);
    bulk->set(zmq::sockopt::zap_domain, std::string(kBulkZapDomain));
    HostPort at = config_.bulk.host.empty() ? HostPort{config_.listen.host, 0} : config_.bulk;
    std::string address = bind_address(at);
    if (at.port == 0) address = address.substr(0, address.rfind(':')) + ":*";
    try {
      bulk->bind(address);
      auto bound = parse_endpoint(bulk->get(zmq::sockopt::last_endpoint));
      if (!bound.is_ok()) return bound.status();
      bulk_endpoint_ = HostPort{at.host, bound->port}.tcp();
    } catch (const zmq::error_t& e) {
      return Status(Code::kUnavailable, "cannot listen on " + address + " (bulk): " + e.what());
    }
    bulk_ = &*bulk;
  }
  data_ = &data;

  std::string reply_endpoint = "inproc://worker-replies-" + config_.id;
  std::string ack_endpoint = "inproc://worker-acks-" + config_.id;
  zmq::socket_t replies = make_socket(ctx_, zmq::socket_type::pull, SocketOptions{});
  replies.bind(reply_endpoint);
  zmq::socket_t acks = make_socket(ctx_, zmq::socket_type::pull, SocketOptions{});
  acks.bind(ack_endpoint);

  // Heartbeats ride a link that a partition may cut for long: it pings, so
  // a healed one carries again within seconds. Not the jobs link: libzmq
  // 4.3.4 aborts when a connecting SUB whose queue was full gets a new
  // connection (its issue 3937), which the heartbeat's redial would make
  // likely under a burst of jobs. That link is made afresh instead (a new
  // socket, a new queue) once it has been quiet too long: see kJobsQuiet.
  SocketOptions pub_opts;
  pub_opts.send_hwm = 100;
  pub_opts.heartbeat_ms = kLinkHeartbeatMs;
  Dialer hb_dialer(ctx_, [&] { return make_socket(ctx_, zmq::socket_type::pub, pub_opts); });
  // Masters in the other security mode never accept us: said at start, not
  // left to look like masters that are down.
  SocketOptions jobs_opts;
  jobs_opts.connect_timeout_ms = kLinkHeartbeatMs;
  Dialer jobs_dialer(ctx_, [&] {
    zmq::socket_t jobs = make_socket(ctx_, zmq::socket_type::sub, jobs_opts);
    jobs.set(zmq::sockopt::subscribe, "job." + config_.id);
    jobs.set(zmq::sockopt::subscribe, "event.masters");
    jobs.set(zmq::sockopt::subscribe, "keys.ring");
    return jobs;
  });
  {
    std::lock_guard lock(masters_mu_);
    masters_ = config_.masters;
  }
  auto connect_master = [&](const HostPort& m) {
    Status s = hb_dialer.dial_master(master_events(m), m);
    if (s.is_ok()) s = jobs_dialer.dial_master(master_jobs(m), m);
    if (!s.is_ok()) spdlog::error("worker {}: {}", config_.id, s.message());
  };
  for (const auto& m : config_.masters) connect_master(m);
  // A master announced by the leader that we do not know yet: heartbeat it too.
  auto learn_masters = [&](const std::string& list) {
    std::lock_guard lock(masters_mu_);
    size_t start = 0;
    while (start <= list.size()) {
      size_t end = list.find(',', start);
      if (end == std::string::npos) end = list.size();
      auto hp = parse_endpoint(list.substr(start, end - start));
      start = end + 1;
      if (!hp.is_ok()) continue;
      bool known = std::any_of(masters_.begin(), masters_.end(),
                               [&](const HostPort& m) { return m.tcp() == hp->tcp(); });
      if (known) continue;
      // Its key may not be in our keyring yet: looked for again at the next announcement.
      auto key = process_security().master_key(*hp);
      if (!key.is_ok()) {
        spdlog::warn("worker {}: not connecting to master {} yet: {}", config_.id, hp->tcp(),
                     key.status().message());
        continue;
      }
      spdlog::info("worker {} learned of master {}", config_.id, hp->tcp());
      masters_.push_back(hp.value());
      connect_master(hp.value());
    }
  };

  PipelineTracker::Options topts;
  topts.hop_timeout = config_.hop_timeout;
  topts.idle_timeout = config_.idle_timeout;
  tracker_ = std::make_unique<PipelineTracker>(self(), topts);
  // Frames in flight per peer are bounded by the clients' windows; the HWM
  // is the backstop that turns a peer that stopped reading into an error.
  peers_ = std::make_unique<PushPeers>(ctx_, 128, std::chrono::minutes(5));
  if (bulk_) peers_->enable_bulk(self());
  DiskPool pool(
      ctx_, config_.id, store_.get(),
      DiskPool::Options{config_.disk_threads, 16, config_.idle_timeout, config_.group_commit_delay},
      reply_endpoint, ack_endpoint);
  spdlog::info("worker {} serving on {}, pipeline on {}{}", config_.id, config_.listen.tcp(),
               config_.pipeline.tcp(), bulk_ ? ", bulk channel on " + bulk_endpoint_ : "");

  scrubber_ = std::make_unique<Scrubber>(
      store_.get(), Scrubber::Options{config_.scrub_rate, config_.scrub_interval});
  RepairCopier copier(ctx_, config_.id, store_.get(),
                      RepairCopier::Options{config_.copy_threads, 64, config_.hop_timeout * 2});
  // Stopped and joined when run() returns, by whichever path.
  std::jthread reporter([this](const std::stop_token& stop) { report_inventory(stop); });
  auto next_heartbeat = std::chrono::steady_clock::now();
  auto next_tick = next_heartbeat;
  auto next_sweep = next_heartbeat;
  auto jobs_heard = next_heartbeat;  // the jobs link's last message
  while (!stop_requested() && !stop_.load()) {
    auto now = std::chrono::steady_clock::now();
    if (now >= next_heartbeat) {
      publish_heartbeat(hb_dialer.socket(), copier.in_progress());
      next_heartbeat = now + config_.heartbeat_interval;
    }
    for (auto& done : copier.take_done()) {
      Envelope env = make_envelope(done);
      env.topic = "copy." + config_.id;
      // A lost report costs only time: the job is re-sent and answered again.
      if (!send_envelope(hb_dialer.socket(), Framing::kTopic, std::move(env)).is_ok()) {
        spdlog::debug("copy report dropped: publish queue full");
      }
    }
    PipelineActions actions;
    if (now >= next_tick) {
      if (auto other = hb_dialer.other_mode()) {
        return Status(Code::kUnavailable, "cannot join the cluster: " + other->message());
      }
      hb_dialer.redial_refused(now);
      if (jobs_dialer.redial_refused(now)) jobs_heard = now;
      if (now - jobs_heard > kJobsQuiet) {
        spdlog::info(
            "nothing on the jobs link for {} s: dialing the masters again on a fresh "
            "socket",
            std::chrono::duration_cast<std::chrono::seconds>(now - jobs_heard).count());
        jobs_dialer.redial();
        jobs_heard = now;
      }
      tracker_->tick(now, &actions);
      for (const auto& [endpoint, key] : peers_->lost()) {
        spdlog::warn("pipeline peer {}: {}", endpoint, "the connection dropped or was refused");
        peers_->forget(endpoint, key);
        tracker_->on_peer_unreachable(endpoint, key, "the connection dropped or was refused",
                                      &actions);
      }
      peers_->close_idle(now);
      next_tick = now + std::chrono::milliseconds(100);
    }
    if (now >= next_sweep) {
      // Idle sessions go, and those of keys the keyring no longer lists
      // (their messages are refused anyway: each is authorized as it comes).
      bulk_sessions_.sweep(now, [](const std::string& key) {
        Envelope probe;
        probe.peer_key = key;
        return process_security().sender(probe).has_value();
      });
      next_sweep = now + std::chrono::seconds(5);
    }
    short room = pool.has_room() ? ZMQ_POLLIN : 0;
    zmq::pollitem_t items[] = {{replies.handle(), 0, ZMQ_POLLIN, 0},
                               {acks.handle(), 0, ZMQ_POLLIN, 0},
                               {jobs_dialer.socket().handle(), 0, ZMQ_POLLIN, 0},
                               {data.handle(), 0, room, 0},
                               {pull.handle(), 0, room, 0},
                               {bulk_ ? bulk_->handle() : nullptr, 0, room, 0}};
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::min(next_heartbeat, next_tick) - now);
    wait = std::clamp(wait, std::chrono::milliseconds(0), std::chrono::milliseconds(100));
    if (actions.empty()) {
      try {
        zmq::poll(items, bulk_ ? 6 : 5, wait);
      } catch (const zmq::error_t& e) {
        if (e.num() == EINTR) continue;
        return Status(Code::kInternal, std::string("poll failed: ") + e.what());
      }
    }
    if (items[0].revents & ZMQ_POLLIN) forward_replies(replies, data);
    if (items[1].revents & ZMQ_POLLIN) drain_acks(acks, &actions);
    if (items[2].revents & ZMQ_POLLIN) {
      Envelope env;
      Status s = recv_envelope(jobs_dialer.socket(), Framing::kTopic, &env);
      jobs_heard = now;
      if (s.is_ok() && env.header.type == MsgType::kDeleteChunksJob) {
        auto job = decode<DeleteChunksJob>(env.body);
        if (job.is_ok() && job->worker_id == config_.id) {
          if (!pool.submit_delete(std::move(job->chunk_ids))) {
            spdlog::debug("disk queues full; the master will re-send the delete job");
          }
        } else if (!job.is_ok()) {
          spdlog::warn("dropping a bad delete job: {}", job.status().to_string());
        }
      } else if (s.is_ok() && env.header.type == MsgType::kReplicateChunkJob) {
        auto job = decode<ReplicateChunkJob>(env.body);
        if (job.is_ok() && job->source == config_.id) {
          copier.submit(job.value());
        } else if (!job.is_ok()) {
          spdlog::warn("dropping a bad repair job: {}", job.status().to_string());
        }
      } else if (s.is_ok() && env.header.type == MsgType::kKeyringUpdate) {
        // Only masters may bind the jobs socket we dialled (we checked its
        // key); the newest version wins, so a deposed leader's is ignored.
        auto keys = decode<KeyringUpdate>(env.body);
        if (keys.is_ok()) {
          process_security().set_log_keys(keys.value());
          process_security().cut_removed();
        } else {
          spdlog::warn("dropping a bad keyring update: {}", keys.status().to_string());
        }
      } else if (s.is_ok() && env.header.type == MsgType::kClusterEvent) {
        auto event = decode<ClusterEvent>(env.body);
        if (event.is_ok() && event->kind == "masters") learn_masters(event->detail);
      } else if (!s.is_ok() && s.code() != Code::kTimeout) {
        spdlog::warn("dropping a bad message on the jobs topic: {}", s.to_string());
      }
    }
    if (items[3].revents & ZMQ_POLLIN) drain_data(data, pool, &actions);
    if (items[4].revents & ZMQ_POLLIN) drain_pipeline(pull, pool, &actions);
    if (bulk_ && (items[5].revents & ZMQ_POLLIN)) drain_bulk(*bulk_, pool, &actions);
    carry_out(std::move(actions), data, pool);
  }
  spdlog::info("worker {} stopping: finishing queued work", config_.id);
  reporter.request_stop();
  reporter.join();  // it reads the scrubber
  copier.stop();
  scrubber_.reset();
  pool.stop();
  // Answers produced while stopping still reach their clients.
  forward_replies(replies, data);
  data_ = nullptr;
  bulk_ = nullptr;
  if (dropped_replies_ > 0) spdlog::info("{} replies could not be delivered", dropped_replies_);
  spdlog::info("worker {} stopped", config_.id);
  return Status::ok();
}

}  // namespace dfs
