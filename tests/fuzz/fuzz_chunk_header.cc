// The header a worker reads back from each chunk file on its disk: a file
// damaged in any way is refused, never trusted and never a crash.
#include <cstdint>
#include <cstdlib>

#include "worker/chunk_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto h = dfs::ChunkFileHeader::decode(reinterpret_cast<const char*>(data), size);
  if (!h.is_ok()) return 0;
  std::string bytes = h->encode();
  auto again = dfs::ChunkFileHeader::decode(bytes.data(), bytes.size());
  if (!again.is_ok() || again->encode() != bytes) std::abort();
  return 0;
}
