#include "bus/push_peers.h"

#include <random>

#include "bus/socket.h"

namespace dfs {

PushPeers::PushPeers(zmq::context_t& ctx, int send_hwm, std::chrono::milliseconds idle_close)
    : ctx_(ctx), send_hwm_(send_hwm), idle_close_(idle_close) {
  std::random_device rd;
  next_ask_ = ((static_cast<uint64_t>(rd()) << 32) | rd()) | 1;
}

bool PushPeers::bulk_writable(Bulk& b) {
  if (!b.socket) return false;
  try {
    return (b.socket->get(zmq::sockopt::events) & ZMQ_POLLOUT) != 0;
  } catch (const zmq::error_t&) {
    return false;
  }
}

void PushPeers::drop_bulk(Bulk& b, Clock::time_point retry) {
  b.watch.reset();
  b.socket.reset();
  b.sealer.reset();
  b.session.clear();
  b.chunks.clear();
  b.asked = 0;
  b.asked_at = retry;
}

Status PushPeers::send(const std::string& endpoint, const std::string& key, Envelope&& env,
                       Clock::time_point now) {
  auto it = peers_.find({endpoint, key});
  if (it == peers_.end()) {
    SocketOptions opts;
    opts.send_hwm = send_hwm_;
    opts.linger_ms = 0;
    zmq::socket_t socket = make_socket(ctx_, zmq::socket_type::push, opts);
    auto watch = std::make_unique<ConnectionWatch>(ctx_, socket.handle());
    Status s = connect_to(socket, endpoint, key);
    if (!s.is_ok()) return s;
    it = peers_
             .emplace(std::make_pair(endpoint, key),
                      Peer{std::move(socket), now, std::move(watch), Bulk{}})
             .first;
  }
  Peer& peer = it->second;
  peer.last_used = now;
  if (self_ && takes_bulk(peer, env, now)) {
    Status s = send_sealed(peer, std::move(env));
    if (s.code() == Code::kTimeout) {
      return Status(Code::kTimeout,
                    "the bulk queue to " + endpoint + " is full (the peer is not reading)");
    }
    return s;
  }
  Status s = send_envelope(peer.socket, Framing::kPlain, std::move(env));
  if (s.code() == Code::kTimeout) {
    return Status(Code::kTimeout,
                  "the queue to " + endpoint + " is full (the peer is not reading)");
  }
  return s;
}

bool PushPeers::takes_bulk(Peer& peer, const Envelope& env, Clock::time_point now) {
  Bulk& b = peer.bulk;
  if (env.header.type == MsgType::kReplicaAbort) {
    // Aborts go by PUSH; the chunk's route is over.
    auto abort = decode<ReplicaAbort>(env.body);
    if (abort.is_ok()) b.chunks.erase(abort->chunk_id);
    return false;
  }
  if (env.header.type != MsgType::kReplicaFrame) return false;
  auto f = decode<ReplicaFrame>(env.body);
  if (!f.is_ok()) return false;
  const std::string& id = f->frame.chunk_id;
  bool bulk = false;
  if (f->frame.offset == 0) {
    if (b.socket && b.chunks.empty()) {
      // Unused for long (the peer may have forgotten the session), or never
      // reachable (a firewalled port): back to PUSH, and ask again later.
      if (now - b.used >= kBulkIdle) drop_bulk(b, now);
      if (b.socket && !bulk_writable(b) && now - b.ready_at >= kBulkAskAgain) {
        drop_bulk(b, now + kBulkAskAgain);
      }
    }
    bool may_ask = b.asked == 0 ? now >= b.asked_at : now - b.asked_at >= kBulkAskAgain;
    if (!b.socket && may_ask) {
      // Asked on the PUSH socket, answered on ours; meanwhile chunks go by PUSH.
      BulkSessionRequest ask{*self_};
      b.asked = next_ask_++;
      b.asked_at = now;
      (void)send_envelope(peer.socket, Framing::kPlain, make_envelope(ask, b.asked));
    }
    bulk = bulk_writable(b) && b.chunks.size() < kMaxBulkChunks;
    if (bulk) {
      b.chunks.insert(id);
    } else {
      b.chunks.erase(id);
    }
  } else {
    bulk = b.chunks.count(id) > 0;
  }
  if (bulk) b.used = now;
  if (bulk && f->frame.last) b.chunks.erase(id);
  return bulk;
}

Status PushPeers::send_sealed(Peer& peer, Envelope&& env) {
  auto frames = envelope_frames(std::move(env), Framing::kPlain);
  DFS_RETURN_IF_ERROR(peer.bulk.sealer->seal(&frames));
  Status s = send_frames(*peer.bulk.socket, frames, /*dontwait=*/true);
  if (s.is_ok()) ++bulk_frames_;
  return s;
}

bool PushPeers::on_bulk_session(const std::string& sender_key, uint64_t request_id,
                                const BulkSessionReply& reply) {
  for (auto& [where, peer] : peers_) {
    // Only the peer asked may answer: another worker's session would send
    // this peer's chunks to an endpoint, under a key, of its choosing.
    if (peer.bulk.asked != request_id || where.second != sender_key) continue;
    if (peer.bulk.socket) return false;  // answered already
    SocketOptions opts;
    opts.send_hwm = send_hwm_;
    opts.linger_ms = 0;
    // Not CURVE: what goes on it is sealed by the session's key.
    opts.immediate = true;  // writable only once connected and let in
    zmq::socket_t socket = make_socket(ctx_, zmq::socket_type::dealer, opts);
    auto watch = std::make_unique<ConnectionWatch>(ctx_, socket.handle());
    socket.set(zmq::sockopt::plain_username, bulk_gate_username(reply.session));
    socket.set(zmq::sockopt::plain_password, bulk_gate_password(reply.key));
    try {
      socket.connect(reply.endpoint);
    } catch (const zmq::error_t&) {
      return false;
    }
    peer.bulk.socket = std::move(socket);
    peer.bulk.watch = std::move(watch);
    peer.bulk.ready_at = std::chrono::steady_clock::now();
    peer.bulk.used = peer.bulk.ready_at;
    peer.bulk.session = reply.session;
    peer.bulk.sealer = std::make_unique<BulkSealer>(BulkSecret{reply.session, reply.key},
                                                    BulkDirection::kToServer);
    return true;
  }
  return false;
}

bool PushPeers::bulk_route_up(const std::string& endpoint, const std::string& key) {
  auto it = peers_.find({endpoint, key});
  return it != peers_.end() && bulk_writable(it->second.bulk);
}

void PushPeers::forget(const std::string& endpoint, const std::string& key) {
  peers_.erase({endpoint, key});
}

std::vector<std::pair<std::string, std::string>> PushPeers::lost() {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& [where, peer] : peers_) {
    // A refused handshake (a wrong key) is as final as a dropped connection.
    if (peer.watch->lost() || peer.watch->handshake_failure()) {
      out.push_back(where);
      continue;
    }
    if (!peer.bulk.socket) continue;
    // Nothing is answered on a bulk route but "unknown session": the peer
    // forgot us. A connection that dropped, or that the peer no longer lets
    // in (it restarted), is as dead. The frames sent there are lost: the
    // writes depending on it fail now; with none, the route just ends.
    bool dead = peer.bulk.watch->lost() || peer.bulk.watch->handshake_failure().has_value();
    for (int i = 0; i < 64 && !dead; ++i) {
      std::vector<zmq::message_t> frames;
      try {
        if (!zmq::recv_multipart(*peer.bulk.socket, std::back_inserter(frames),
                                 zmq::recv_flags::dontwait)) {
          break;
        }
      } catch (const zmq::error_t&) {
        break;
      }
      auto forgot = bulk_unknown_session_of(frames);
      if (forgot && *forgot == peer.bulk.session) dead = true;
    }
    if (!dead) continue;
    if (!peer.bulk.chunks.empty()) out.push_back(where);
    drop_bulk(peer.bulk, Clock::now() + kBulkAskAgain);
  }
  return out;
}

void PushPeers::close_idle(Clock::time_point now) {
  std::erase_if(peers_, [&](const auto& p) { return now - p.second.last_used > idle_close_; });
}

}  // namespace dfs
