#include "codec/path.h"

namespace dfs {
namespace {

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t extra = 0;
    if (c < 0x80) {
      extra = 0;
    } else if ((c & 0xE0) == 0xC0 && c >= 0xC2) {
      extra = 1;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
    } else if ((c & 0xF8) == 0xF0 && c <= 0xF4) {
      extra = 3;
    } else {
      return false;
    }
    if (i + extra >= s.size()) return false;  // a truncated sequence
    for (size_t k = 1; k <= extra; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += extra + 1;
  }
  return true;
}

}  // namespace

Status check_name(std::string_view name) {
  if (name.empty()) return invalid_argument("empty name");
  if (name == "." || name == "..")
    return invalid_argument("name '" + std::string(name) + "' is reserved");
  if (name.size() > kMaxNameBytes) {
    return invalid_argument("name longer than " + std::to_string(kMaxNameBytes) + " bytes");
  }
  for (char ch : name) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '/') return invalid_argument("name contains '/'");
    if (c < 0x20 || c == 0x7f) return invalid_argument("name contains a control character");
  }
  if (!valid_utf8(name)) return invalid_argument("name is not valid UTF-8");
  return Status::ok();
}

Result<std::string> normalize_path(std::string_view input) {
  if (input.empty()) return invalid_argument("empty path");
  if (input.front() != '/') {
    return invalid_argument("path '" + std::string(input) +
                            "' is not absolute (must start with '/')");
  }
  if (input.size() > kMaxPathBytes) {
    return invalid_argument("path longer than " + std::to_string(kMaxPathBytes) + " bytes");
  }
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < input.size()) {
    size_t j = input.find('/', i);
    if (j == std::string_view::npos) j = input.size();
    std::string_view part = input.substr(i, j - i);
    i = j + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    Status s = check_name(part);
    if (!s.is_ok()) return invalid_argument("path '" + std::string(input) + "': " + s.message());
    parts.push_back(part);
  }
  std::string out;
  for (auto p : parts) {
    out += '/';
    out += p;
  }
  if (out.empty()) out = "/";
  return out;
}

bool is_normal_path(std::string_view path) {
  auto r = normalize_path(path);
  return r.is_ok() && r.value() == path;
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  size_t i = 1;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.emplace_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

std::string parent_path(std::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == 0 || slash == std::string_view::npos) return "/";
  return std::string(path.substr(0, slash));
}

std::string base_name(std::string_view path) {
  size_t slash = path.rfind('/');
  return std::string(path.substr(slash + 1));
}

std::string join_path(std::string_view dir, std::string_view name) {
  std::string out(dir);
  if (out.empty() || out.back() != '/') out += '/';
  out += name;
  return out;
}

}  // namespace dfs
