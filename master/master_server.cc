#include "master/master_server.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>
#include <set>

#include "bus/connection_watch.h"
#include "bus/dialer.h"
#include "bus/process.h"
#include "bus/security.h"
#include "bus/socket.h"
#include "bus/warn_limiter.h"

namespace dfs {

Result<std::unique_ptr<MasterServer>> MasterServer::open(zmq::context_t& ctx,
                                                         MasterServerConfig config,
                                                         MasterOptions options,
                                                         std::unique_ptr<Namespace> ns) {
  if (config.members.empty()) config.members[config.node_id] = config.listen;
  if (!config.members.count(config.node_id)) {
    return invalid_argument("node " + std::to_string(config.node_id) + " is not among the members");
  }
  RaftLog::Options lo;
  lo.core.id = config.node_id;
  for (const auto& [id, hp] : config.members) {
    lo.core.voters.push_back(id);
    lo.apis[id] = master_api(hp);
  }
  lo.core.election_tick = config.election_ticks;
  lo.core.joining = config.join;
  lo.snapshot_entries = config.snapshot_entries;
  lo.snapshot_bytes = config.snapshot_bytes;
  lo.core.heartbeat_tick = 1;
  std::random_device rd;
  lo.core.seed = config.seed ? config.seed : (static_cast<uint64_t>(rd()) << 32 | rd());
  auto log = RaftLog::open(lo, config.raft_dir, config.meta_dir, &ns);
  if (!log.is_ok()) return log.status();
  std::unique_ptr<MasterServer> server(new MasterServer(ctx, std::move(config)));
  server->log_ = std::move(log).value();
  server->service_ =
      std::make_unique<MasterService>(std::move(options), std::move(ns), server->log_.get());
  RaftLog* raft_log = server->log_.get();
  server->service_->set_log_status([raft_log](ClusterStatusReply* rep) {
    rep->term = raft_log->core().term();
    rep->commit_index = raft_log->core().commit_index();
  });
  return server;
}

Status MasterServer::run() {
  const HostPort listen = config_.listen;
  SocketOptions api_opts;
  api_opts.router_mandatory = true;
  api_opts.serves = Domain::kMasterApi;
  api_opts.max_message_bytes = kMaxInboundBytes;  // a commit lists every chunk
  zmq::socket_t api = make_socket(ctx_, zmq::socket_type::router, api_opts);
  SocketOptions events_opts;
  events_opts.serves = Domain::kMasterEvents;
  events_opts.max_message_bytes = kMaxInboundBytes;  // chunk reports
  zmq::socket_t events = make_socket(ctx_, zmq::socket_type::sub, events_opts);
  events.set(zmq::sockopt::subscribe, "hb.");
  events.set(zmq::sockopt::subscribe, "report.");
  events.set(zmq::sockopt::subscribe, "copy.");
  SocketOptions jobs_opts;
  jobs_opts.serves = Domain::kMasterJobs;
  zmq::socket_t jobs = make_socket(ctx_, zmq::socket_type::pub, jobs_opts);
  SocketOptions peer_opts;
  peer_opts.serves = Domain::kMasterPeer;
  peer_opts.max_message_bytes = kMaxInboundBytes;  // log batches, snapshot pieces
  zmq::socket_t peer_in = make_socket(ctx_, zmq::socket_type::router, peer_opts);
  // A master that comes back (after a crash its old connection may linger
  // half-open) takes over its identity instead of being turned away.
  peer_in.set(zmq::sockopt::router_handover, 1);
  // One DEALER per other member, named by our node id so the receiver can
  // tell who sent (the message says so too, and must agree).
  std::map<raft::NodeId, std::unique_ptr<Dialer>> peers_out;
  // False when the peer's key is not known (yet: the keyring is reread
  // once a second), so the caller tries again later; said once a minute.
  WarnLimiter peer_warnings;
  auto connect_peer = [&](raft::NodeId id, const HostPort& hp) {
    auto key = process_security().master_key(hp);
    if (!key.is_ok()) {
      if (peer_warnings.admit(std::to_string(id), std::chrono::steady_clock::now()) > 0) {
        spdlog::error("cannot connect to master {} yet: {}", id, key.status().message());
      }
      return false;
    }
    SocketOptions o;
    o.max_message_bytes = kMaxInboundBytes;
    o.identity = "m" + std::to_string(config_.node_id);
    o.send_hwm = 1000;
    // A message to a peer that is down is dropped, not queued for when it
    // returns (Raft sends what is still needed), and a returning peer is
    // found again within half a second; one behind a healed partition within
    // a few seconds, since the link's heartbeat has redialled it.
    o.immediate = true;
    o.reconnect_ivl_max_ms = 500;
    o.heartbeat_ms = kLinkHeartbeatMs;
    auto link = std::make_unique<Dialer>(
        ctx_, [this, o] { return make_socket(ctx_, zmq::socket_type::dealer, o); });
    Status s = link->dial(master_peer(hp), key.value());
    if (!s.is_ok()) {
      spdlog::error("cannot connect to master {}: {}", id, s.message());
      return false;
    }
    peers_out.emplace(id, std::move(link));
    return true;
  };
  for (const auto& [id, hp] : config_.members) {
    if (id != config_.node_id) connect_peer(id, hp);
  }
  // Members added or removed at run time: a DEALER for each member the log
  // names (its endpoint from the flags or the namespace), none for others.
  raft::Membership connected;
  std::set<raft::NodeId> unknown;  // members whose endpoint is not known yet (said once)
  auto follow_membership = [&] {
    const raft::Membership& m = log_->core().membership();
    if (m == connected) return;
    connected = m;
    for (auto it = peers_out.begin(); it != peers_out.end();) {
      it = m.is_member(it->first) ? std::next(it) : peers_out.erase(it);
    }
    for (const auto& ids : {m.voters, m.learners}) {
      for (raft::NodeId id : ids) {
        if (id == config_.node_id || peers_out.count(id)) continue;
        std::string api = log_->api_of(id);
        auto hp = parse_endpoint(api.rfind("tcp://", 0) == 0 ? api.substr(6) : api);
        if (!hp.is_ok()) {
          if (unknown.insert(id).second) spdlog::warn("no endpoint known for master {} yet", id);
          connected = raft::Membership{};  // look again next turn
          continue;
        }
        if (!connect_peer(id, hp.value())) {
          connected = raft::Membership{};  // look again next turn
          continue;
        }
        spdlog::info("connecting to master {} at {}", id, hp->tcp());
      }
    }
  };
  HostPort events_at{listen.host, listen.port + 2}, jobs_at{listen.host, listen.port + 3};
  try {
    api.bind(bind_address(listen));
    peer_in.bind(bind_address(HostPort{listen.host, listen.port + 1}));
    events.bind(bind_address(events_at));
    jobs.bind(bind_address(jobs_at));
  } catch (const zmq::error_t& e) {
    return Status(Code::kUnavailable, "cannot listen on " + listen.tcp() + " (ports " +
                                          std::to_string(listen.port) + "-" +
                                          std::to_string(listen.port + 3) + "): " + e.what());
  }
  // A PUB's subscribers cannot be cut one by one: when a key leaves the
  // keyring the jobs socket is bound afresh, which closes every connection
  // to it. Subscribers still listed redial at once (their jobs are sent
  // again); a removed one is refused. The port is free again once libzmq's
  // I/O thread has closed the listener, so binding is tried again each turn
  // until it takes, never waited for here.
  const std::string jobs_endpoint = jobs.get(zmq::sockopt::last_endpoint);
  uint64_t removals_seen = process_security().removals();
  bool jobs_bound = true;
  std::chrono::steady_clock::time_point unbound_at{};
  WarnLimiter rebind_warnings;
  auto bind_jobs = [&](std::chrono::steady_clock::time_point now) {
    try {
      jobs.bind(jobs_endpoint);
      jobs_bound = true;
      spdlog::info("jobs socket bound afresh: a key left the keyring");
    } catch (const zmq::error_t& e) {
      // The first few tries fail while the old listener closes.
      if (now - unbound_at > std::chrono::seconds(1) && rebind_warnings.admit("jobs", now) > 0) {
        spdlog::error("cannot bind the jobs socket {} again yet: {}", jobs_endpoint, e.what());
      }
    }
  };
  auto follow_removals = [&](std::chrono::steady_clock::time_point now) {
    if (uint64_t removals = process_security().removals(); removals != removals_seen) {
      removals_seen = removals;
      process_security().cut_removed();
      if (jobs_bound) {
        try {
          jobs.unbind(jobs_endpoint);
          jobs_bound = false;
          unbound_at = now;
        } catch (const zmq::error_t& e) {
          spdlog::error("cannot unbind the jobs socket to close its subscriptions: {}", e.what());
        }
      }
    }
    if (!jobs_bound) bind_jobs(now);
  };
  spdlog::info("master {} (node {} of {}) serving on {} (events {}, jobs {})", config_.node_id,
               config_.node_id, config_.members.size(), listen.tcp(), events_at.tcp(),
               jobs_at.tcp());

  auto send_peer = [&](raft::NodeId to, Envelope&& env) {
    auto it = peers_out.find(to);
    if (it == peers_out.end()) return;
    zmq::socket_t& socket = it->second->socket();
    // A full queue drops the message; Raft sends again.
    (void)send_envelope(socket, Framing::kPlain, std::move(env));
  };
  const Security& security = process_security();
  // Bad input is logged once a minute per sender, however much of it comes.
  WarnLimiter bad_input;
  auto warn_bad = [&](const Envelope& env, const char* where, const Status& s) {
    warn_bad_input(bad_input, env.peer_key.empty() ? env.routing_id : env.peer_key, where,
                   s.to_string());
  };
  auto next_tick = std::chrono::steady_clock::now();
  auto next_raft_tick = next_tick;
  while (!stop_requested() && !stop_.load()) {
    zmq::pollitem_t items[] = {{api.handle(), 0, ZMQ_POLLIN, 0},
                               {events.handle(), 0, ZMQ_POLLIN, 0},
                               {peer_in.handle(), 0, ZMQ_POLLIN, 0}};
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(
        next_raft_tick - std::chrono::steady_clock::now());
    try {
      zmq::poll(items, 3, std::clamp(wait, std::chrono::milliseconds(0), config_.tick));
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      return Status(Code::kInternal, std::string("poll failed: ") + e.what());
    }
    auto now = std::chrono::steady_clock::now();
    if (items[2].revents & ZMQ_POLLIN) {
      for (int i = 0; i < 1024; ++i) {
        Envelope env;
        Status s = recv_envelope(peer_in, Framing::kRouted, &env);
        if (s.code() == Code::kTimeout) break;
        if (s.is_ok()) s = security.authorize(env, Domain::kMasterPeer);
        if (s.is_ok()) s = security.check_name(env, env.routing_id);
        if (s.is_ok()) s = log_->receive(env.routing_id, env, now);
        if (!s.is_ok()) warn_bad(env, "the peer socket", s);
      }
    }
    if (now >= next_raft_tick) {
      log_->tick();
      next_raft_tick = now + config_.tick;
    }
    if (items[1].revents & ZMQ_POLLIN) {
      for (int i = 0; i < 256; ++i) {
        Envelope env;
        Status s = recv_envelope(events, Framing::kTopic, &env);
        if (s.code() == Code::kTimeout) break;
        if (s.is_ok()) s = security.authorize(env, Domain::kMasterEvents);
        // A worker speaks only for itself, and a heartbeat names the key
        // it was sent with (which is what clients are told to expect).
        if (s.is_ok() && env.header.type == MsgType::kHeartbeat) {
          auto hb = decode<Heartbeat>(env.body);
          s = hb.status();
          if (s.is_ok()) s = security.check_name(env, hb->worker_id);
          if (s.is_ok() && security.secure() && hb->key != env.peer_key) {
            s = Status(Code::kPermissionDenied,
                       "heartbeat of " + hb->worker_id + " names a key it was not sent with");
          }
          if (s.is_ok()) service_->on_heartbeat(hb.value(), now);
        } else if (s.is_ok() && env.header.type == MsgType::kChunkReport) {
          auto report = decode<ChunkReport>(env.body);
          s = report.status();
          if (s.is_ok()) s = security.check_name(env, report->worker_id);
          if (s.is_ok()) service_->on_chunk_report(report.value(), now);
        } else if (s.is_ok() && env.header.type == MsgType::kReplicateChunkDone) {
          auto done = decode<ReplicateChunkDone>(env.body);
          s = done.status();
          if (s.is_ok()) s = security.check_name(env, done->source);
          if (s.is_ok()) service_->on_copy_done(done.value(), now);
        } else if (s.is_ok()) {
          s = protocol_error("unexpected " + std::string(msg_type_name(env.header.type)));
        }
        if (!s.is_ok()) warn_bad(env, "the events socket", s);
      }
    }
    if (items[0].revents & ZMQ_POLLIN) {
      for (int i = 0; i < 64; ++i) {
        Envelope env;
        Status s = recv_envelope(api, Framing::kRouted, &env);
        if (s.code() == Code::kTimeout) break;
        if (s.is_ok()) s = security.authorize(env, Domain::kMasterApi);
        if (s.is_ok()) {
          service_->handle(env, now);
          continue;
        }
        warn_bad(env, "the api socket", s);
        if (!env.routing_id.empty()) {
          (void)send_envelope(api, Framing::kRouted, make_error_reply(env, s));
        }
      }
    }
    if (now >= next_tick) {
      // Peers in the other security mode would never let us in: said at
      // start (before any peer has), not left to look like peers that are down.
      bool any_in = false;
      std::optional<Status> other;
      for (auto& [id, link] : peers_out) {
        any_in = any_in || link->watch().handshook();
        if (auto o = link->other_mode()) other = o;
      }
      if (!any_in && other) {
        return Status(Code::kUnavailable, "cannot join the group: " + other->message());
      }
      for (auto& [id, link] : peers_out) link->redial_refused(now);
      service_->tick(now);
      next_tick = now + std::chrono::milliseconds(200);
    }
    log_->pump(*service_, send_peer, now);
    follow_membership();
    for (auto& reply : service_->take_replies()) {
      if (!send_envelope(api, Framing::kRouted, std::move(reply)).is_ok()) {
        spdlog::debug("client went away before its reply");
      }
    }
    for (auto& msg : service_->take_outbox()) {
      if (!send_envelope(jobs, Framing::kTopic, std::move(msg)).is_ok()) {
        spdlog::debug("a published message was dropped (queue full)");
      }
    }
    // After the replies: an admin who revoked their own key hears it done.
    follow_removals(now);
  }
  spdlog::info("master stopped");
  return Status::ok();
}

}  // namespace dfs
