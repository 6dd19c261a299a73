// On-disk layout of one chunk file: a 128-byte header, the chunk's bytes,
// then (format 2) the CRC-32C of each 64 KiB block of them.
//   0   8  magic "DFSCHNK2" ("DFSCHNK1": format 1, without block CRCs)
//   8   8  data size, little-endian
//   16 64  SHA-256 of the data, lowercase hex
//   80  4  block size of the CRCs, little-endian (format 2)
//   84 44  zero
//   128 + size: one CRC-32C per block, 4 bytes little-endian each (format 2)
// The header lets a worker (and its scrubber) check a chunk without the
// master; the block CRCs let a reader check any block it reads alone.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "codec/messages.h"
#include "codec/status.h"

namespace dfs {

inline constexpr size_t kChunkHeaderSize = 128;

struct ChunkFileHeader {
  uint64_t size = 0;
  std::string sha256;
  uint32_t block_size = 0;  // 0: format 1, no block CRCs

  uint64_t block_count() const { return block_size ? (size + block_size - 1) / block_size : 0; }
  // The whole file: header, data and CRCs.
  uint64_t file_bytes() const { return kChunkHeaderSize + size + 4 * block_count(); }
  std::string encode() const;
  static Result<ChunkFileHeader> decode(const char* data, size_t size);
};

// What a chunk of `size` bytes takes on disk, as this version writes it.
inline uint64_t chunk_file_bytes(uint64_t size) {
  return ChunkFileHeader{size, "", kCrcBlockSize}.file_bytes();
}

// The CRC of each kCrcBlockSize block of a chunk's bytes, as they stream in.
class BlockCrcs {
 public:
  void update(const void* data, size_t size);
  // Takes the CRCs of whole blocks computed elsewhere (the last may be
  // short, and then ends the data); only on a block boundary.
  void add(const std::vector<uint32_t>& crcs);
  bool on_boundary() const { return filled_ == 0; }
  // Every block's CRC, the last one short if the data ended inside it.
  std::vector<uint32_t> finish();

 private:
  std::vector<uint32_t> done_;
  uint32_t crc_ = 0;
  uint32_t filled_ = 0;  // bytes in the current block
};

std::string encode_crcs(const std::vector<uint32_t>& crcs);
std::vector<uint32_t> decode_crcs(const char* data, size_t count);

}  // namespace dfs
