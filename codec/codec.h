// Encoding and decoding of message bodies. decode() never throws and never
// trusts its input: it bounds what msgpack may allocate, rejects trailing
// bytes, wrong types and missing structure, then runs the message's validate().
#pragma once

#include <string>
#include <string_view>

#include "codec/messages.h"

namespace dfs {

inline constexpr size_t kMaxBodyBytes = 64u << 20;

template <typename T>
std::string encode(const T& msg) {
  msgpack::sbuffer buf;
  msgpack::pack(buf, msg);
  return std::string(buf.data(), buf.size());
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

// Unpacks one msgpack object with allocation limits; fails on trailing bytes.
Status unpack_bounded(const char* data, size_t size, msgpack::object_handle* out);
}  // namespace codec_detail

template <typename T>
Result<T> decode(std::string_view body) {
  if (body.size() > kMaxBodyBytes) {
    return protocol_error(codec_detail::label<T>() + ": body too large");
  }
  msgpack::object_handle handle;
  Status s = codec_detail::unpack_bounded(body.data(), body.size(), &handle);
  if (!s.is_ok()) return protocol_error(codec_detail::label<T>() + ": " + s.message());
  if (handle.get().type != msgpack::type::MAP) {
    return protocol_error(codec_detail::label<T>() + ": body is not a map");
  }
  T msg;
  try {
    handle.get().convert(msg);
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
