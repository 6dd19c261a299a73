// The fixed 16-byte header frame that starts every dfs message on the wire:
//   bytes 0-2  "DFS"          protocol magic
//   byte  3    version        kProtocolVersion
//   bytes 4-5  message type   big-endian MsgType
//   bytes 6-7  flags          reserved, zero
//   bytes 8-15 request id     big-endian; a reply carries its request's id
// The msgpack body follows as the next frame, then raw data frames, if any.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "codec/msg_type.h"
#include "codec/status.h"

namespace dfs {

inline constexpr uint8_t kProtocolVersion = 1;
inline constexpr size_t kHeaderSize = 16;

struct Header {
  MsgType type = MsgType::kErrorReply;
  uint64_t request_id = 0;

  std::array<uint8_t, kHeaderSize> encode() const;
  static Result<Header> decode(const void* data, size_t size);
};

}  // namespace dfs
