// Moving dfs messages through ZeroMQ sockets. A message on the wire is
//   [routing id]  only on ROUTER sockets (added/stripped by ZeroMQ)
//   [topic]       only on PUB/SUB
//   [header]      16 bytes, codec/header.h
//   [body]        msgpack
//   [data]...     raw bytes, each at most kMaxFrameBytes
// Multipart messages arrive whole or not at all.
#pragma once

#include <zmq.hpp>
#include <zmq_addon.hpp>

#include <string>
#include <vector>

#include "codec/codec.h"
#include "codec/header.h"

namespace dfs {

struct Envelope {
  std::string routing_id;  // ROUTER sockets only
  std::string topic;       // PUB/SUB only
  std::string peer_key;    // received on a CURVE server socket: the sender's public key (Z85)
  int source_fd = -1;      // with peer_key: the connection's descriptor (bus/connection_table.h)
  Header header;
  std::string body;
  std::vector<zmq::message_t> data;
};

enum class Framing { kPlain, kRouted, kTopic };

template <typename T>
Envelope make_envelope(const T& msg, uint64_t request_id = 0) {
  Envelope env;
  env.header.type = T::kType;
  env.header.request_id = request_id;
  env.body = encode(msg);
  return env;
}

// An ErrorReply envelope carrying `status` in answer to `request`.
Envelope make_error_reply(const Envelope& request, const Status& status);

// Sends `env` on `socket`. With dontwait, a full queue is kTimeout rather than
// blocking; with ZMQ_ROUTER_MANDATORY, a vanished peer is kUnavailable.
Status send_envelope(zmq::socket_t& socket, Framing framing, Envelope&& env, bool dontwait = true);

// The frames send_envelope sends for `env`, and sending frames as one
// multipart message (same errors as send_envelope).
std::vector<zmq::message_t> envelope_frames(Envelope&& env, Framing framing);
Status send_frames(zmq::socket_t& socket, std::vector<zmq::message_t>& frames, bool dontwait);

// Takes apart the frames of one received message, as recv_envelope does
// (peer_key and source_fd are left empty: they come from the socket).
Status envelope_from_frames(std::vector<zmq::message_t>&& frames, Framing framing, Envelope* out);

// Receives one message that poll reported ready into *out. A malformed
// message yields kProtocol with out->routing_id (and out->header, when it
// decoded) filled in, so a server can still answer; kTimeout means nothing
// was waiting. Nothing is thrown.
Status recv_envelope(zmq::socket_t& socket, Framing framing, Envelope* out);

// Decodes the reply body as Rep, or turns an ErrorReply into its Status.
template <typename Rep>
Result<Rep> decode_reply(const Envelope& env) {
  if (env.header.type == MsgType::kErrorReply) {
    auto err = decode<ErrorReply>(env.body);
    if (!err.is_ok()) return err.status();
    return err->to_status();
  }
  if (env.header.type != Rep::kType) {
    return protocol_error("expected " + std::string(msg_type_name(Rep::kType)) + ", got " +
                          std::string(msg_type_name(env.header.type)));
  }
  return decode<Rep>(env.body);
}

}  // namespace dfs
