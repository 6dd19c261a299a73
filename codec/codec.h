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
// Readies a kept scratch object for its next use (see Scratch).
void recycle(std::unique_ptr<msgpack::sbuffer>& buffer);
void recycle(std::unique_ptr<msgpack::zone>& zone);

// This thread's T, reused from one encode or decode to the next (a fresh
// msgpack buffer or zone starts with an 8 KiB allocation), or a fresh one
// while it is in use further up the stack. After each use recycle() empties
// it: a zone keeps its first block, a buffer that grew past 1 MiB goes.
template <typename T>
class Scratch {
 public:
  Scratch() {
    Slot& s = slot();
    if (s.busy) {
      own_ = std::make_unique<T>();
      item_ = own_.get();
      return;
    }
    s.busy = true;
    if (!s.item) s.item = std::make_unique<T>();
    item_ = s.item.get();
  }
  ~Scratch() {
    if (own_) return;
    Slot& s = slot();
    recycle(s.item);
    s.busy = false;
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  T& get() { return *item_; }

 private:
  struct Slot {
    std::unique_ptr<T> item;
    bool busy = false;
  };
  static Slot& slot() {
    thread_local Slot s;
    return s;
  }
  T* item_;
  std::unique_ptr<T> own_;
};
}  // namespace codec_detail

template <typename T>
std::string encode(const T& msg) {
  codec_detail::Scratch<msgpack::sbuffer> buf;
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

}  // namespace codec_detail

template <typename T>
Result<T> decode(std::string_view body) {
  if (body.size() > kMaxBodyBytes) {
    return protocol_error(codec_detail::label<T>() + ": body too large");
  }
  codec_detail::Scratch<msgpack::zone> zone;
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
