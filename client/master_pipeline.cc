#include "client/master_pipeline.h"

#include <algorithm>

namespace dfs {
namespace {

constexpr size_t kMaxMasters = 16;  // configured plus learned from hints
constexpr size_t kNone = ~size_t{0};
constexpr auto kConnectWait = std::chrono::milliseconds(2000);

std::chrono::milliseconds until(MasterPipeline::Clock::time_point t,
                                MasterPipeline::Clock::time_point now) {
  if (t <= now) return std::chrono::milliseconds(0);
  // Rounded up: waking a little late costs nothing, waking early spins.
  return std::chrono::ceil<std::chrono::milliseconds>(t - now);
}

}  // namespace

MasterPipeline::MasterPipeline(zmq::context_t& ctx, const std::vector<HostPort>& masters,
                               std::chrono::milliseconds timeout)
    : ctx_(ctx), timeout_(timeout), rng_(std::random_device{}()) {
  for (const auto& m : masters) {
    masters_.push_back(
        std::make_unique<RpcClient>(ctx_, master_api(m), std::min(timeout_, kConnectWait)));
  }
}

size_t MasterPipeline::take_session() {
  if (free_sessions_.empty()) {
    Session s;
    while (s.client == 0) s.client = rng_();
    sessions_.push_back(s);
    return sessions_.size() - 1;
  }
  size_t slot = free_sessions_.back();
  free_sessions_.pop_back();
  return slot;
}

void MasterPipeline::start(Envelope&& envelope, Done done, size_t session) {
  uint64_t key = next_key_++;
  auto now = Clock::now();
  Request& r = requests_[key];
  r.envelope = std::move(envelope);
  r.done = std::move(done);
  r.session = session;
  r.deadline = now + 2 * timeout_;
  if (masters_.empty()) {
    finish(key, Status(Code::kUnavailable, "no masters configured"));
    return;
  }
  dispatch(key, now);
}

void MasterPipeline::follow(const std::string& endpoint) {
  for (size_t i = 0; i < masters_.size(); ++i) {
    if (masters_[i]->endpoint() == endpoint) {
      current_ = i;
      return;
    }
  }
  if (masters_.size() >= kMaxMasters) return;
  masters_.push_back(std::make_unique<RpcClient>(ctx_, endpoint, std::min(timeout_, kConnectWait)));
  current_ = masters_.size() - 1;
}

std::chrono::milliseconds MasterPipeline::backoff(int round) {
  // From 25 ms doubling to 400 ms, jittered so that clients that failed
  // together do not come back together.
  int64_t base = 25ll << std::min(round, 4);
  return std::chrono::milliseconds(base / 2 + static_cast<int64_t>(rng_() % base));
}

size_t MasterPipeline::ready_master() const {
  if (masters_[current_]->connected()) return current_;
  for (size_t i = 0; i < masters_.size(); ++i) {
    if (masters_[i]->connected()) return i;
  }
  return kNone;
}

void MasterPipeline::dispatch(uint64_t key, Clock::time_point now) {
  Request& r = requests_.at(key);
  size_t m = ready_master();
  if (m == kNone) {
    // No connection is up (yet): wait for one, bounded, then count the
    // current master as unreachable and go on to the next.
    if (r.connect_deadline == Clock::time_point{}) {
      r.connect_deadline =
          now + std::min({std::chrono::duration_cast<Clock::duration>(kConnectWait),
                          std::chrono::duration_cast<Clock::duration>(timeout_), r.deadline - now});
    }
    if (now < r.connect_deadline) return;
    r.connect_deadline = {};
    RpcClient& cur = *masters_[current_];
    Status why(Code::kUnavailable,
               "master " + cur.endpoint() + " unreachable: cannot connect within " +
                   std::to_string(std::min(kConnectWait, timeout_).count()) + " ms");
    current_ = (current_ + 1) % masters_.size();
    retry(key, why, now);
    return;
  }
  r.connect_deadline = {};
  current_ = m;
  Envelope copy;
  copy.header = r.envelope.header;
  copy.body = r.envelope.body;
  auto id = masters_[m]->send_now(std::move(copy));
  if (!id.is_ok()) {
    Status why(id.status().code(),
               "master " + masters_[m]->endpoint() + " unreachable: " + id.status().message());
    current_ = (m + 1) % masters_.size();
    retry(key, why, now);
    return;
  }
  r.sent = true;
  r.master = m;
  r.wire_id = id.value();
  r.attempt_deadline =
      now + std::min(std::chrono::duration_cast<Clock::duration>(timeout_), r.deadline - now);
  by_wire_[{m, r.wire_id}] = key;
}

void MasterPipeline::retry(uint64_t key, Status why, Clock::time_point now, bool at_once) {
  Request& r = requests_.at(key);
  if (r.sent) by_wire_.erase({r.master, r.wire_id});
  r.sent = false;
  r.last = std::move(why);
  if (at_once) {
    r.attempt = 0;
    dispatch(key, now);
    return;
  }
  auto pause = backoff(r.attempt++);
  if (now + pause >= r.deadline) {
    finish(key, give_up(r));
    return;
  }
  r.not_before = now + pause;
}

void MasterPipeline::on_reply(size_t master, Envelope&& reply, Clock::time_point now) {
  auto wire = by_wire_.find({master, reply.header.request_id});
  if (wire == by_wire_.end()) return;  // an attempt given up on
  uint64_t key = wire->second;
  if (reply.header.type != MsgType::kErrorReply) {
    finish(key, std::move(reply));
    return;
  }
  auto err = decode<ErrorReply>(reply.body);
  if (!err.is_ok()) {
    finish(key, std::move(reply));
    return;
  }
  Request& r = requests_.at(key);
  Code code = static_cast<Code>(err->code);
  if (code == Code::kNotLeader) {
    r.no_leader = err->message;
    if (!err->leader.empty() && err->leader != masters_[master]->endpoint()) {
      follow(err->leader);
      retry(key, err->to_status(), now, /*at_once=*/true);  // a fresh hint: go at once
      return;
    }
    if (current_ == master) current_ = (current_ + 1) % masters_.size();
    retry(key, err->to_status(), now);
    return;
  }
  if (code == Code::kBusy || code == Code::kTimeout) {
    retry(key, err->to_status(), now);  // ask again: the outcome, if any, is kept
    return;
  }
  finish(key, std::move(reply));
}

Status MasterPipeline::give_up(const Request& r) const {
  Status last = r.last;
  if (last.is_ok()) {
    last = Status(Code::kTimeout,
                  "no master answered within " + std::to_string(2 * timeout_.count()) + " ms");
  }
  if (r.no_leader.empty()) return last;
  std::string also = last.message() == r.no_leader ? "" : "; then " + last.message();
  bool mutation = r.session != kNoSession;
  return Status(Code::kUnavailable,
                "no master is leading (is a majority of them down?): " + r.no_leader + also +
                    (mutation ? "; a leader that took the request may still apply it" : ""));
}

void MasterPipeline::finish(uint64_t key, Result<Envelope> outcome) {
  auto it = requests_.find(key);
  Request& r = it->second;
  if (r.sent) by_wire_.erase({r.master, r.wire_id});
  if (r.session != kNoSession) free_sessions_.push_back(r.session);
  finished_.emplace_back(std::move(r.done), std::move(outcome));
  requests_.erase(it);
}

size_t MasterPipeline::poll(std::chrono::milliseconds wait) {
  const auto give_back = Clock::now() + wait;
  std::vector<zmq::pollitem_t> items;
  while (true) {
    auto now = Clock::now();
    bool awaiting_connection = false;
    for (auto it = requests_.begin(); it != requests_.end();) {
      uint64_t key = it->first;
      Request& r = it->second;
      ++it;  // retry and finish touch only `key`
      if (r.sent) {
        if (now < r.attempt_deadline) continue;
        RpcClient& m = *masters_[r.master];
        Status why(Code::kTimeout, "master " + m.endpoint() + " unreachable: " + m.endpoint() +
                                       " did not answer within " +
                                       std::to_string(timeout_.count()) + " ms");
        size_t master = r.master;
        if (current_ == master) current_ = (current_ + 1) % masters_.size();
        retry(key, why, now);
        // Rebuilt when nothing else waits on it, so the unanswered request
        // cannot reach the master later.
        bool others = std::any_of(by_wire_.begin(), by_wire_.end(),
                                  [&](const auto& w) { return w.first.first == master; });
        if (!others) m.reset();
      } else if (now >= r.deadline) {
        finish(key, give_up(r));
      } else if (now >= r.not_before) {
        dispatch(key, now);
        if (requests_.count(key) && !requests_.at(key).sent &&
            requests_.at(key).not_before <= now) {
          awaiting_connection = true;
        }
      }
    }
    if (!finished_.empty()) {
      auto done = std::move(finished_);
      finished_.clear();
      for (auto& [fn, outcome] : done) {
        if (fn) fn(std::move(outcome));
      }
      return done.size();
    }
    if (now >= give_back) return 0;
    auto next = give_back;
    for (const auto& [key, r] : requests_) {
      if (r.sent) {
        next = std::min(next, r.attempt_deadline);
      } else if (r.not_before > now) {
        next = std::min(next, r.not_before);
      } else {
        next = std::min({next, r.connect_deadline, r.deadline});
      }
    }
    items.clear();
    for (auto& m : masters_) {
      short events = ZMQ_POLLIN;
      if (awaiting_connection) events |= ZMQ_POLLOUT;
      items.push_back({m->handle(), 0, events, 0});
    }
    try {
      zmq::poll(items.data(), items.size(), until(next, now));
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) return 0;
      continue;
    }
    now = Clock::now();
    for (size_t i = 0; i < items.size(); ++i) {
      if (!(items[i].revents & ZMQ_POLLIN)) continue;
      while (true) {
        auto reply = masters_[i]->recv(std::chrono::milliseconds(0));
        if (!reply.is_ok()) break;
        on_reply(i, std::move(reply.value()), now);
      }
    }
  }
}

}  // namespace dfs
