// The frame header every message starts with, from arbitrary bytes: decodes
// or is refused, and what decodes encodes back to the same header.
#include <cstdint>
#include <cstdlib>

#include "codec/header.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto h = dfs::Header::decode(data, size);
  if (!h.is_ok()) return 0;
  auto bytes = h->encode();
  auto again = dfs::Header::decode(bytes.data(), bytes.size());
  if (!again.is_ok() || again->encode() != bytes) std::abort();
  return 0;
}
