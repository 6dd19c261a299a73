// Small chunks packed into volume files, so a small chunk costs no inode, no
// temporary file and no rename (see docs/data-path-plan.md):
//   <dir>/volumes/<n, 8 digits>.vol
// A volume opens with one 4 KiB page: the magic "DFSVOLH1" and a random
// 32-byte salt. Records follow, each starting on a 4 KiB boundary:
//   0   8  magic "DFSVREC1"
//   8  32  chunk id (32 lowercase hex digits)
//   40  8  payload bytes: the chunk's file image (chunk_file.h: header,
//          data, block CRCs), little-endian
//   48  8  synced_before: every byte of the volume below this offset was
//          durable when the record was appended, little-endian
//   56  8  the first 8 bytes of SHA-256(salt, bytes 0..56)
//   64 ..  the payload, then zeros to the next 4 KiB boundary
// The salted check keeps a record header forged inside a chunk's bytes (a
// client's data) from ever passing for a record.
//
// A record is appended whole, then the volume is synced: it is never
// answered before. After a crash the records below the last sync point a
// record names are trusted; those at or past it are kept only if their
// whole chunk image checks out (header and every block CRC), so a torn
// record is dropped and a whole one kept (unanswered, it is the masters'
// garbage to collect). A removed record's range is punched out of the file
// (its space goes back to the filesystem) and a volume left with no live
// record is deleted.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "codec/status.h"

namespace dfs {

inline constexpr uint64_t kVolumePage = 4096;
inline constexpr size_t kRecordHeaderSize = 64;
inline constexpr size_t kVolumeSaltSize = 32;

// The 4 KiB a record of `payload` bytes takes in a volume.
inline uint64_t record_bytes(uint64_t payload) {
  return (kRecordHeaderSize + payload + kVolumePage - 1) / kVolumePage * kVolumePage;
}

struct VolumeRecord {
  std::string id;
  uint64_t offset = 0;   // of the record header in the volume
  uint64_t payload = 0;  // the chunk file image's bytes
  uint64_t synced_before = 0;
  uint64_t bytes() const { return record_bytes(payload); }
};

// The first page of a new volume.
std::string encode_volume_header(const std::string& salt);
// The salt of a volume whose first page is `page`; kCorruption if it is not one.
Result<std::string> decode_volume_header(const char* page, size_t size);

std::string encode_record_header(const std::string& salt, const std::string& id, uint64_t payload,
                                 uint64_t synced_before);
// kCorruption unless `data` holds a record header whose check matches `salt`.
Result<VolumeRecord> decode_record_header(const std::string& salt, const char* data, size_t size,
                                          uint64_t offset);

enum class VolumeScan {
  kAsRestart,    // what a restarted worker keeps, as the comment above says
  kEveryRecord,  // every record not removed, damaged or not: what a running worker serves
};
// The records of an open volume file of `size` bytes, in file order. Holes
// (punched records) are skipped.
Result<std::vector<VolumeRecord>> scan_volume(int fd, uint64_t size,
                                              VolumeScan mode = VolumeScan::kAsRestart);

// The file name of volume `n` ("00000012.vol"), and the number back
// (0 if `name` is not a volume's).
std::string volume_name(uint64_t n);
uint64_t volume_number(const std::string& name);

}  // namespace dfs
