// `dfs mount`: the namespace as a local file system, through FUSE.
//
// Every operation is done with this process's dfs key, so the masters check
// it as they check the CLI. Reads fetch only what they cover, with readahead
// (client/mount/file_reader.h); a file created (or opened with O_TRUNC) is
// written front to back as an upload and appears whole when it is closed.
// What a local file system allows and dfs does not (a write anywhere but
// the end, a write into an existing file) fails with EOPNOTSUPP.
// docs/mount.md has the whole list.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "client/client.h"

namespace dfs {

struct MountOptions {
  ClientOptions client;
  std::string mountpoint;
  bool foreground = false;
  bool debug = false;              // log every request to the masters
  bool allow_other = false;        // other local users may use the mount (as this key)
  int64_t attr_ttl_ms = 1000;      // how long attributes and names are trusted
  size_t cache_entries = 1 << 20;  // bound on the attribute cache
  uint64_t readahead_min = 256 << 10;
  uint64_t readahead_max = 16 << 20;  // per open file; it holds at most two windows
  std::string log_file;               // "" : standard error in the foreground, else none
};

// Mounts and serves until unmounted (fusermount3 -u, umount) or SIGTERM /
// SIGINT, which unmount cleanly. Without `foreground`, returns in the parent
// once the mount is up (0) or failed (1, the reason printed); the served
// mount goes on in a detached child. The process must have started no
// thread and made no ZeroMQ context before this.
int run_mount(const MountOptions& options);

}  // namespace dfs
