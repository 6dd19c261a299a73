// Helpers for tests of the worker's chunk store.
#pragma once

#include <string>

#include "worker/chunk_store.h"

namespace dfs::test {

// Every byte of a stored chunk, read 1 MiB at a time; "<error>" if a read
// fails, so a comparison with the expected bytes fails and says why.
inline std::string read_chunk(ChunkStore& cs, const std::string& id) {
  std::string out;
  uint64_t total = 1;
  while (out.size() < total) {
    std::string piece(1 << 20, '\0');
    auto n = cs.read(id, out.size(), piece.size(), piece.data(), &total);
    if (!n.is_ok()) return "<" + n.status().to_string() + ">";
    if (n.value() == 0) break;
    out.append(piece.data(), n.value());
  }
  return out;
}

}  // namespace dfs::test
