#include "client/master_client.h"

#include <thread>

namespace dfs {
namespace {
constexpr size_t kMaxMasters = 16;  // configured plus learned from hints
}

MasterClient::MasterClient(zmq::context_t& ctx, const std::vector<HostPort>& masters,
                           std::chrono::milliseconds timeout)
    : ctx_(ctx), timeout_(timeout), rng_(std::random_device{}()) {
  for (const auto& m : masters) {
    masters_.push_back(std::make_unique<RpcClient>(
        ctx_, master_api(m), std::min(timeout_, std::chrono::milliseconds(2000))));
  }
  while (client_id_ == 0) client_id_ = rng_();
}

void MasterClient::follow(const std::string& endpoint) {
  for (size_t i = 0; i < masters_.size(); ++i) {
    if (masters_[i]->endpoint() == endpoint) {
      current_ = i;
      return;
    }
  }
  if (masters_.size() >= kMaxMasters) return;
  masters_.push_back(std::make_unique<RpcClient>(
      ctx_, endpoint, std::min(timeout_, std::chrono::milliseconds(2000))));
  current_ = masters_.size() - 1;
}

void MasterClient::prefer_connected(std::chrono::milliseconds wait) {
  std::vector<zmq::pollitem_t> items;
  for (auto& m : masters_) items.push_back({m->handle(), 0, ZMQ_POLLOUT, 0});
  try {
    if (zmq::poll(items.data(), items.size(), wait) <= 0) return;
  } catch (const zmq::error_t&) {
    return;
  }
  if (items[current_].revents & ZMQ_POLLOUT) return;
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].revents & ZMQ_POLLOUT) {
      current_ = i;
      return;
    }
  }
}

std::chrono::milliseconds MasterClient::backoff(int round) {
  // From 25 ms doubling to 400 ms, jittered so that clients that failed
  // together do not come back together.
  int64_t base = 25ll << std::min(round, 4);
  return std::chrono::milliseconds(base / 2 + static_cast<int64_t>(rng_() % base));
}

Result<Envelope> MasterClient::call_envelope(Envelope&& req, bool mutation) {
  if (masters_.empty()) return Status(Code::kUnavailable, "no masters configured");
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + 2 * timeout_;
  Status last;
  std::string no_leader;  // what a master that does not lead said, if one did
  auto give_up = [&] {
    if (no_leader.empty()) return last;
    std::string also = last.message() == no_leader ? "" : "; then " + last.message();
    return Status(Code::kUnavailable,
                  "no master is leading (is a majority of them down?): " + no_leader + also +
                      (mutation ? "; a leader that took the request may still apply it" : ""));
  };
  for (int round = 0;; ++round) {
    if (round > 0) {
      auto pause = backoff(round - 1);
      if (Clock::now() + pause >= deadline) return give_up();
      std::this_thread::sleep_for(pause);
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return give_up();
    if (masters_.size() > 1) prefer_connected(std::min(left, std::chrono::milliseconds(2000)));
    RpcClient& m = *masters_[current_];
    Envelope copy;
    copy.header = req.header;
    copy.body = req.body;
    auto reply = m.call(std::move(copy), std::min(timeout_, left));
    if (!reply.is_ok()) {
      last = Status(reply.status().code(),
                    "master " + m.endpoint() + " unreachable: " + reply.status().message());
      current_ = (current_ + 1) % masters_.size();
      continue;
    }
    if (reply->header.type != MsgType::kErrorReply) return reply;
    auto err = decode<ErrorReply>(reply->body);
    if (!err.is_ok()) return reply;
    Code code = static_cast<Code>(err->code);
    if (code == Code::kNotLeader) {
      last = err->to_status();
      no_leader = err->message;
      if (!err->leader.empty() && err->leader != m.endpoint()) {
        follow(err->leader);
        round = -1;  // a fresh hint: go at once
      } else {
        current_ = (current_ + 1) % masters_.size();
      }
      continue;
    }
    if (code == Code::kBusy || code == Code::kTimeout) {
      last = err->to_status();  // ask again: the outcome, if any, is kept
      continue;
    }
    return reply;
  }
}

}  // namespace dfs
