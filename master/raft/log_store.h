// A Raft node's durable state in RocksDB: its hard state, its log entries
// and its newest snapshot. Each save() writes one Ready as a single
// WriteBatch, synced, so a crash leaves all of it or none of it; load()
// trusts nothing it cannot check (entries must be contiguous after the
// snapshot, terms must not go back, the commit index must lie in the log).
//
// Keys (one column family):
//   "h"                HardState (msgpack)
//   "s"                Snapshot (msgpack): meta and the application's data
//   "e" + be64(index)  Entry (msgpack)
#pragma once

#include <rocksdb/db.h>

#include <memory>
#include <string>

#include "master/raft/raft.h"

namespace dfs::raft {

class LogStore {
 public:
  // Opens (creating if needed) the store in directory `dir`.
  static Result<std::unique_ptr<LogStore>> open(const std::string& dir);
  ~LogStore();

  // What the node restarts from; kCorruption if the stored state does not
  // hang together.
  Result<Persisted> load() const;
  // Persists what `ready` asks for (its snapshot, entries and hard state) in
  // one batch, fsynced before it returns when `sync`.
  Status save(const Ready& ready, bool sync = true);
  // Persists a snapshot taken with Raft::compact and drops the entries it
  // covers, in one synced batch.
  Status save_snapshot(const Snapshot& snapshot);

 private:
  LogStore() = default;
  Status write(rocksdb::WriteBatch* batch, bool sync, const char* what);
  std::unique_ptr<rocksdb::DB> db_;
  // At least the highest entry index stored (0: none), so that an append deletes
  // a tail only when there is one to replace: range deletions on every
  // append would pile up tombstones on the hot path.
  uint64_t last_stored_ = 0;
  // The hard state last written, to tell a change that needs a sync (term,
  // vote, joining) from one that does not (commit alone). Its term, vote and
  // joining are on disk.
  HardState synced_hs_;
};

}  // namespace dfs::raft
