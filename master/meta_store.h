// The master's RocksDB database and its column families:
//   default  counters: next inode id, applied log index, file/dir counts
//   inodes   directory entries: be64(parent inode) + name -> Inode (msgpack)
//   workers  worker id -> WorkerAddr, the last endpoint each worker announced
//   garbage  worker id + '\0' + chunk id -> "", replicas still to delete
//   chunks   chunk id -> ChunkRecord ("" when empty), every chunk some file references
//   uploads  uploads in progress and what was allocated to them (master/upload_table.h)
//   sessions the last answer given to each client, for exactly-once (master/sessions.h)
#pragma once

#include <rocksdb/db.h>

#include <memory>
#include <optional>
#include <string>

#include "codec/codec.h"
#include "codec/status.h"
#include "master/rocks_status.h"

namespace dfs {

// The keys of one column family in [from, to), an empty `to` meaning no
// end. `to` is RocksDB's upper bound for the iterator: without one, a scan
// whose range holds no live key walks on over every deleted key after it
// (deletions stay as tombstones until compaction), so each scan would cost
// as much as all recent deletions. Not movable: the iterator points at the
// bound.
class KeyRange {
 public:
  KeyRange(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, std::string_view from, std::string to);
  KeyRange(const KeyRange&) = delete;
  KeyRange& operator=(const KeyRange&) = delete;

  bool valid() const { return it_->Valid(); }
  void next() { it_->Next(); }
  std::string_view key() const { return {it_->key().data(), it_->key().size()}; }
  std::string_view value() const { return {it_->value().data(), it_->value().size()}; }
  // The iterator's error, if it ended on one rather than at the end.
  rocksdb::Status status() const { return it_->status(); }

 private:
  std::string to_;
  rocksdb::Slice bound_;
  std::unique_ptr<rocksdb::Iterator> it_;
};

// The first key after every key that starts with `prefix` ("" when there is
// none: a prefix of 0xff bytes only).
std::string prefix_end(std::string_view prefix);

class MetaStore {
 public:
  // With `wal`, RocksDB logs every write ahead (synced when asked). Without,
  // writes live in memory until a flush, which covers every column family
  // at once, so a crash takes the state back to one consistent earlier
  // point: right for a state machine whose log replays what was lost,
  // and it spares each applied entry a write to a second log.
  static Result<std::unique_ptr<MetaStore>> open(const std::string& dir, bool wal = true);
  ~MetaStore();

  rocksdb::DB* db() { return db_.get(); }
  rocksdb::ColumnFamilyHandle* meta() { return handles_[0]; }
  rocksdb::ColumnFamilyHandle* inodes() { return handles_[1]; }
  rocksdb::ColumnFamilyHandle* workers() { return handles_[2]; }
  rocksdb::ColumnFamilyHandle* garbage() { return handles_[3]; }
  rocksdb::ColumnFamilyHandle* chunks() { return handles_[4]; }
  rocksdb::ColumnFamilyHandle* uploads() { return handles_[5]; }
  rocksdb::ColumnFamilyHandle* sessions() { return handles_[6]; }

  // Writes the batch or aborts the process: once a command is applied in
  // memory it must be stored, or replicas diverge. With `sync` (and a WAL)
  // the WAL is fsynced first; otherwise a crash may lose the newest batches,
  // which is fine only when a durable log replays them (the applied index
  // goes back with them).
  void write(rocksdb::WriteBatch* batch, bool sync);

  // The value at `key`, nullopt when absent; aborts on an I/O error, since a
  // state machine that cannot read its own state must not go on applying.
  std::optional<std::string> get(rocksdb::ColumnFamilyHandle* cf, std::string_view key);

  // The keys of `cf` in [from, to), and those starting with `prefix`.
  KeyRange scan(rocksdb::ColumnFamilyHandle* cf, std::string_view from, std::string to) {
    return KeyRange(db_.get(), cf, from, std::move(to));
  }
  KeyRange scan_prefix(rocksdb::ColumnFamilyHandle* cf, std::string_view prefix) {
    return KeyRange(db_.get(), cf, prefix, prefix_end(prefix));
  }

  // Aborts when an iterator ended on an error rather than at the end.
  static void check_scan(const rocksdb::Iterator& it);
  static void check_scan(const KeyRange& range);

  // SHA-256 (hex) over every key and value of every column family: equal
  // digests mean equal state.
  std::string digest();

  // A consistent copy of the database in `dir` (which must not exist), its
  // table files hard-linked: RocksDB's checkpoint, memtables flushed first.
  Status checkpoint(const std::string& dir);

 private:
  MetaStore() = default;
  bool wal_ = true;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

// Logs at critical level and aborts: the stored state cannot be trusted, and
// a state machine that goes on applying over it diverges from its replicas.
[[noreturn]] void fatal_state(const std::string& what);

// A stored record decoded, or fatal_state() if it does not decode.
template <typename T>
T decode_stored(std::string_view value, const std::string& what) {
  auto r = decode<T>(value);
  if (!r.is_ok()) fatal_state("stored " + what + " is unreadable: " + r.status().to_string());
  return std::move(r).value();
}

}  // namespace dfs
