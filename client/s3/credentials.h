// The gateway's access keys: which S3 access key id is which dfs user.
//
// One line per key: ACCESS-KEY-ID SECRET-ACCESS-KEY DFS-KEY-FILE, where the
// key file is that user's dfs secret key (dfs keygen). The gateway talks to
// the cluster with that key for that user's requests, so the masters check
// each request as that user's own, and the gateway can act only for users
// whose keys it was given. A key file of "-" is the gateway's own key
// (a cluster run with --insecure has no keys). '#' starts a comment. The file must not be
// readable by group or others (it holds secrets).
#pragma once

#include <map>
#include <optional>
#include <string>

#include "bus/curve_keys.h"
#include "codec/status.h"

namespace dfs::s3 {

struct AccessKey {
  std::string secret;
  std::string key_file;
  KeyPair dfs_key;  // loaded from key_file
};

class Credentials {
 public:
  static Result<Credentials> load(const std::string& path);
  // Parses `text`; key files are loaded unless `load_keys` is false (tests).
  static Result<Credentials> parse(const std::string& text, const std::string& origin,
                                   bool load_keys);
  const AccessKey* find(const std::string& access_key) const;
  size_t size() const { return keys_.size(); }

 private:
  std::map<std::string, AccessKey> keys_;
};

}  // namespace dfs::s3
