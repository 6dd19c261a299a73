// Key files, CURVE and ticket, public and secret, from arbitrary bytes on
// disk: loaded or refused with a message, never a crash.
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "bus/curve_keys.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = [] {
    char dir[] = "/tmp/dfs-fuzz-key-XXXXXX";
    if (!mkdtemp(dir)) std::abort();
    return std::string(dir) + "/k.key";
  }();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) std::abort();
  if (size > 0 && ::write(fd, data, size) != static_cast<ssize_t>(size)) std::abort();
  ::close(fd);
  for (auto kind : {dfs::KeyKind::kCurve, dfs::KeyKind::kTicket}) {
    for (bool secret : {false, true}) (void)dfs::load_key_file(path, secret, kind);
  }
  return 0;
}
