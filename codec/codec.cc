#include "codec/codec.h"

namespace dfs::codec_detail {

namespace {
thread_local msgpack::zone scratch;
thread_local bool scratch_busy = false;
}  // namespace

namespace {
thread_local std::unique_ptr<msgpack::sbuffer> scratch_buffer;
thread_local bool scratch_buffer_busy = false;
constexpr size_t kMaxKeptBuffer = 1 << 20;
}  // namespace

ScratchBuffer::ScratchBuffer() {
  if (scratch_buffer_busy) {
    own_ = std::make_unique<msgpack::sbuffer>();
    buffer_ = own_.get();
    return;
  }
  scratch_buffer_busy = true;
  if (!scratch_buffer) scratch_buffer = std::make_unique<msgpack::sbuffer>();
  buffer_ = scratch_buffer.get();
  buffer_->clear();
}

ScratchBuffer::~ScratchBuffer() {
  if (own_) return;
  if (scratch_buffer->size() > kMaxKeptBuffer) scratch_buffer.reset();
  scratch_buffer_busy = false;
}

ScratchZone::ScratchZone() {
  if (scratch_busy) {
    own_ = std::make_unique<msgpack::zone>();
    zone_ = own_.get();
  } else {
    scratch_busy = true;
    zone_ = &scratch;
  }
}

ScratchZone::~ScratchZone() {
  if (own_) return;
  scratch.clear();
  scratch_busy = false;
}

Status unpack_bounded(const char* data, size_t size, msgpack::zone& zone, msgpack::object* out) {
  // Generous for real messages (a file of kMaxChunksPerFile chunks; a log
  // entry holding a whole file's commit inside a Raft message), small
  // enough that a hostile length prefix cannot make us allocate gigabytes:
  // no string can be longer than the body that carries it.
  const msgpack::unpack_limit limit(/*array=*/kMaxChunksPerFile, /*map=*/64,
                                    /*str=*/kMaxBodyBytes, /*bin=*/kMaxBodyBytes, /*ext=*/0,
                                    /*depth=*/8);
  try {
    size_t offset = 0;
    *out = msgpack::unpack(zone, data, size, offset, nullptr, nullptr, limit);
    if (offset != size) return protocol_error("trailing bytes after body");
  } catch (const std::exception& e) {
    return protocol_error(std::string("undecodable body (") + e.what() + ")");
  }
  return Status::ok();
}

}  // namespace dfs::codec_detail
