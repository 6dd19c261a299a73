// The master's RocksDB database and its column families:
//   default  counters: next inode id, applied log index, file/dir counts
//   inodes   directory entries: be64(parent inode) + name -> Inode (msgpack)
//   workers  worker id -> WorkerAddr, the last endpoint each worker announced
//   garbage  worker id + '\0' + chunk id -> "", replicas still to delete
//   chunks   chunk id -> ChunkRecord ("" when empty), every chunk some file references
#pragma once

#include <rocksdb/db.h>

#include <memory>
#include <string>

#include "codec/status.h"
#include "master/rocks_status.h"

namespace dfs {

class MetaStore {
 public:
  static Result<std::unique_ptr<MetaStore>> open(const std::string& dir);
  ~MetaStore();

  rocksdb::DB* db() { return db_.get(); }
  rocksdb::ColumnFamilyHandle* meta() { return handles_[0]; }
  rocksdb::ColumnFamilyHandle* inodes() { return handles_[1]; }
  rocksdb::ColumnFamilyHandle* workers() { return handles_[2]; }
  rocksdb::ColumnFamilyHandle* garbage() { return handles_[3]; }
  rocksdb::ColumnFamilyHandle* chunks() { return handles_[4]; }

  // Writes the batch durably (WAL fsync) or aborts the process: once a
  // command is applied in memory it must be on disk, or replicas diverge.
  void write_durable(rocksdb::WriteBatch* batch);

 private:
  MetaStore() = default;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

}  // namespace dfs
