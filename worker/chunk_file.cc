#include "worker/chunk_file.h"

#include <cstring>

#include "codec/sha256.h"

namespace dfs {

namespace {
constexpr char kMagic[8] = {'D', 'F', 'S', 'C', 'H', 'N', 'K', '1'};
}

std::string ChunkFileHeader::encode() const {
  std::string out(kChunkHeaderSize, '\0');
  std::memcpy(out.data(), kMagic, 8);
  for (int i = 0; i < 8; ++i) out[8 + i] = static_cast<char>((size >> (8 * i)) & 0xff);
  std::memcpy(out.data() + 16, sha256.data(), std::min<size_t>(sha256.size(), 64));
  return out;
}

Result<ChunkFileHeader> ChunkFileHeader::decode(const char* data, size_t size) {
  if (size < kChunkHeaderSize) return Status(Code::kCorruption, "chunk header truncated");
  if (std::memcmp(data, kMagic, 8) != 0) return Status(Code::kCorruption, "bad chunk header magic");
  ChunkFileHeader h;
  for (int i = 7; i >= 0; --i) h.size = (h.size << 8) | static_cast<unsigned char>(data[8 + i]);
  h.sha256.assign(data + 16, 64);
  if (!is_sha256_hex(h.sha256)) return Status(Code::kCorruption, "bad checksum in chunk header");
  return h;
}

}  // namespace dfs
