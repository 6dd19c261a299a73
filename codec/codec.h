// Encoding and decoding of message bodies. decode() never throws and never
// trusts its input: it bounds what msgpack may allocate, rejects trailing
// bytes, wrong types and missing structure, then runs the message's validate().
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "codec/messages.h"

namespace dfs {

inline constexpr size_t kMaxBodyBytes = 64u << 20;

namespace codec_detail {
// The buffer an encode packs into: this thread's, reused from one encode to
// the next (a fresh msgpack buffer starts with an 8 KiB allocation), or a
// fresh one if an encode is already using it. One that grew past 1 MiB is
// not kept.
class ScratchBuffer {
 public:
  ScratchBuffer();
  ~ScratchBuffer();
  ScratchBuffer(const ScratchBuffer&) = delete;
  ScratchBuffer& operator=(const ScratchBuffer&) = delete;
  msgpack::sbuffer& get() { return *buffer_; }

 private:
  msgpack::sbuffer* buffer_;
  std::unique_ptr<msgpack::sbuffer> own_;
};
}  // namespace codec_detail

template <typename T>
std::string encode(const T& msg) {
  codec_detail::ScratchBuffer buf;
  msgpack::pack(buf.get(), msg);
  return std::string(buf.get().data(), buf.get().size());
}

namespace codec_detail {
// The name used in decode errors: the message type, or "record" for stored
// structures that are not messages.
template <typename T>
std::string label() {
  if constexpr (requires { T::kType; }) {
    return std::string(msg_type_name(T::kType));
  } else {
    return "record";
  }
}

// Unpacks one msgpack object into `zone` with allocation limits; fails on
// trailing bytes.
Status unpack_bounded(const char* data, size_t size, msgpack::zone& zone, msgpack::object* out);

// The zone a decode unpacks into: this thread's, reused from one decode to
// the next (emptied but for its first block, so a small message costs no
// allocation of its own), or a fresh one if a decode is already using it.
class ScratchZone {
 public:
  ScratchZone();
  ~ScratchZone();
  ScratchZone(const ScratchZone&) = delete;
  ScratchZone& operator=(const ScratchZone&) = delete;
  msgpack::zone& get() { return *zone_; }

 private:
  msgpack::zone* zone_;
  std::unique_ptr<msgpack::zone> own_;
};
}  // namespace codec_detail

template <typename T>
Result<T> decode(std::string_view body) {
  if (body.size() > kMaxBodyBytes) {
    return protocol_error(codec_detail::label<T>() + ": body too large");
  }
  codec_detail::ScratchZone zone;
  msgpack::object obj;
  Status s = codec_detail::unpack_bounded(body.data(), body.size(), zone.get(), &obj);
  if (!s.is_ok()) return protocol_error(codec_detail::label<T>() + ": " + s.message());
  if (obj.type != msgpack::type::MAP) {
    return protocol_error(codec_detail::label<T>() + ": body is not a map");
  }
  T msg;
  try {
    obj.convert(msg);
  } catch (const std::exception& e) {
    return protocol_error(codec_detail::label<T>() + ": wrong field type (" + e.what() + ")");
  }
  s = msg.validate();
  if (!s.is_ok()) {
    return Status(s.code(), codec_detail::label<T>() + ": " + s.message());
  }
  return msg;
}

}  // namespace dfs
