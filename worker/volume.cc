#include "worker/volume.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "bus/files.h"
#include "codec/crc32c.h"
#include "codec/messages.h"
#include "codec/sha256.h"
#include "worker/chunk_file.h"

namespace dfs {
namespace {

constexpr char kVolumeMagic[8] = {'D', 'F', 'S', 'V', 'O', 'L', 'H', '1'};
constexpr char kRecordMagic[8] = {'D', 'F', 'S', 'V', 'R', 'E', 'C', '1'};
constexpr size_t kCheckedBytes = 56;  // the header bytes the salted check covers

void put_le(char* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
uint64_t get_le(const char* in) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

// The first 8 bytes of SHA-256(salt, header bytes 0..56).
std::string salted_check(const std::string& salt, const char* header) {
  Sha256 h;
  h.update(salt.data(), salt.size());
  h.update(header, kCheckedBytes);
  const std::string hex = h.finish_hex();
  std::string out(8, '\0');
  for (size_t i = 0; i < 8; ++i) {
    out[i] = static_cast<char>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
  }
  return out;
}

Status read_exact(int fd, char* out, size_t size, uint64_t offset) {
  size_t got = 0;
  while (got < size) {
    ssize_t n = ::pread(fd, out + got, size - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error(errno_text("read volume", errno));
    if (n == 0) return Status(Code::kCorruption, "volume ends inside a record");
    got += static_cast<size_t>(n);
  }
  return Status::ok();
}

// Whether the record's whole chunk image checks out: its header, its size
// and every block's CRC-32C against the bytes.
bool image_is_whole(int fd, const VolumeRecord& r) {
  std::string image(r.payload, '\0');
  if (!read_exact(fd, image.data(), image.size(), r.offset + kRecordHeaderSize).is_ok()) {
    return false;
  }
  auto h = ChunkFileHeader::decode(image.data(), image.size());
  if (!h.is_ok() || h->block_size != kCrcBlockSize || h->file_bytes() != r.payload) return false;
  const std::vector<uint32_t> crcs =
      decode_crcs(image.data() + kChunkHeaderSize + h->size, h->block_count());
  for (uint64_t b = 0; b < h->block_count(); ++b) {
    const uint64_t at = b * kCrcBlockSize;
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kCrcBlockSize, h->size - at));
    if (crc32c(image.data() + kChunkHeaderSize + at, n) != crcs[b]) return false;
  }
  return true;
}

}  // namespace

std::string encode_volume_header(const std::string& salt) {
  std::string page(kVolumePage, '\0');
  std::memcpy(page.data(), kVolumeMagic, 8);
  std::memcpy(page.data() + 8, salt.data(), std::min(salt.size(), kVolumeSaltSize));
  return page;
}

Result<std::string> decode_volume_header(const char* page, size_t size) {
  if (size < 8 + kVolumeSaltSize || std::memcmp(page, kVolumeMagic, 8) != 0) {
    return Status(Code::kCorruption, "not a volume: bad magic");
  }
  return std::string(page + 8, kVolumeSaltSize);
}

std::string encode_record_header(const std::string& salt, const std::string& id, uint64_t payload,
                                 uint64_t synced_before) {
  std::string h(kRecordHeaderSize, '\0');
  std::memcpy(h.data(), kRecordMagic, 8);
  std::memcpy(h.data() + 8, id.data(), std::min<size_t>(id.size(), 32));
  put_le(h.data() + 40, payload);
  put_le(h.data() + 48, synced_before);
  const std::string check = salted_check(salt, h.data());
  std::memcpy(h.data() + kCheckedBytes, check.data(), 8);
  return h;
}

Result<VolumeRecord> decode_record_header(const std::string& salt, const char* data, size_t size,
                                          uint64_t offset) {
  if (size < kRecordHeaderSize || std::memcmp(data, kRecordMagic, 8) != 0) {
    return Status(Code::kCorruption, "no record here");
  }
  if (salted_check(salt, data) != std::string(data + kCheckedBytes, 8)) {
    return Status(Code::kCorruption, "a record header fails its check");
  }
  VolumeRecord r;
  r.id.assign(data + 8, 32);
  r.offset = offset;
  r.payload = get_le(data + 40);
  r.synced_before = get_le(data + 48);
  if (!is_chunk_id(r.id) || r.payload < kChunkHeaderSize ||
      r.payload > chunk_file_bytes(kMaxChunkSize)) {
    return Status(Code::kCorruption, "a record header holds impossible values");
  }
  return r;
}

Result<std::vector<VolumeRecord>> scan_volume(int fd, uint64_t size, VolumeScan mode) {
  char page[kVolumePage];
  if (size < kVolumePage) return Status(Code::kCorruption, "volume shorter than its header");
  DFS_RETURN_IF_ERROR(read_exact(fd, page, kVolumePage, 0));
  auto salt = decode_volume_header(page, kVolumePage);
  if (!salt.is_ok()) return salt.status();

  // Every record header, walking page by page past anything that is not one
  // (punched holes, torn records).
  std::vector<VolumeRecord> found;
  uint64_t sync_point = 0;
  uint64_t at = kVolumePage;
  while (at + kRecordHeaderSize <= size) {
    const off_t data = ::lseek(fd, static_cast<off_t>(at), SEEK_DATA);
    if (data < 0 && errno == ENXIO) break;  // only holes are left
    if (data < 0) return io_error(errno_text("seek in volume", errno));
    at = std::max<uint64_t>(at, static_cast<uint64_t>(data) / kVolumePage * kVolumePage);
    if (at + kRecordHeaderSize > size) break;
    DFS_RETURN_IF_ERROR(read_exact(fd, page, kRecordHeaderSize, at));
    auto r = decode_record_header(salt.value(), page, kRecordHeaderSize, at);
    if (!r.is_ok() || at + kRecordHeaderSize + r->payload > size) {
      at += kVolumePage;
      continue;
    }
    sync_point = std::max(sync_point, r->synced_before);
    at += r->bytes();
    found.push_back(std::move(r).value());
  }
  std::vector<VolumeRecord> kept;
  for (auto& r : found) {
    if (mode == VolumeScan::kEveryRecord || r.offset < sync_point || image_is_whole(fd, r)) {
      kept.push_back(std::move(r));
    }
  }
  return kept;
}

std::string volume_name(uint64_t n) {
  std::string digits = std::to_string(n);
  if (digits.size() < 8) digits.insert(0, 8 - digits.size(), '0');
  return digits + ".vol";
}

uint64_t volume_number(const std::string& name) {
  if (name.size() != 12 || name.substr(8) != ".vol") return 0;
  uint64_t n = 0;
  for (size_t i = 0; i < 8; ++i) {
    if (name[i] < '0' || name[i] > '9') return 0;
    n = n * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  return n;
}

}  // namespace dfs
