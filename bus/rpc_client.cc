#include "bus/rpc_client.h"

#include <random>

namespace dfs {
namespace {

// Request ids start at a random point so a reply meant for a previous process
// that used the same routing id is not mistaken for ours.
uint64_t random_start() {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 20) + 1;
}

}  // namespace

RpcClient::RpcClient(zmq::context_t& ctx, std::string endpoint, std::string server_key,
                     std::chrono::milliseconds connect_timeout, int queue,
                     std::shared_ptr<const KeyPair> identity)
    : ctx_(ctx),
      endpoint_(std::move(endpoint)),
      server_key_(std::move(server_key)),
      identity_(std::move(identity)),
      connect_timeout_(connect_timeout),
      queue_(queue),
      next_id_(random_start()) {
  oldest_live_id_ = next_id_;
  reset();
}

void RpcClient::reset() {
  SocketOptions opts;
  opts.send_hwm = queue_;
  opts.recv_hwm = queue_;
  opts.immediate = true;
  opts.max_message_bytes = kMaxInboundBytes;
  watch_.reset();
  socket_ = make_socket(ctx_, zmq::socket_type::dealer, opts);
  watch_ = std::make_unique<ConnectionWatch>(ctx_, socket_.handle());
  connected_ = connect_to(socket_, endpoint_, server_key_, identity_.get());
  oldest_live_id_ = next_id_;
}

Result<uint64_t> RpcClient::send(Envelope&& request) {
  if (!connected_.is_ok()) return connected_;
  // Room at once, as nearly always: no poll (a system call) to find it.
  if (connected()) return send_as(std::move(request), next_id_++);
  uint64_t id = next_id_++;
  // A send finds no room only while no connection is complete (or the HWM,
  // which the caller's window keeps clear, is full): wait for room, bounded.
  auto deadline = std::chrono::steady_clock::now() + connect_timeout_;
  while (true) {
    zmq::pollitem_t items[] = {{socket_.handle(), 0, ZMQ_POLLOUT, 0},
                               {watch_->handle(), 0, ZMQ_POLLIN, 0}};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    try {
      zmq::poll(items, 2, std::max(left, std::chrono::milliseconds(0)));
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      return Status(Code::kUnavailable, endpoint_ + ": " + e.what());
    }
    if (items[0].revents & ZMQ_POLLOUT) break;
    // Refused: no one listens there, so waiting out the timeout helps nobody.
    if ((items[1].revents & ZMQ_POLLIN) && watch_->refused()) {
      return Status(Code::kUnavailable, endpoint_ + " refused the connection");
    }
    if (items[1].revents & ZMQ_POLLIN) {
      // libzmq will not dial again after a refused handshake: a fresh
      // socket lets the next request try again.
      if (auto failed = watch_->handshake_failure()) {
        reset();
        return *failed;
      }
    }
    if (left.count() <= 0) {
      return Status(Code::kUnavailable, "cannot connect to " + endpoint_ + " within " +
                                            std::to_string(connect_timeout_.count()) + " ms");
    }
  }
  return send_as(std::move(request), id);
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
                               {watch_->handle(), 0, ZMQ_POLLIN, 0}};
    int n = 0;
    try {
      n = zmq::poll(items, 2, left);
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      return Status(Code::kUnavailable, e.what());
    }
    // Replies that arrived before the connection dropped are still read.
    if (!(items[0].revents & ZMQ_POLLIN) && (items[1].revents & ZMQ_POLLIN)) {
      if (watch_->lost()) {
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
