// Many requests in flight to the masters at once, over one connection per
// master, each retried and redirected on its own: the engine under
// MasterClient (one request at a time) and under anything that keeps many
// metadata requests going from one thread (meta_bench, gateways).
//
// Each request goes to the master believed to lead. A NOT_LEADER answer names
// the leader (followed and remembered for every later request) or moves the
// request to the next master after a jittered pause, as do BUSY, a timeout
// and an unreachable master, until twice the per-request timeout has passed.
// Replies are matched to requests by id, so one slow request holds up no
// other, and a reply to an attempt given up on is dropped.
//
// Every request may be repeated: reads change nothing, and each mutation
// carries a session (client id, sequence) that the masters apply once,
// answering a repeat with the original outcome. A session serves one
// mutation at a time, so the pipeline keeps a pool: a mutation takes a free
// session for all its attempts and returns it when done. A pipeline that
// never has two mutations in flight uses one client id for its whole life.
//
// Not thread-safe: one pipeline per thread; `done` runs inside poll().
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "bus/endpoints.h"
#include "bus/rpc_client.h"

namespace dfs {

class MasterPipeline {
 public:
  using Clock = std::chrono::steady_clock;
  // The reply (anything but a NOT_LEADER, BUSY or TIMEOUT error, which are
  // retried), or why there is none.
  using Done = std::function<void(Result<Envelope>)>;

  // `identity`: the key pair to present (null: the process's own).
  MasterPipeline(zmq::context_t& ctx, const std::vector<HostPort>& masters,
                 std::chrono::milliseconds timeout,
                 std::shared_ptr<const KeyPair> identity = nullptr);

  template <typename Req>
  void submit(Req req, Done done) {
    if constexpr (requires { req.session; }) {
      size_t slot = take_session();
      req.session = RequestSession{sessions_[slot].client, ++sessions_[slot].seq};
      start(make_envelope(req), std::move(done), slot);
    } else {
      start(make_envelope(req), std::move(done), kNoSession);
    }
  }

  // Waits at most `wait` for at least one request to finish, running the
  // `done` of every request that finished; returns how many did.
  size_t poll(std::chrono::milliseconds wait);

  // Requests whose `done` has not run yet.
  size_t in_flight() const { return requests_.size() + finished_.size(); }
  // Masters connected to or being dialed (the others are dialed when needed).
  size_t dialed() const;

 private:
  static constexpr size_t kNoSession = ~size_t{0};
  static constexpr size_t kNoMaster = ~size_t{0};
  struct Session {
    uint64_t client = 0;
    uint64_t seq = 0;
  };
  enum class State {
    kSent,            // waiting for the answer to attempt_deadline
    kPaused,          // waiting for not_before
    kNeedConnection,  // no master to send to is connected: waiting to connect_deadline
    kNeedRoom,        // its master has kMaxInFlightPerMaster unanswered: waiting for one
  };
  struct Request {
    Envelope envelope;  // as first sent; each attempt sends a copy
    Done done;
    size_t session = kNoSession;
    Clock::time_point deadline;  // give up here
    int attempt = 0;             // attempts since the last fresh leader hint
    // Just redirected by a leader hint: the master it named, the only one
    // to send to (falling back to any connected one would often be the
    // master that sent the hint, and the two would bounce the request with
    // no pause). kNoMaster otherwise.
    size_t pin = kNoMaster;
    State state = State::kPaused;
    Clock::time_point not_before;
    Clock::time_point attempt_deadline;
    Clock::time_point connect_deadline;
    Clock::time_point dial_others_at;  // kNeedConnection: when to dial every master
    size_t master = 0;                 // kSent: where
    uint64_t wire_id = 0;              // kSent: the id its answer carries
    Status last;                       // the latest failure, for the final message
    std::string no_leader;             // what a master that does not lead said
  };
  // Above this many unanswered requests on one master, more wait here: the
  // socket's queue is larger still, so a full queue never passes for a
  // lost connection.
  static constexpr size_t kMaxInFlightPerMaster = 256;
  // How long a request waits for the one master dialed before all are.
  static constexpr std::chrono::milliseconds kDialOthersAfter{150};
  static constexpr int kSocketQueue = 1024;

  void start(Envelope&& envelope, Done done, size_t session);
  size_t take_session();
  // Sends request `key` now if a master can take it, else leaves it waiting.
  void dispatch(uint64_t key, Clock::time_point now);
  void on_reply(size_t master, Envelope&& reply, Clock::time_point now);
  // The attempt failed with `why`; try again after a pause (at once after a
  // leader hint), or give up.
  void retry(uint64_t key, Status why, Clock::time_point now, bool at_once = false);
  void finish(uint64_t key, Result<Envelope> outcome);
  // Forgets that request `r` is on the wire.
  void unsend(Request& r);
  size_t run_finished();
  Status give_up(const Request& r) const;
  // Makes the master whose api is `endpoint` the current one, adding it
  // when it is not among those configured; false if it cannot be.
  bool follow(const std::string& endpoint);
  std::chrono::milliseconds backoff(int round);
  void add_master(const std::string& endpoint);  // known, not dialed
  RpcClient& dial(size_t i);                     // its connection, made if need be
  bool connected(size_t i) const;

  zmq::context_t& ctx_;
  std::vector<std::string> endpoints_;               // api endpoints, configured then learned
  std::vector<std::unique_ptr<RpcClient>> masters_;  // null until dialed
  std::vector<size_t> unanswered_;                   // per master: requests on the wire
  // Per master: handshakes broken off without a reason since it last
  // answered. A few in a row are a wrong key or the other mode, not a
  // master that died mid-handshake.
  std::vector<int> broken_handshakes_;
  size_t current_ = 0;
  std::chrono::milliseconds timeout_;
  std::shared_ptr<const KeyPair> identity_;
  std::mt19937_64 rng_;
  std::vector<Session> sessions_;
  std::vector<size_t> free_sessions_;
  uint64_t next_key_ = 1;
  std::map<uint64_t, Request> requests_;                     // by key, oldest first
  std::map<std::pair<size_t, uint64_t>, uint64_t> by_wire_;  // (master, wire id) -> key
  std::vector<std::pair<Done, Result<Envelope>>> finished_;  // done, not yet told
};

}  // namespace dfs
