#include "worker/chunk_file.h"

#include <algorithm>
#include <cstring>

#include "codec/crc32c.h"
#include "codec/sha256.h"

namespace dfs {

namespace {
constexpr char kMagic1[8] = {'D', 'F', 'S', 'C', 'H', 'N', 'K', '1'};
constexpr char kMagic2[8] = {'D', 'F', 'S', 'C', 'H', 'N', 'K', '2'};

void put_le(char* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
uint64_t get_le(const char* in, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}
}  // namespace

std::string ChunkFileHeader::encode() const {
  std::string out(kChunkHeaderSize, '\0');
  std::memcpy(out.data(), block_size ? kMagic2 : kMagic1, 8);
  put_le(out.data() + 8, size, 8);
  std::memcpy(out.data() + 16, sha256.data(), std::min<size_t>(sha256.size(), 64));
  put_le(out.data() + 80, block_size, 4);
  return out;
}

Result<ChunkFileHeader> ChunkFileHeader::decode(const char* data, size_t size) {
  if (size < kChunkHeaderSize) return Status(Code::kCorruption, "chunk header truncated");
  ChunkFileHeader h;
  if (std::memcmp(data, kMagic2, 8) == 0) {
    h.block_size = static_cast<uint32_t>(get_le(data + 80, 4));
    // Only the one size this version writes: anything else is damage.
    if (h.block_size != kCrcBlockSize) {
      return Status(Code::kCorruption, "bad block size in chunk header");
    }
  } else if (std::memcmp(data, kMagic1, 8) != 0) {
    return Status(Code::kCorruption, "bad chunk header magic");
  }
  h.size = get_le(data + 8, 8);
  if (h.size > kMaxChunkSize) return Status(Code::kCorruption, "chunk size in header too big");
  h.sha256.assign(data + 16, 64);
  if (!is_sha256_hex(h.sha256)) return Status(Code::kCorruption, "bad checksum in chunk header");
  return h;
}

void BlockCrcs::update(const void* data, size_t size) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    size_t n = std::min<size_t>(size, kCrcBlockSize - filled_);
    crc_ = crc32c_extend(crc_, p, n);
    filled_ += static_cast<uint32_t>(n);
    p += n;
    size -= n;
    if (filled_ == kCrcBlockSize) {
      done_.push_back(crc_);
      crc_ = 0;
      filled_ = 0;
    }
  }
}

void BlockCrcs::add(const std::vector<uint32_t>& crcs) {
  done_.insert(done_.end(), crcs.begin(), crcs.end());
}

std::vector<uint32_t> BlockCrcs::finish() {
  if (filled_ > 0) done_.push_back(crc_);
  std::vector<uint32_t> out;
  out.swap(done_);
  crc_ = 0;
  filled_ = 0;
  return out;
}

std::string encode_crcs(const std::vector<uint32_t>& crcs) {
  std::string out(4 * crcs.size(), '\0');
  for (size_t i = 0; i < crcs.size(); ++i) put_le(out.data() + 4 * i, crcs[i], 4);
  return out;
}

std::vector<uint32_t> decode_crcs(const char* data, size_t count) {
  std::vector<uint32_t> out(count);
  for (size_t i = 0; i < count; ++i) out[i] = static_cast<uint32_t>(get_le(data + 4 * i, 4));
  return out;
}

}  // namespace dfs
