#include "codec/header.h"

#include <cstring>

namespace dfs {

std::array<uint8_t, kHeaderSize> Header::encode() const {
  std::array<uint8_t, kHeaderSize> out{};
  out[0] = 'D';
  out[1] = 'F';
  out[2] = 'S';
  out[3] = kProtocolVersion;
  auto t = static_cast<uint16_t>(type);
  out[4] = static_cast<uint8_t>(t >> 8);
  out[5] = static_cast<uint8_t>(t);
  for (int i = 0; i < 8; ++i) out[8 + i] = static_cast<uint8_t>(request_id >> (56 - 8 * i));
  return out;
}

Result<Header> Header::decode(const void* data, size_t size) {
  if (size != kHeaderSize)
    return protocol_error("header frame has " + std::to_string(size) + " bytes, want 16");
  const auto* p = static_cast<const uint8_t*>(data);
  if (std::memcmp(p, "DFS", 3) != 0) return protocol_error("bad protocol magic");
  if (p[3] != kProtocolVersion) {
    return protocol_error("unsupported protocol version " + std::to_string(p[3]));
  }
  uint16_t t = static_cast<uint16_t>((p[4] << 8) | p[5]);
  if (!is_known_msg_type(t)) return protocol_error("unknown message type " + std::to_string(t));
  Header h;
  h.type = static_cast<MsgType>(t);
  for (int i = 0; i < 8; ++i) h.request_id = (h.request_id << 8) | p[8 + i];
  return h;
}

}  // namespace dfs
