#include "client/master_pipeline.h"

#include "bus/security.h"

#include <algorithm>

namespace dfs {
namespace {

constexpr size_t kMaxMasters = 16;  // configured plus learned from hints
constexpr auto kConnectWait = std::chrono::milliseconds(2000);

std::chrono::milliseconds until(MasterPipeline::Clock::time_point t,
                                MasterPipeline::Clock::time_point now) {
  if (t <= now) return std::chrono::milliseconds(0);
  // Rounded up: waking a little late costs nothing, waking early spins.
  return std::chrono::ceil<std::chrono::milliseconds>(t - now);
}

}  // namespace

MasterPipeline::MasterPipeline(zmq::context_t& ctx, const std::vector<HostPort>& masters,
                               std::chrono::milliseconds timeout,
                               std::shared_ptr<const KeyPair> identity)
    : ctx_(ctx), timeout_(timeout), identity_(std::move(identity)), rng_(std::random_device{}()) {
  for (const auto& m : masters) add_master(master_api(m));
}

void MasterPipeline::add_master(const std::string& endpoint) {
  endpoints_.push_back(endpoint);
  masters_.emplace_back();  // dialed when first needed
  unanswered_.push_back(0);
  broken_handshakes_.push_back(0);
}

RpcClient& MasterPipeline::dial(size_t i) {
  if (!masters_[i]) {
    // A master missing from the keyring gets no key: its handshake fails and
    // the request says why (the CLI checks the --masters list up front).
    auto key = process_security().master_key(endpoints_[i]);
    masters_[i] =
        std::make_unique<RpcClient>(ctx_, endpoints_[i], key.is_ok() ? key.value() : "",
                                    std::min(timeout_, kConnectWait), kSocketQueue, identity_);
  }
  return *masters_[i];
}

bool MasterPipeline::connected(size_t i) const { return masters_[i] && masters_[i]->connected(); }

size_t MasterPipeline::dialed() const {
  return static_cast<size_t>(
      std::count_if(masters_.begin(), masters_.end(), [](const auto& m) { return m != nullptr; }));
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
  if (endpoints_.empty()) {
    finish(key, Status(Code::kUnavailable, "no masters configured"));
    return;
  }
  dispatch(key, now);
}

bool MasterPipeline::follow(const std::string& endpoint) {
  for (size_t i = 0; i < endpoints_.size(); ++i) {
    if (endpoints_[i] == endpoint) {
      current_ = i;
      return true;
    }
  }
  if (endpoints_.size() >= kMaxMasters) return false;
  // A leader this process has no key for cannot be reached securely.
  if (!process_security().master_key(endpoint).is_ok()) return false;
  add_master(endpoint);
  try {
    dial(endpoints_.size() - 1);
  } catch (const zmq::error_t&) {
    endpoints_.pop_back();  // a hint that is no endpoint
    masters_.pop_back();
    unanswered_.pop_back();
    broken_handshakes_.pop_back();
    return false;
  }
  current_ = endpoints_.size() - 1;
  return true;
}

std::chrono::milliseconds MasterPipeline::backoff(int round) {
  // From 25 ms doubling to 400 ms, jittered so that clients that failed
  // together do not come back together.
  int64_t base = 25ll << std::min(round, 4);
  return std::chrono::milliseconds(base / 2 + static_cast<int64_t>(rng_() % base));
}

void MasterPipeline::dispatch(uint64_t key, Clock::time_point now) {
  Request& r = requests_.at(key);
  size_t m = r.pin != kNoMaster ? r.pin : current_;
  dial(m);
  if (!connected(m) && r.pin == kNoMaster && r.state == State::kNeedConnection &&
      now >= r.dial_others_at) {
    // Only the master a request goes to is dialed at first: a process that
    // asks one question (the CLI) makes one CURVE handshake, not one per
    // master. A request that waited too long for it dials the rest and
    // takes whichever is up (before then it waits for its own: a master
    // dialed a moment ago is not yet connected, and one that is may be the
    // master just given up on).
    for (size_t i = 0; i < endpoints_.size(); ++i) {
      dial(i);
      if (!connected(m) && connected(i)) m = i;
    }
  }
  if (!connected(m)) {
    if (auto refused = masters_[m]->handshake_failure()) {
      constexpr int kBrokenHandshakesTold = 3;
      bool final = masters_[m]->handshake_failure_is_final() ||
                   ++broken_handshakes_[m] >= kBrokenHandshakesTold;
      masters_[m]->reset();  // dialed afresh for later requests
      // A master that refused our key, or speaks the other security mode,
      // will not change its mind by waiting: said at once.
      if (final) {
        unsend(r);
        finish(key, Status(refused->code(), "master " + refused->message()));
        return;
      }
      // Broken off with no reason given: a master killed mid-handshake looks
      // the same. Another master may lead; the message stays if none does.
      if (current_ == m) current_ = (m + 1) % endpoints_.size();
      retry(key, Status(refused->code(), "master " + refused->message()), now);
      return;
    }
    // No connection is up (yet): wait for one, bounded, then count the
    // current master as unreachable and go on to the next.
    if (r.state != State::kNeedConnection) {
      r.state = State::kNeedConnection;
      r.dial_others_at = now + kDialOthersAfter;
      r.connect_deadline =
          now + std::min({std::chrono::duration_cast<Clock::duration>(kConnectWait),
                          std::chrono::duration_cast<Clock::duration>(timeout_), r.deadline - now});
    }
    if (now < r.connect_deadline) return;
    Status why(Code::kUnavailable,
               "master " + masters_[m]->endpoint() + " unreachable: cannot connect within " +
                   std::to_string(std::min(kConnectWait, timeout_).count()) + " ms");
    if (current_ == m) current_ = (m + 1) % endpoints_.size();
    retry(key, why, now);
    return;
  }
  current_ = m;
  if (unanswered_[m] >= kMaxInFlightPerMaster) {
    r.state = State::kNeedRoom;  // sent when an answer frees a place
    return;
  }
  Envelope copy;
  copy.header = r.envelope.header;
  copy.body = r.envelope.body;
  auto id = masters_[m]->send_now(std::move(copy));
  if (!id.is_ok()) {
    Status why(id.status().code(),
               "master " + masters_[m]->endpoint() + " unreachable: " + id.status().message());
    current_ = (m + 1) % endpoints_.size();
    retry(key, why, now);
    return;
  }
  r.state = State::kSent;
  r.master = m;
  r.wire_id = id.value();
  r.attempt_deadline =
      now + std::min(std::chrono::duration_cast<Clock::duration>(timeout_), r.deadline - now);
  by_wire_[{m, r.wire_id}] = key;
  ++unanswered_[m];
}

void MasterPipeline::unsend(Request& r) {
  if (r.state != State::kSent) return;
  by_wire_.erase({r.master, r.wire_id});
  --unanswered_[r.master];
  r.state = State::kPaused;
}

void MasterPipeline::retry(uint64_t key, Status why, Clock::time_point now, bool at_once) {
  Request& r = requests_.at(key);
  unsend(r);
  r.last = std::move(why);
  r.pin = at_once ? current_ : kNoMaster;  // after a hint, current_ is the master it named
  if (now >= r.deadline) {
    finish(key, give_up(r));
    return;
  }
  if (at_once) {
    r.attempt = 0;
    r.not_before = now;
    dispatch(key, now);
    return;
  }
  auto pause = backoff(r.attempt++);
  if (now + pause >= r.deadline) {
    finish(key, give_up(r));
    return;
  }
  r.state = State::kPaused;
  r.not_before = now + pause;
}

void MasterPipeline::on_reply(size_t master, Envelope&& reply, Clock::time_point now) {
  auto wire = by_wire_.find({master, reply.header.request_id});
  if (wire == by_wire_.end()) return;  // an attempt given up on
  uint64_t key = wire->second;
  broken_handshakes_[master] = 0;
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
    if (!err->leader.empty() && err->leader != masters_[master]->endpoint() &&
        follow(err->leader)) {
      retry(key, err->to_status(), now, /*at_once=*/true);  // a fresh hint: go at once
      return;
    }
    if (current_ == master) current_ = (current_ + 1) % endpoints_.size();
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
  unsend(r);
  if (r.session != kNoSession) free_sessions_.push_back(r.session);
  finished_.emplace_back(std::move(r.done), std::move(outcome));
  requests_.erase(it);
}

size_t MasterPipeline::run_finished() {
  // Moved out first: a `done` may submit (and even poll) again.
  auto done = std::move(finished_);
  finished_.clear();
  for (auto& [fn, outcome] : done) {
    if (fn) fn(std::move(outcome));
  }
  return done.size();
}

size_t MasterPipeline::poll(std::chrono::milliseconds wait) {
  const auto give_back = Clock::now() + wait;
  std::vector<zmq::pollitem_t> items;
  std::vector<size_t> polled;  // the master of each item: only those dialed
  while (true) {
    auto now = Clock::now();
    bool need_connection = false;
    for (auto it = requests_.begin(); it != requests_.end();) {
      uint64_t key = it->first;
      Request& r = it->second;
      ++it;  // retry and finish touch only `key`
      switch (r.state) {
        case State::kSent: {
          if (now < r.attempt_deadline) break;
          size_t master = r.master;
          RpcClient& m = *masters_[master];
          Status why(Code::kTimeout, "master " + m.endpoint() + " unreachable: " + m.endpoint() +
                                         " did not answer within " +
                                         std::to_string(timeout_.count()) + " ms");
          if (current_ == master) current_ = (current_ + 1) % endpoints_.size();
          retry(key, why, now);
          // Rebuilt when nothing else waits on it, so the unanswered request
          // cannot reach the master later.
          if (unanswered_[master] == 0) m.reset();
          break;
        }
        case State::kPaused:
        case State::kNeedConnection:
        case State::kNeedRoom:
          if (now >= r.deadline) {
            finish(key, give_up(r));
          } else if (now >= r.not_before) {
            dispatch(key, now);
            auto again = requests_.find(key);
            if (again != requests_.end() && again->second.state == State::kNeedConnection) {
              need_connection = true;
            }
          }
          break;
      }
    }
    if (!finished_.empty()) return run_finished();
    // Sleep until the next timer, an answer, or (while a request waits for
    // one) a connection; at least one look at the sockets even when `wait`
    // is zero.
    const bool last_look = now >= give_back;
    auto next = give_back;
    for (const auto& [key, r] : requests_) {
      switch (r.state) {
        case State::kSent:
          next = std::min(next, r.attempt_deadline);
          break;
        case State::kPaused:
          next = std::min(next, r.not_before);
          break;
        case State::kNeedConnection:
          // Once passed, the others are dialed: a past time would spin.
          if (r.dial_others_at > now) next = std::min(next, r.dial_others_at);
          next = std::min({next, r.connect_deadline, r.deadline});
          break;
        case State::kNeedRoom:
          next = std::min(next, r.deadline);  // an answer wakes it sooner
          break;
      }
    }
    items.clear();
    polled.clear();
    for (size_t i = 0; i < masters_.size(); ++i) {
      if (!masters_[i]) continue;
      short events = ZMQ_POLLIN;
      if (need_connection) events |= ZMQ_POLLOUT;
      items.push_back({masters_[i]->handle(), 0, events, 0});
      polled.push_back(i);
    }
    try {
      zmq::poll(items.data(), items.size(),
                last_look ? std::chrono::milliseconds(0) : until(next, now));
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) return run_finished();
      continue;
    }
    now = Clock::now();
    for (size_t k = 0; k < items.size(); ++k) {
      if (!(items[k].revents & ZMQ_POLLIN)) continue;
      while (true) {
        auto reply = masters_[polled[k]]->recv(std::chrono::milliseconds(0));
        if (!reply.is_ok()) break;
        on_reply(polled[k], std::move(reply.value()), now);
      }
    }
    if (last_look || !finished_.empty()) return run_finished();
  }
}

}  // namespace dfs
