// Paths as users type them: normalize_path either refuses one or returns a
// path that is normal, normalizes to itself, and splits back into names
// that are each valid. Every path that reaches the namespace passed here.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "codec/path.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto p = dfs::normalize_path(input);
  if (!p.is_ok()) {
    if (dfs::is_normal_path(input)) std::abort();  // refused what it calls normal
    return 0;
  }
  if (!dfs::is_normal_path(p.value())) std::abort();
  auto again = dfs::normalize_path(p.value());
  if (!again.is_ok() || again.value() != p.value()) std::abort();
  for (const auto& name : dfs::split_path(p.value())) {
    if (!dfs::check_name(name).is_ok()) std::abort();
  }
  return 0;
}
