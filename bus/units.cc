#include "bus/units.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace dfs {

Result<uint64_t> parse_size(const std::string& text) {
  if (text.empty()) return invalid_argument("empty size");
  char* end = nullptr;
  double number = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || !std::isfinite(number) || number < 0) {
    return invalid_argument("'" + text + "' is not a size");
  }
  std::string unit(end);
  for (auto& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (!unit.empty() && unit.back() == 'B') unit.pop_back();
  if (unit.size() == 2 && unit[1] == 'I') unit.pop_back();
  double mult = 1;
  if (unit.empty()) {
    mult = 1;
  } else if (unit == "K") {
    mult = 1024.0;
  } else if (unit == "M") {
    mult = 1024.0 * 1024;
  } else if (unit == "G") {
    mult = 1024.0 * 1024 * 1024;
  } else if (unit == "T") {
    mult = 1024.0 * 1024 * 1024 * 1024;
  } else {
    return invalid_argument("'" + text + "' has an unknown unit (use K, M, G or T)");
  }
  double bytes = number * mult;
  if (bytes > 1.8e19) return invalid_argument("'" + text + "' is too large");
  return static_cast<uint64_t>(std::llround(bytes));
}

std::string human_size(uint64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0) {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  } else {
    std::snprintf(buf, sizeof buf, v < 10 ? "%.1f %s" : "%.0f %s", v, kUnits[u]);
  }
  return buf;
}

}  // namespace dfs
