// RocksDB statuses in dfs's terms, shared by the metadata store and the Raft
// log store.
#pragma once

#include <rocksdb/status.h>

#include <string>

#include "codec/status.h"

namespace dfs {

Status from_rocks(const rocksdb::Status& s, const std::string& what);

}  // namespace dfs
