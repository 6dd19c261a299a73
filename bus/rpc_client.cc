#include "bus/rpc_client.h"

#include <spdlog/spdlog.h>

#include <random>

#include "bus/bulk_seal.h"
#include "bus/security.h"
#include "codec/messages.h"

namespace dfs {
namespace {

// Request ids start at a random point so a reply meant for a previous process
// that used the same routing id is not mistaken for ours.
uint64_t random_start() {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 20) + 1;
}

// A session unused this long is replaced before use: the worker forgets
// sessions idle for 10 minutes.
constexpr std::chrono::minutes kBulkRenewAfter{5};
// How long a peer that gave no bulk channel is spoken to over CURVE alone.
constexpr std::chrono::minutes kBulkRetryAfter{1};

}  // namespace

struct RpcClient::Bulk {
  zmq::socket_t socket;
  std::string session;
  BulkSealer out;
  BulkOpener in;
  std::chrono::steady_clock::time_point used;
  // After socket: stopped before it closes. A worker that restarted refuses
  // the session's reconnection (its gate no longer holds it).
  std::unique_ptr<ConnectionWatch> watch;
};

RpcClient::RpcClient(zmq::context_t& ctx, std::string endpoint, std::string server_key,
                     std::chrono::milliseconds connect_timeout, int queue,
                     std::shared_ptr<const KeyPair> identity, bool bulk)
    : ctx_(ctx),
      endpoint_(std::move(endpoint)),
      server_key_(std::move(server_key)),
      identity_(std::move(identity)),
      connect_timeout_(connect_timeout),
      queue_(queue),
      bulk_wanted_(bulk),
      next_id_(random_start()) {
  oldest_live_id_ = next_id_;
  reset();
}

RpcClient::~RpcClient() = default;

void RpcClient::reset() {
  SocketOptions opts;
  opts.send_hwm = queue_;
  opts.recv_hwm = queue_;
  opts.immediate = true;
  opts.max_message_bytes = kMaxInboundBytes;
  watch_.reset();
  bulk_.reset();
  socket_ = make_socket(ctx_, zmq::socket_type::dealer, opts);
  watch_ = std::make_unique<ConnectionWatch>(ctx_, socket_.handle());
  connected_ = connect_to(socket_, endpoint_, server_key_, identity_.get());
  oldest_live_id_ = next_id_;
  in_flight_ = 0;
}

Result<uint64_t> RpcClient::send(Envelope&& request) {
  if (!connected_.is_ok()) return connected_;
  auto id = send_by_route(std::move(request));
  if (id.is_ok()) ++in_flight_;
  return id;
}

Result<uint64_t> RpcClient::send_by_route(Envelope&& request) {
  if (goes_bulk(request)) {
    auto now = std::chrono::steady_clock::now();
    if (bulk_ && (bulk_->watch->lost() || bulk_->watch->handshake_failure())) bulk_.reset();
    // The route changes only while nothing is in flight: a chunk's frames
    // must all reach the worker by one connection, and opening a session
    // would discard the replies on their way.
    if (bulk_ && in_flight_ == 0 && now - bulk_->used > kBulkRenewAfter) bulk_.reset();
    if (!bulk_ && in_flight_ == 0) DFS_RETURN_IF_ERROR(open_bulk());
    if (bulk_) return send_bulk(std::move(request), next_id_++);
  }
  // Room at once, as nearly always: no poll (a system call) to find it.
  if (connected()) return send_as(std::move(request), next_id_++);
  uint64_t id = next_id_++;
  DFS_RETURN_IF_ERROR(wait_for_room(socket_, watch_.get()));
  return send_as(std::move(request), id);
}

Status RpcClient::wait_for_room(zmq::socket_t& socket, ConnectionWatch* watch) {
  // A send finds no room only while no connection is complete (or the HWM,
  // which the caller's window keeps clear, is full): wait for room, bounded.
  auto deadline = std::chrono::steady_clock::now() + connect_timeout_;
  while (true) {
    zmq::pollitem_t items[] = {{socket.handle(), 0, ZMQ_POLLOUT, 0},
                               {watch ? watch->handle() : nullptr, 0, ZMQ_POLLIN, 0}};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    try {
      zmq::poll(items, watch ? 2 : 1, std::max(left, std::chrono::milliseconds(0)));
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      return Status(Code::kUnavailable, endpoint_ + ": " + e.what());
    }
    if (items[0].revents & ZMQ_POLLOUT) return Status::ok();
    // Refused: no one listens there, so waiting out the timeout helps nobody.
    if (watch && (items[1].revents & ZMQ_POLLIN) && watch->refused()) {
      return Status(Code::kUnavailable, endpoint_ + " refused the connection");
    }
    if (watch && (items[1].revents & ZMQ_POLLIN)) {
      // libzmq will not dial again after a refused handshake: a fresh
      // socket lets the next request try again.
      if (auto failed = watch->handshake_failure()) {
        reset();
        return *failed;
      }
    }
    if (left.count() <= 0) {
      return Status(Code::kUnavailable, "cannot connect to " + endpoint_ + " within " +
                                            std::to_string(connect_timeout_.count()) + " ms");
    }
  }
}

bool RpcClient::goes_bulk(const Envelope& request) const {
  return bulk_wanted_ && process_security().secure() &&
         std::chrono::steady_clock::now() >= bulk_retry_at_ &&
         (request.header.type == MsgType::kWriteChunkFrame ||
          request.header.type == MsgType::kReadChunkRequest);
}

Status RpcClient::open_bulk() {
  auto rep = call<BulkSessionRequest, BulkSessionReply>(BulkSessionRequest{}, connect_timeout_);
  if (!rep.is_ok()) {
    Code c = rep.status().code();
    if (c == Code::kTimeout || c == Code::kUnavailable) return rep.status();
    // A worker without a bulk channel (or with no room for another
    // session): CURVE carries everything, as it can.
    spdlog::debug("{}: no bulk channel ({}); using CURVE alone for now", endpoint_,
                  rep.status().to_string());
    bulk_retry_at_ = std::chrono::steady_clock::now() + kBulkRetryAfter;
    return Status::ok();
  }
  SocketOptions opts;
  opts.send_hwm = queue_;
  opts.recv_hwm = queue_;
  opts.immediate = true;
  opts.max_message_bytes = kMaxInboundBytes;
  // Not CURVE: what goes on it is sealed by the session's key.
  zmq::socket_t socket = make_socket(ctx_, zmq::socket_type::dealer, opts);
  BulkSecret secret{rep->session, rep->key};
  // The bulk socket admits only connections that show they hold a session
  // (bus/bulk_sessions.h, BulkGate).
  socket.set(zmq::sockopt::plain_username, bulk_gate_username(secret.session));
  socket.set(zmq::sockopt::plain_password, bulk_gate_password(secret.key));
  auto watch = std::make_unique<ConnectionWatch>(ctx_, socket.handle());
  try {
    socket.connect(rep->endpoint);
  } catch (const zmq::error_t& e) {
    return Status(Code::kUnavailable,
                  "cannot connect to the bulk channel " + rep->endpoint + ": " + e.what());
  }
  bulk_ = std::make_unique<Bulk>(Bulk{std::move(socket), rep->session,
                                      BulkSealer(secret, BulkDirection::kToServer),
                                      BulkOpener(secret, BulkDirection::kToClient),
                                      std::chrono::steady_clock::now(), std::move(watch)});
  // A worker whose bulk port cannot be reached (a firewall) is spoken to
  // over CURVE, as one with no bulk channel is.
  if (!wait_for_room(bulk_->socket, nullptr).is_ok()) {
    spdlog::warn("{}: its bulk channel {} cannot be reached; using CURVE alone for now", endpoint_,
                 rep->endpoint);
    bulk_.reset();
    bulk_retry_at_ = std::chrono::steady_clock::now() + kBulkRetryAfter;
  }
  return Status::ok();
}

Result<uint64_t> RpcClient::send_bulk(Envelope&& request, uint64_t id) {
  request.header.request_id = id;
  auto frames = envelope_frames(std::move(request), Framing::kPlain);
  DFS_RETURN_IF_ERROR(bulk_->out.seal(&frames));
  bulk_->used = std::chrono::steady_clock::now();
  bool room = false;
  try {
    room = (bulk_->socket.get(zmq::sockopt::events) & ZMQ_POLLOUT) != 0;
  } catch (const zmq::error_t&) {
  }
  if (!room) {
    Status s = wait_for_room(bulk_->socket, nullptr);
    if (!s.is_ok()) {
      bulk_.reset();  // the next request opens a new session, or falls back to CURVE
      // wait_for_room names the data endpoint; it was the bulk channel that failed.
      return Status(s.code(), "cannot reach the bulk channel of " + endpoint_ + " within " +
                                  std::to_string(connect_timeout_.count()) + " ms");
    }
  }
  Status s = send_frames(bulk_->socket, frames, /*dontwait=*/true);
  if (!s.is_ok()) return Status(Code::kUnavailable, endpoint_ + " (bulk): " + s.message());
  return id;
}

std::optional<Result<Envelope>> RpcClient::take_bulk() {
  std::vector<zmq::message_t> frames;
  try {
    if (!zmq::recv_multipart(bulk_->socket, std::back_inserter(frames),
                             zmq::recv_flags::dontwait)) {
      return std::nullopt;
    }
  } catch (const zmq::error_t&) {
    return std::nullopt;
  }
  if (auto forgot = bulk_unknown_session_of(frames)) {
    if (*forgot != bulk_->session) return std::nullopt;
    bulk_.reset();  // the next request opens another
    return Result<Envelope>(
        Status(Code::kUnavailable, endpoint_ + " no longer holds our bulk session"));
  }
  // Anything that does not open under our session's key is not from the worker.
  if (!bulk_->in.open(&frames).is_ok()) return std::nullopt;
  Envelope env;
  Status s = envelope_from_frames(std::move(frames), Framing::kPlain, &env);
  if (!s.is_ok()) return Result<Envelope>(s);
  return Result<Envelope>(std::move(env));
}

Result<uint64_t> RpcClient::send_now(Envelope&& request) {
  if (!connected()) return Status(Code::kUnavailable, "no connection to " + endpoint_);
  return send_as(std::move(request), next_id_++);
}

Result<uint64_t> RpcClient::send_as(Envelope&& request, uint64_t id) {
  request.header.request_id = id;
  Status s = send_envelope(socket_, Framing::kPlain, std::move(request), /*dontwait=*/true);
  if (!s.is_ok()) return Status(Code::kUnavailable, endpoint_ + ": " + s.message());
  return id;
}

bool RpcClient::connected() {
  try {
    return (socket_.get(zmq::sockopt::events) & ZMQ_POLLOUT) != 0;
  } catch (const zmq::error_t&) {
    return false;
  }
}

Result<Envelope> RpcClient::recv(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() < 0) left = std::chrono::milliseconds(0);
    zmq::pollitem_t items[] = {{socket_.handle(), 0, ZMQ_POLLIN, 0},
                               {watch_->handle(), 0, ZMQ_POLLIN, 0},
                               {bulk_ ? bulk_->socket.handle() : nullptr, 0, ZMQ_POLLIN, 0}};
    int n = 0;
    try {
      n = zmq::poll(items, bulk_ ? 3 : 2, left);
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      return Status(Code::kUnavailable, e.what());
    }
    if (bulk_ && (items[2].revents & ZMQ_POLLIN)) {
      auto got = take_bulk();
      if (!got) {
        // Messages that do not open must not hold off the timeout.
        if (std::chrono::steady_clock::now() >= deadline) {
          return Status(Code::kTimeout, endpoint_ + " did not answer within " +
                                            std::to_string(timeout.count()) + " ms");
        }
        continue;
      }
      if (!got->is_ok()) return got->status();
      Envelope env = std::move(*got).value();
      if (env.header.request_id < oldest_live_id_ || env.header.request_id >= next_id_) continue;
      if (in_flight_ > 0) --in_flight_;
      return env;
    }
    // Replies that arrived before the connection dropped are still read.
    if (!(items[0].revents & ZMQ_POLLIN) && (items[1].revents & ZMQ_POLLIN)) {
      if (watch_->lost()) {
        // A worker that went away took its sessions with it (and may come
        // back on another bulk port): the next request opens a new one.
        bulk_.reset();
        return Status(Code::kUnavailable, endpoint_ + " closed the connection");
      }
      continue;
    }
    if (n == 0) {
      return Status(Code::kTimeout, endpoint_ + " did not answer within " +
                                        std::to_string(timeout.count()) + " ms");
    }
    Envelope env;
    Status s = recv_envelope(socket_, Framing::kPlain, &env);
    if (s.code() == Code::kTimeout) continue;
    if (!s.is_ok()) return s;
    if (env.header.request_id < oldest_live_id_ || env.header.request_id >= next_id_) continue;
    if (in_flight_ > 0) --in_flight_;
    return env;
  }
}

Result<Envelope> RpcClient::call(Envelope&& request, std::chrono::milliseconds timeout) {
  auto id = send(std::move(request));
  if (!id.is_ok()) return id.status();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    auto env = recv(std::max(left, std::chrono::milliseconds(0)));
    if (!env.is_ok()) {
      if (env.status().code() != Code::kTimeout) return env.status();
      reset();
      return Status(Code::kTimeout, endpoint_ + " did not answer within " +
                                        std::to_string(timeout.count()) + " ms");
    }
    if (env->header.request_id == id.value()) return env;
  }
}

}  // namespace dfs
