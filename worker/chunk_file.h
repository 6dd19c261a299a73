// On-disk layout of one chunk file: a 128-byte header, then the chunk's bytes.
//   0   8  magic "DFSCHNK1"
//   8   8  data size, little-endian
//   16 64  SHA-256 of the data, lowercase hex
//   80 48  zero
// The header lets a worker (and its scrubber) check a chunk without the master.
#pragma once

#include <cstdint>
#include <string>

#include "codec/status.h"

namespace dfs {

inline constexpr size_t kChunkHeaderSize = 128;

struct ChunkFileHeader {
  uint64_t size = 0;
  std::string sha256;

  std::string encode() const;
  static Result<ChunkFileHeader> decode(const char* data, size_t size);
};

}  // namespace dfs
