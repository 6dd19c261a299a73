#include "codec/codec.h"

namespace dfs::codec_detail {

void recycle(std::unique_ptr<msgpack::sbuffer>& buffer) {
  if (buffer->size() > (1u << 20)) {
    buffer.reset();  // made again, small, on next use
  } else {
    buffer->clear();
  }
}

void recycle(std::unique_ptr<msgpack::zone>& zone) { zone->clear(); }

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
