// ListObjects (V1 and V2) over dfs directories.
//
// A key "a/b/c" in bucket B is the file /B/a/b/c: each '/' in a key is a
// directory level. S3 lists keys in byte order; a directory walk gives
// that order when a directory named N sorts as "N/" among its siblings.
// With delimiter "/" a directory under the prefix is a common prefix and
// is not entered; with any other delimiter (or none) the walk goes down
// and groups keys as S3 does.
//
// A pure core: directories are read through `Lister`.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "client/s3/s3_error.h"
#include "codec/messages.h"

namespace dfs::s3 {

// The entries of a directory (a path in dfs) in name order; NotFound for a
// directory that does not exist.
using Lister = std::function<dfs::Result<std::vector<EntryInfo>>(const std::string& dir)>;

struct ListQuery {
  std::string prefix;
  std::string delimiter;
  std::string start_after;  // keys <= this are skipped (V1 marker, V2 token or start-after)
  size_t max_keys = 1000;
};

struct ListedObject {
  std::string key;
  EntryInfo entry;
};

struct Listing {
  std::vector<ListedObject> objects;
  std::vector<std::string> common_prefixes;
  bool truncated = false;
  // Where the next page starts (after this key or prefix).
  std::string next_after;
};

// Lists bucket `bucket` (an existing top-level directory).
Result<Listing> list_objects(const std::string& bucket, const ListQuery& query,
                             const Lister& lister);

}  // namespace dfs::s3
