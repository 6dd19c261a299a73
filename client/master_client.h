// Requests to the masters, with the retries that make a master's failure
// invisible to the caller. A request goes to the master believed to lead; a
// NOT_LEADER answer names the leader (followed and remembered) or sends the
// request to the next master after a jittered pause, as does BUSY, a
// timeout or an unreachable master, until twice the per-request timeout has
// passed.
//
// Every request may be repeated: reads change nothing, and each mutation
// carries this client's id and its own sequence number, so the masters apply
// it once and answer a repeat with the original outcome (a retried `mv`
// whose first attempt succeeded succeeds, rather than finding no source).
// Not thread-safe: one MasterClient per thread, one request at a time.
#pragma once

#include <chrono>
#include <memory>
#include <random>
#include <vector>

#include "bus/endpoints.h"
#include "bus/rpc_client.h"

namespace dfs {

class MasterClient {
 public:
  MasterClient(zmq::context_t& ctx, const std::vector<HostPort>& masters,
               std::chrono::milliseconds timeout);

  template <typename Req, typename Rep>
  Result<Rep> call(Req req) {
    bool mutation = false;
    if constexpr (requires { req.session; }) {
      req.session = RequestSession{client_id_, ++seq_};
      mutation = true;
    }
    auto env = call_envelope(make_envelope(req), mutation);
    if (!env.is_ok()) return env.status();
    return decode_reply<Rep>(env.value());
  }

  uint64_t client_id() const { return client_id_; }

 private:
  Result<Envelope> call_envelope(Envelope&& req, bool mutation);
  // Makes the master whose api is `endpoint` the current one, adding it
  // when it is not among those configured.
  void follow(const std::string& endpoint);
  std::chrono::milliseconds backoff(int round);
  // Makes current_ a master whose connection is up, preferring the current
  // one, waiting at most `wait` for any: a dead master first in the list
  // then costs nothing (every process of the CLI starts from the list).
  void prefer_connected(std::chrono::milliseconds wait);

  zmq::context_t& ctx_;
  std::vector<std::unique_ptr<RpcClient>> masters_;
  size_t current_ = 0;
  std::chrono::milliseconds timeout_;
  std::mt19937_64 rng_;
  uint64_t client_id_ = 0;
  uint64_t seq_ = 0;
};

}  // namespace dfs
