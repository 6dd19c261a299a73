// Durable file writing shared by the worker's chunk store and the master's
// snapshots: positional writes that name a full disk as such, and fsyncs
// that stop the process when they fail.
#pragma once

#include <sys/types.h>

#include <string>

#include "codec/status.h"

namespace dfs {

// "what: <strerror(err)>".
std::string errno_text(const std::string& what, int err);

// Writes all of data at offset; kDiskFull on ENOSPC or EDQUOT.
Status write_all(int fd, const char* data, size_t size, off_t offset);

// A failed fsync means the kernel may have dropped our data; carrying on
// could acknowledge bytes that are not on disk. These stop the process instead.
void fsync_or_die(int fd, const std::string& what);
void fsync_dir(const std::string& dir);

}  // namespace dfs
