#include "master/meta_store.h"

#include <spdlog/spdlog.h>

#include <cstdlib>

namespace dfs {

Result<std::unique_ptr<MetaStore>> MetaStore::open(const std::string& dir) {
  rocksdb::DBOptions options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.paranoid_checks = true;
  options.max_open_files = 256;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
      {"inodes", rocksdb::ColumnFamilyOptions()},
      {"workers", rocksdb::ColumnFamilyOptions()},
      {"garbage", rocksdb::ColumnFamilyOptions()},
      {"chunks", rocksdb::ColumnFamilyOptions()},
  };
  std::unique_ptr<MetaStore> store(new MetaStore());
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(options, dir, cfs, &store->handles_, &raw);
  if (!s.ok()) return from_rocks(s, "cannot open metadata in " + dir);
  store->db_.reset(raw);
  return store;
}

MetaStore::~MetaStore() {
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  if (db_) db_->Close();
}

void MetaStore::write_durable(rocksdb::WriteBatch* batch) {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  auto s = db_->Write(wo, batch);
  if (!s.ok()) {
    spdlog::critical("metadata write failed: {}; stopping so no acknowledged change is lost",
                     s.ToString());
    spdlog::default_logger()->flush();
    std::abort();
  }
}

}  // namespace dfs
