#include "client/master_client.h"

namespace dfs {

MasterClient::MasterClient(zmq::context_t& ctx, const std::vector<HostPort>& masters,
                           std::chrono::milliseconds timeout)
    : ctx_(ctx), timeout_(timeout) {
  for (const auto& m : masters)
    masters_.push_back(std::make_unique<RpcClient>(ctx_, master_api(m)));
}

Result<Envelope> MasterClient::call_envelope(Envelope&& req, bool idempotent) {
  Status last(Code::kUnavailable, "no masters configured");
  for (size_t attempt = 0; attempt < masters_.size(); ++attempt) {
    RpcClient& m = *masters_[current_];
    Envelope copy;
    copy.header = req.header;
    copy.body = req.body;
    auto reply = m.call(std::move(copy), timeout_);
    if (reply.is_ok()) {
      if (reply->header.type == MsgType::kErrorReply) {
        auto err = decode<ErrorReply>(reply->body);
        if (err.is_ok() && err->code == static_cast<uint16_t>(Code::kNotLeader)) {
          last = err->to_status();
          for (size_t i = 0; i < masters_.size(); ++i) {
            if (!err->leader.empty() && masters_[i]->endpoint() == err->leader) current_ = i;
          }
          if (masters_[current_]->endpoint() != err->leader)
            current_ = (current_ + 1) % masters_.size();
          continue;
        }
      }
      return reply;
    }
    last = Status(reply.status().code(),
                  "master " + m.endpoint() + " unreachable: " + reply.status().message());
    if (!idempotent && reply.status().code() == Code::kTimeout) break;
    current_ = (current_ + 1) % masters_.size();
  }
  return last;
}

}  // namespace dfs
