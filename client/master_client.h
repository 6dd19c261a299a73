// Requests to the masters, one at a time, with the retries that make a
// master's failure invisible to the caller (see MasterPipeline, which does
// the work: redirects, pauses, exactly-once sessions). Not thread-safe: one
// MasterClient per thread.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <vector>

#include "client/master_pipeline.h"

namespace dfs {

class MasterClient {
 public:
  MasterClient(zmq::context_t& ctx, const std::vector<HostPort>& masters,
               std::chrono::milliseconds timeout, std::shared_ptr<const KeyPair> identity = nullptr)
      : pipeline_(ctx, masters, timeout, std::move(identity)), timeout_(timeout) {}

  template <typename Req, typename Rep>
  Result<Rep> call(Req req) {
    auto env = exchange(std::move(req));
    if (!env.is_ok()) return env.status();
    return decode_reply<Rep>(env.value());
  }

  // The reply as it came (an ErrorReply included), or why there is none.
  template <typename Req>
  Result<Envelope> exchange(Req req) {
    // Shared with the callback, so that it has somewhere to write even if
    // poll() throws and the request outlives this call.
    auto answer = std::make_shared<std::optional<Result<Envelope>>>();
    pipeline_.submit(std::move(req),
                     [answer](Result<Envelope> r) { answer->emplace(std::move(r)); });
    // Every request ends by its own deadline; the bound here only keeps
    // the loop from waiting longer than one request can take.
    while (!answer->has_value()) pipeline_.poll(3 * timeout_);
    return std::move(**answer);
  }

 private:
  MasterPipeline pipeline_;
  std::chrono::milliseconds timeout_;
};

}  // namespace dfs
