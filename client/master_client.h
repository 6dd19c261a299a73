// Requests to the masters, one at a time, with the retries that make a
// master's failure invisible to the caller (see MasterPipeline, which does
// the work: redirects, pauses, exactly-once sessions). Not thread-safe: one
// MasterClient per thread.
#pragma once

#include <chrono>
#include <vector>

#include "client/master_pipeline.h"

namespace dfs {

class MasterClient {
 public:
  MasterClient(zmq::context_t& ctx, const std::vector<HostPort>& masters,
               std::chrono::milliseconds timeout)
      : pipeline_(ctx, masters, timeout), timeout_(timeout) {}

  template <typename Req, typename Rep>
  Result<Rep> call(Req req) {
    auto env = exchange(std::move(req));
    if (!env.is_ok()) return env.status();
    return decode_reply<Rep>(env.value());
  }

  // The reply as it came (an ErrorReply included), or why there is none.
  template <typename Req>
  Result<Envelope> exchange(Req req) {
    Result<Envelope> out = Status(Code::kTimeout, "no answer");
    bool answered = false;
    pipeline_.submit(std::move(req), [&](Result<Envelope> r) {
      out = std::move(r);
      answered = true;
    });
    // Every request ends by its own deadline; the bound here only keeps
    // the loop from waiting longer than one request can take.
    while (!answered) pipeline_.poll(3 * timeout_);
    return out;
  }

 private:
  MasterPipeline pipeline_;
  std::chrono::milliseconds timeout_;
};

}  // namespace dfs
