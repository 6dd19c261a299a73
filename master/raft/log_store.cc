#include "master/raft/log_store.h"

#include <limits>

#include "codec/codec.h"
#include "master/keys.h"
#include "master/rocks_status.h"

namespace dfs::raft {

namespace {

constexpr char kHardStateKey[] = "h";
constexpr char kSnapshotKey[] = "s";

std::string entry_key(uint64_t index) { return "e" + be64(index); }

uint64_t key_index(const rocksdb::Slice& key) {
  return from_be64(std::string_view(key.data(), key.size()).substr(1));
}

// Every entry key sorts between these two.
const std::string kEntriesBegin = entry_key(0);
const std::string kEntriesEnd = "f";

Status corrupt(const std::string& what) {
  return Status(Code::kCorruption, "raft log store: " + what);
}

template <typename T>
Result<T> decode_record(const std::string& bytes, const std::string& what) {
  auto r = decode<T>(bytes);
  if (!r.is_ok()) return corrupt(what + " does not decode: " + r.status().message());
  return r;
}

}  // namespace

Result<std::unique_ptr<LogStore>> LogStore::open(const std::string& dir) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.paranoid_checks = true;
  options.max_open_files = 64;
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(options, dir, &raw);
  if (!s.ok()) return from_rocks(s, "cannot open raft log store " + dir);
  std::unique_ptr<LogStore> store(new LogStore());
  store->db_.reset(raw);
  std::unique_ptr<rocksdb::Iterator> it(store->db_->NewIterator(rocksdb::ReadOptions()));
  it->SeekForPrev(kEntriesEnd);
  if (it->Valid() && it->key().starts_with("e") && it->key().size() == 9) {
    store->last_stored_ = key_index(it->key());
  }
  if (!it->status().ok()) return from_rocks(it->status(), "cannot read raft log store " + dir);
  return store;
}

LogStore::~LogStore() = default;

Status LogStore::write(rocksdb::WriteBatch* batch, bool sync, const char* what) {
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  return from_rocks(db_->Write(wo, batch), std::string("raft log store: cannot ") + what);
}

Status LogStore::save(const Ready& rd, bool sync) {
  rocksdb::WriteBatch batch;
  auto* cf = db_->DefaultColumnFamily();
  uint64_t last = last_stored_;
  if (rd.snapshot) {
    // A snapshot from the leader replaces the whole log.
    if (last > 0) batch.DeleteRange(cf, kEntriesBegin, kEntriesEnd);
    batch.Put(kSnapshotKey, encode(*rd.snapshot));
    last = 0;
  }
  if (!rd.entries.empty()) {
    // Entries from the first new one on are replaced: a conflict truncates.
    if (rd.entries.front().index <= last) {
      batch.DeleteRange(cf, entry_key(rd.entries.front().index), kEntriesEnd);
    }
    for (const auto& e : rd.entries) batch.Put(entry_key(e.index), encode(e));
    last = rd.entries.back().index;
  }
  if (rd.hard_state) batch.Put(kHardStateKey, encode(*rd.hard_state));
  if (batch.Count() == 0) return Status::ok();
  // Only entries, snapshots, terms, votes and the joining state must be on
  // disk before anything leaves. A commit index that moved alone is
  // written without a sync: lost in a crash, it is learnt again from the
  // leader (the log's WAL keeps a prefix, so it never outruns the entries).
  bool must_sync = rd.snapshot || !rd.entries.empty() ||
                   (rd.hard_state && (rd.hard_state->term != synced_hs_.term ||
                                      rd.hard_state->vote != synced_hs_.vote ||
                                      rd.hard_state->joining != synced_hs_.joining));
  DFS_RETURN_IF_ERROR(write(&batch, sync && must_sync, "save a ready batch"));
  if (rd.hard_state) synced_hs_ = *rd.hard_state;
  last_stored_ = last;
  return Status::ok();
}

Status LogStore::save_snapshot(const Snapshot& snapshot) {
  rocksdb::WriteBatch batch;
  batch.Put(kSnapshotKey, encode(snapshot));
  batch.DeleteRange(db_->DefaultColumnFamily(), kEntriesBegin, entry_key(snapshot.meta.index + 1));
  return write(&batch, true, "save a snapshot");
}

Result<Persisted> LogStore::load() const {
  Persisted p;
  std::string bytes;
  auto s = db_->Get(rocksdb::ReadOptions(), kHardStateKey, &bytes);
  if (s.ok()) {
    auto hs = decode_record<HardState>(bytes, "hard state");
    if (!hs.is_ok()) return hs.status();
    p.hard_state = *hs;
  } else if (!s.IsNotFound()) {
    return from_rocks(s, "raft log store: cannot read the hard state");
  }
  s = db_->Get(rocksdb::ReadOptions(), kSnapshotKey, &bytes);
  if (s.ok()) {
    auto snap = decode_record<Snapshot>(bytes, "snapshot");
    if (!snap.is_ok()) return snap.status();
    p.snapshot = std::move(snap).value();
  } else if (!s.IsNotFound()) {
    return from_rocks(s, "raft log store: cannot read the snapshot");
  }

  uint64_t prev_index = p.snapshot.meta.index;
  uint64_t prev_term = p.snapshot.meta.term;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(kEntriesBegin); it->Valid() && it->key().compare(kEntriesEnd) < 0; it->Next()) {
    if (it->key().size() != 9) return corrupt("malformed entry key");
    uint64_t index = key_index(it->key());
    auto e = decode_record<Entry>(it->value().ToString(), "entry " + std::to_string(index));
    if (!e.is_ok()) return e.status();
    if (e->index != index) {
      return corrupt("entry stored at " + std::to_string(index) + " says it is " +
                     std::to_string(e->index));
    }
    if (index != prev_index + 1) {
      return corrupt("entries jump from " + std::to_string(prev_index) + " to " +
                     std::to_string(index));
    }
    if (e->term < prev_term) {
      return corrupt("entry " + std::to_string(index) + " has term " + std::to_string(e->term) +
                     ", older than the term before it (" + std::to_string(prev_term) + ")");
    }
    prev_index = index;
    prev_term = e->term;
    p.entries.push_back(std::move(e).value());
  }
  if (!it->status().ok()) return from_rocks(it->status(), "raft log store: cannot read entries");
  if (p.hard_state.commit > prev_index) {
    return corrupt("the hard state commits index " + std::to_string(p.hard_state.commit) +
                   " but the log ends at " + std::to_string(prev_index));
  }
  if (p.hard_state.term < prev_term) {
    return corrupt("the log holds term " + std::to_string(prev_term) +
                   ", newer than the hard state's term " + std::to_string(p.hard_state.term));
  }
  return p;
}

}  // namespace dfs::raft
