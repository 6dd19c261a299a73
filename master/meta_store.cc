#include "master/meta_store.h"

#include <spdlog/spdlog.h>

#include <rocksdb/cache.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/utilities/table_properties_collectors.h>

#include <cstdio>
#include <cstdlib>

#include "codec/sha256.h"

namespace dfs {

Result<std::unique_ptr<MetaStore>> MetaStore::open(const std::string& dir, bool wal) {
  rocksdb::DBOptions options;
  // Without a WAL, a flush of one column family but not another would
  // leave, after a crash, an applied index that disagrees with the data.
  options.atomic_flush = !wal;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.paranoid_checks = true;
  options.max_open_files = 256;
  // Stats and lookups read the same few keys again and again: a row cache
  // answers them without walking a table file's index and blocks.
  options.row_cache = rocksdb::NewLRUCache(32 << 20);
  // Uploads, sessions and garbage are queues: nearly every key written is
  // deleted soon after. A table file that is mostly deletions is compacted
  // early, so scans do not wade through tombstones until the next size-based
  // compaction comes by.
  // Most lookups are point reads, and a create's are of names that do not
  // exist yet: a Bloom filter answers those without reading table blocks.
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  rocksdb::ColumnFamilyOptions point_reads;
  point_reads.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  rocksdb::ColumnFamilyOptions churning = point_reads;
  churning.table_properties_collector_factories.push_back(
      rocksdb::NewCompactOnDeletionCollectorFactory(1024, 512, 0.5));
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
      {"inodes", point_reads},
      {"workers", rocksdb::ColumnFamilyOptions()},
      {"garbage", churning},
      {"chunks", point_reads},
      {"uploads", churning},
      {"sessions", churning},
  };
  std::unique_ptr<MetaStore> store(new MetaStore());
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(options, dir, cfs, &store->handles_, &raw);
  if (!s.ok()) return from_rocks(s, "cannot open metadata in " + dir);
  store->db_.reset(raw);
  store->wal_ = wal;
  return store;
}

MetaStore::~MetaStore() {
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  if (db_) db_->Close();
}

void fatal_state(const std::string& what) {
  spdlog::critical("{}; stopping so that no replica diverges", what);
  spdlog::default_logger()->flush();
  // Also where whoever started the process looks first, whatever the log sink.
  std::fprintf(stderr, "dfs-master: fatal: %s\n", what.c_str());
  std::abort();
}

namespace {
[[noreturn]] void fatal(const std::string& what, const rocksdb::Status& s) {
  fatal_state("metadata " + what + " failed: " + s.ToString());
}
}  // namespace

void MetaStore::check_scan(const rocksdb::Iterator& it) {
  if (!it.status().ok()) fatal("scan", it.status());
}

void MetaStore::check_scan(const KeyRange& range) {
  if (!range.status().ok()) fatal("scan", range.status());
}

KeyRange::KeyRange(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, std::string_view from,
                   std::string to)
    : to_(std::move(to)), bound_(to_) {
  rocksdb::ReadOptions ro;
  if (!to_.empty()) ro.iterate_upper_bound = &bound_;
  it_.reset(db->NewIterator(ro, cf));
  it_->Seek(rocksdb::Slice(from.data(), from.size()));
}

std::string prefix_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xff) end.pop_back();
  if (!end.empty()) end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  return end;
}

void MetaStore::write(rocksdb::WriteBatch* batch, bool sync) {
  rocksdb::WriteOptions wo;
  wo.sync = sync && wal_;
  wo.disableWAL = !wal_;
  auto s = db_->Write(wo, batch);
  if (!s.ok()) fatal("write", s);
}

std::optional<std::string> MetaStore::get(rocksdb::ColumnFamilyHandle* cf, std::string_view key) {
  std::string value;
  auto s = db_->Get(rocksdb::ReadOptions(), cf, rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) fatal("read", s);
  return value;
}

std::string MetaStore::digest() {
  Sha256 hash;
  auto feed = [&](rocksdb::Slice s) {
    uint64_t n = s.size();
    hash.update(&n, sizeof n);
    hash.update(s.data(), s.size());
  };
  for (auto* cf : handles_) {
    feed(cf->GetName());
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      feed(it->key());
      feed(it->value());
    }
    check_scan(*it);
  }
  return hash.finish_hex();
}

Status MetaStore::checkpoint(const std::string& dir) {
  rocksdb::Checkpoint* raw = nullptr;
  auto s = rocksdb::Checkpoint::Create(db_.get(), &raw);
  if (!s.ok()) return from_rocks(s, "cannot start a checkpoint");
  std::unique_ptr<rocksdb::Checkpoint> cp(raw);
  s = cp->CreateCheckpoint(dir);
  if (!s.ok()) return from_rocks(s, "cannot checkpoint the metadata into " + dir);
  return Status::ok();
}

}  // namespace dfs
