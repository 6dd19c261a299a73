#include "client/local_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace dfs {

namespace {
Status os_error(const std::string& what, int err) {
  if (err == ENOSPC) return Status(Code::kDiskFull, what + ": no space left on local device");
  return io_error(what + ": " + std::strerror(err));
}
}  // namespace

Status pread_exact(int fd, char* buf, size_t len, uint64_t offset, const std::string& what) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::pread(fd, buf + done, len - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return os_error(what, errno);
    if (n == 0) return io_error(what + ": file shrank while it was being read");
    done += static_cast<size_t>(n);
  }
  return Status::ok();
}

Status pwrite_all(int fd, const char* buf, size_t len, uint64_t offset, const std::string& what) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::pwrite(fd, buf + done, len - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return os_error(what, errno);
    done += static_cast<size_t>(n);
  }
  return Status::ok();
}

Status write_all_fd(int fd, const char* buf, size_t len, const std::string& what) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::write(fd, buf + done, len - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return os_error(what, errno);
    done += static_cast<size_t>(n);
  }
  return Status::ok();
}

Result<size_t> read_full(int fd, char* buf, size_t len, const std::string& what) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::read(fd, buf + done, len - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return os_error(what, errno);
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

Result<int> anonymous_temp_file() {
  const char* dir = std::getenv("TMPDIR");
  std::string base = dir && *dir ? dir : "/tmp";
  int fd = ::open(base.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return fd;
  std::string tmpl = base + "/dfs-spool-XXXXXX";
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  fd = ::mkstemp(name.data());
  if (fd < 0) return os_error("create a temporary file in " + base, errno);
  ::unlink(name.data());
  return fd;
}

Status copy_fd(int from, int to, uint64_t len, const std::string& what) {
  std::vector<char> buf(1 << 20);
  uint64_t off = 0;
  while (off < len) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), len - off));
    DFS_RETURN_IF_ERROR(pread_exact(from, buf.data(), n, off, what));
    DFS_RETURN_IF_ERROR(write_all_fd(to, buf.data(), n, what));
    off += n;
  }
  return Status::ok();
}

}  // namespace dfs
