// Namespace paths: absolute, '/'-separated, normalized. The client normalizes
// what a user types; every other component only accepts already-normal paths.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "codec/status.h"

namespace dfs {

inline constexpr size_t kMaxPathBytes = 4096;
inline constexpr size_t kMaxNameBytes = 255;

// Collapses repeated '/', drops '.', resolves '..' lexically (never above '/'),
// strips a trailing '/'. Refuses relative paths, empty or over-long names,
// control characters and invalid UTF-8, naming the offending part.
Result<std::string> normalize_path(std::string_view input);

// True when `path` is exactly what normalize_path would return for it.
bool is_normal_path(std::string_view path);

// "/a/b/c" -> {"a","b","c"}; "/" -> {}. `path` must be normal.
std::vector<std::string> split_path(std::string_view path);

// "/a/b" -> "/a"; "/a" -> "/". `path` must be normal and not "/".
std::string parent_path(std::string_view path);
// "/a/b" -> "b".
std::string base_name(std::string_view path);
// join("/a", "b") -> "/a/b"; join("/", "b") -> "/b".
std::string join_path(std::string_view dir, std::string_view name);

// A single directory entry name: non-empty, not "." or "..", no '/', NUL or
// control characters, valid UTF-8, at most kMaxNameBytes.
Status check_name(std::string_view name);

}  // namespace dfs
