// Small POSIX helpers for the client's local side of put and get.
#pragma once

#include <string>

#include "codec/status.h"

namespace dfs {

Status pread_exact(int fd, char* buf, size_t len, uint64_t offset, const std::string& what);
Status pwrite_all(int fd, const char* buf, size_t len, uint64_t offset, const std::string& what);
Status write_all_fd(int fd, const char* buf, size_t len, const std::string& what);
// Reads up to `len` bytes, stopping early only at end of input.
Result<size_t> read_full(int fd, char* buf, size_t len, const std::string& what);
// An anonymous temporary file (already unlinked) under $TMPDIR or /tmp.
Result<int> anonymous_temp_file();
// Copies `len` bytes of `from` (starting at 0) to `to`'s current position.
Status copy_fd(int from, int to, uint64_t len, const std::string& what);

}  // namespace dfs
