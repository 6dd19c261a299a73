#include "bus/wire.h"

#include <zmq_addon.hpp>

namespace dfs {

Envelope make_error_reply(const Envelope& request, const Status& status) {
  ErrorReply reply;
  reply.code = static_cast<uint16_t>(status.code());
  reply.message = status.message();
  Envelope env = make_envelope(reply, request.header.request_id);
  env.routing_id = request.routing_id;
  return env;
}

std::vector<zmq::message_t> envelope_frames(Envelope&& env, Framing framing) {
  auto header = env.header.encode();
  std::vector<zmq::message_t> frames;
  frames.reserve(4 + env.data.size());
  if (framing == Framing::kRouted)
    frames.emplace_back(env.routing_id.data(), env.routing_id.size());
  if (framing == Framing::kTopic) frames.emplace_back(env.topic.data(), env.topic.size());
  frames.emplace_back(header.data(), header.size());
  frames.emplace_back(env.body.data(), env.body.size());
  for (auto& d : env.data) frames.push_back(std::move(d));
  return frames;
}

Status send_frames(zmq::socket_t& socket, std::vector<zmq::message_t>& frames, bool dontwait) {
  try {
    auto flags = dontwait ? zmq::send_flags::dontwait : zmq::send_flags::none;
    for (size_t i = 0; i < frames.size(); ++i) {
      auto f = flags;
      if (i + 1 < frames.size()) f = f | zmq::send_flags::sndmore;
      if (!socket.send(frames[i], f)) {
        // Only the first frame can fail with EAGAIN: ZeroMQ queues the rest
        // of a multipart message once the first part is accepted.
        return {Code::kTimeout, "send queue full"};
      }
    }
  } catch (const zmq::error_t& e) {
    if (e.num() == EHOSTUNREACH) return {Code::kUnavailable, "peer is gone"};
    return {Code::kUnavailable, std::string("send failed: ") + e.what()};
  }
  return Status::ok();
}

Status send_envelope(zmq::socket_t& socket, Framing framing, Envelope&& env, bool dontwait) {
  auto frames = envelope_frames(std::move(env), framing);
  return send_frames(socket, frames, dontwait);
}

Status recv_envelope(zmq::socket_t& socket, Framing framing, Envelope* out) {
  std::vector<zmq::message_t> frames;
  try {
    auto got = zmq::recv_multipart(socket, std::back_inserter(frames), zmq::recv_flags::dontwait);
    if (!got) return {Code::kTimeout, "nothing to receive"};
  } catch (const zmq::error_t& e) {
    return {Code::kUnavailable, std::string("receive failed: ") + e.what()};
  }
  size_t first = framing == Framing::kPlain ? 0 : 1;
  std::string peer_key;
  int source_fd = -1;
  if (frames.size() > first) {
    // On a CURVE socket, the key the ZAP handler admitted this peer with.
    const char* key = zmq_msg_gets(frames[first].handle(), "User-Id");
    if (key) {
      peer_key = key;
      source_fd = zmq_msg_get(frames[first].handle(), ZMQ_SRCFD);
    }
  }
  Status s = envelope_from_frames(std::move(frames), framing, out);
  out->peer_key = std::move(peer_key);
  out->source_fd = source_fd;
  return s;
}

Status envelope_from_frames(std::vector<zmq::message_t>&& frames, Framing framing, Envelope* out) {
  *out = Envelope{};
  size_t i = 0;
  if (framing != Framing::kPlain) {
    if (frames.empty()) return protocol_error("empty message");
    (framing == Framing::kRouted ? out->routing_id : out->topic) = frames[0].to_string();
    i = 1;
  }
  if (frames.size() < i + 2) {
    return protocol_error("message has " + std::to_string(frames.size() - i) +
                          " frames, want header and body");
  }
  auto header = Header::decode(frames[i].data(), frames[i].size());
  if (!header.is_ok()) return header.status();
  out->header = header.value();
  out->body = frames[i + 1].to_string();
  for (size_t k = i + 2; k < frames.size(); ++k) {
    if (frames[k].size() > kMaxFrameBytes) return protocol_error("data frame larger than 1 MiB");
    out->data.push_back(std::move(frames[k]));
  }
  return Status::ok();
}

}  // namespace dfs
