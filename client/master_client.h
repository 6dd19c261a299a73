// Requests to the masters. Tries each configured master in turn until one
// answers within the per-attempt timeout, following a NOT_LEADER hint. Only
// requests that are safe to repeat are sent to a second master after a
// timeout; a mutation that timed out is reported, since it may have applied.
// Not thread-safe: one MasterClient per thread.
#pragma once

#include <chrono>
#include <memory>
#include <vector>

#include "bus/endpoints.h"
#include "bus/rpc_client.h"

namespace dfs {

class MasterClient {
 public:
  MasterClient(zmq::context_t& ctx, const std::vector<HostPort>& masters,
               std::chrono::milliseconds timeout);

  template <typename Req, typename Rep>
  Result<Rep> call(const Req& req, bool idempotent) {
    auto env = call_envelope(make_envelope(req), idempotent);
    if (!env.is_ok()) return env.status();
    return decode_reply<Rep>(env.value());
  }

 private:
  Result<Envelope> call_envelope(Envelope&& req, bool idempotent);

  zmq::context_t& ctx_;
  std::vector<std::unique_ptr<RpcClient>> masters_;
  size_t current_ = 0;
  std::chrono::milliseconds timeout_;
};

}  // namespace dfs
