// Big-endian integers in RocksDB keys, so that keys sort in numeric order.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace dfs {

inline std::string be64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(v >> (56 - 8 * i));
  return out;
}

// The number in the first 8 bytes of `s` (fewer bytes read as a prefix).
inline uint64_t from_be64(std::string_view s) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < s.size(); ++i) v = (v << 8) | static_cast<unsigned char>(s[i]);
  return v;
}

// Keys of the namespace's column families.
// A directory entry: its parent directory's inode, then its name.
inline std::string entry_key(uint64_t parent, std::string_view name) {
  return be64(parent) + std::string(name);
}
// A chunk copy waiting to be deleted from a worker.
inline std::string garbage_key(std::string_view worker, std::string_view chunk) {
  return std::string(worker) + '\0' + std::string(chunk);
}

}  // namespace dfs
