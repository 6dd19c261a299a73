// Byte sizes as people write and read them: "64M", "1.5GiB", "4096".
#pragma once

#include <cstdint>
#include <string>

#include "codec/status.h"

namespace dfs {

// Binary multiples: K/KB/KiB = 1024, M = 1024^2, G, T. Case-insensitive.
Result<uint64_t> parse_size(const std::string& text);
// 1536 -> "1.5 KiB"; under 1 KiB -> "512 B".
std::string human_size(uint64_t bytes);

}  // namespace dfs
