#include "master/rocks_status.h"

namespace dfs {

Status from_rocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return Status::ok();
  if (s.IsNotFound()) return not_found(what);
  if (s.IsCorruption()) return Status(Code::kCorruption, what + ": " + s.ToString());
  return io_error(what + ": " + s.ToString());
}

}  // namespace dfs
