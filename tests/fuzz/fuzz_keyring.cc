// The keyring, as an operator (or an attacker with write access to a
// config) might leave it: parses or is refused; what parses prints back to
// text that parses to the same keyring.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "bus/keyring.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto ring = dfs::Keyring::parse(text, "fuzz");
  if (!ring.is_ok()) return 0;
  std::string printed = ring->to_text();
  auto again = dfs::Keyring::parse(printed, "fuzz");
  if (!again.is_ok() || again->to_text() != printed) std::abort();
  return 0;
}
