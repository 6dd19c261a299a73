#include "bus/files.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace dfs {

std::string errno_text(const std::string& what, int err) {
  return what + ": " + std::strerror(err);
}

Status write_all(int fd, const char* data, size_t size, off_t offset) {
  while (size > 0) {
    ssize_t n = ::pwrite(fd, data, size, offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOSPC || errno == EDQUOT) return {Code::kDiskFull, "no space left on device"};
      return io_error(errno_text("write", errno));
    }
    data += n;
    size -= static_cast<size_t>(n);
    offset += n;
  }
  return Status::ok();
}

void fsync_or_die(int fd, const std::string& what) {
  if (::fsync(fd) != 0) {
    spdlog::critical("fsync of {} failed: {}; stopping to avoid acknowledging lost data", what,
                     std::strerror(errno));
    spdlog::default_logger()->flush();
    std::abort();
  }
}

void fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    spdlog::critical("cannot open directory {} to fsync: {}", dir, std::strerror(errno));
    spdlog::default_logger()->flush();
    std::abort();
  }
  fsync_or_die(fd, dir);
  ::close(fd);
}

}  // namespace dfs
