#include "bus/push_peers.h"

#include "bus/socket.h"

namespace dfs {

PushPeers::PushPeers(zmq::context_t& ctx, int send_hwm, std::chrono::milliseconds idle_close)
    : ctx_(ctx), send_hwm_(send_hwm), idle_close_(idle_close) {}

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
    if (!b.socket && (b.asked == 0 || now - b.asked_at >= kBulkAskAgain)) {
      // Asked on the PUSH socket, answered on ours; meanwhile chunks go by PUSH.
      BulkSessionRequest ask{*self_};
      b.asked = next_ask_++;
      b.asked_at = now;
      (void)send_envelope(peer.socket, Framing::kPlain, make_envelope(ask, b.asked));
    }
    bulk = b.socket.has_value() && b.chunks.size() < kMaxBulkChunks;
    if (bulk) {
      b.chunks.insert(id);
    } else {
      b.chunks.erase(id);
    }
  } else {
    bulk = b.chunks.count(id) > 0;
  }
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
    zmq::socket_t socket = make_socket(ctx_, zmq::socket_type::dealer, opts);
    socket.set(zmq::sockopt::plain_username, bulk_gate_username(reply.session));
    socket.set(zmq::sockopt::plain_password, bulk_gate_password(reply.key));
    try {
      socket.connect(reply.endpoint);
    } catch (const zmq::error_t&) {
      return false;
    }
    peer.bulk.socket = std::move(socket);
    peer.bulk.session = reply.session;
    peer.bulk.sealer = std::make_unique<BulkSealer>(BulkSecret{reply.session, reply.key},
                                                    BulkDirection::kToServer);
    return true;
  }
  return false;
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
    // restarted or forgot us, and the frames sent there are lost.
    for (int i = 0; i < 64; ++i) {
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
      if (forgot && *forgot == peer.bulk.session) {
        out.push_back(where);
        break;
      }
    }
  }
  return out;
}

void PushPeers::close_idle(Clock::time_point now) {
  std::erase_if(peers_, [&](const auto& p) { return now - p.second.last_used > idle_close_; });
}

}  // namespace dfs
