// What `dfs put` remembers of an upload in progress, so that running it again
// after an interruption sends only the chunks the masters have not recorded.
//
// One small text file per (cluster, remote path), "key = value" lines, mode
// 0600 in a 0700 directory. It names the upload and the local file as it was
// when the upload started; a resume goes on only if the file is still that
// file (path, size, modification time, inode and device), else it starts
// over. The master's record of written chunks is the authority on what is
// left to send: the manifest only finds the upload again.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <optional>
#include <string>

#include "codec/status.h"

namespace dfs {

// A local file's identity: if any of it changed, so may have its bytes.
struct LocalFileIdentity {
  std::string path;  // absolute
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  uint64_t inode = 0;
  uint64_t device = 0;
  bool operator==(const LocalFileIdentity&) const = default;
};

// The put's own options (0: the cluster's default): a rerun with others
// starts over rather than finish an upload made to the old ones.
struct PutRequestOptions {
  uint64_t chunk_size = 0;
  uint32_t replication = 0;
  uint32_t min_replication = 0;
  bool overwrite = false;
  bool operator==(const PutRequestOptions&) const = default;
};

struct UploadManifest {
  std::string remote;
  std::string upload_id;
  uint64_t chunk_size = 0;  // the upload's
  LocalFileIdentity local;
  PutRequestOptions options;
};

LocalFileIdentity identity_of(const std::string& absolute_path, const struct stat& st);

std::string format_manifest(const UploadManifest& m);
// Refuses text that lacks a field or holds a malformed one.
Result<UploadManifest> parse_manifest(const std::string& text);

// $XDG_STATE_HOME/dfs/uploads, else ~/.local/state/dfs/uploads; "" when
// neither variable is set (no resume then).
std::string default_manifest_dir();
// The manifest's file for `remote` on the cluster named by `cluster`.
std::string manifest_path(const std::string& dir, const std::string& cluster,
                          const std::string& remote);

// nullopt when there is none.
Result<std::optional<UploadManifest>> load_manifest(const std::string& path);
// Written whole under a temporary name and renamed; creates the directory.
Status save_manifest(const std::string& path, const UploadManifest& m);
void remove_manifest(const std::string& path);

}  // namespace dfs
