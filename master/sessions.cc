#include "master/sessions.h"

#include <algorithm>

#include "master/keys.h"

namespace dfs {
namespace {

// The expiry index is coarse: a client active again within the same minute
// keeps its index key, so its every request writes one key, not three.
// Records expire up to two minutes late, against an idle limit of minutes.
constexpr int64_t kBucketMs = 60000;

int64_t bucket_of(int64_t ms) { return ms - ms % kBucketMs; }
std::string session_key(uint64_t client) { return "s" + be64(client); }
std::string bucket_key(int64_t bucket_ms, uint64_t client) {
  return "m" + be64(static_cast<uint64_t>(bucket_ms)) + be64(client);
}
// The exact-time index of stores written before the coarse one; only read.
std::string legacy_time_key(int64_t ms, uint64_t client) {
  return "t" + be64(static_cast<uint64_t>(ms)) + be64(client);
}
// The first bucket key that is not idle before `time_ms`: a bucket counts
// as idle only once all of it is older than `time_ms`.
std::string idle_bucket_end(int64_t time_ms) {
  return bucket_key(std::max<int64_t>(time_ms - kBucketMs, 0), 0);
}

}  // namespace

std::optional<SessionRecord> Sessions::find(uint64_t client) const {
  if (auto it = recent_.find(client); it != recent_.end()) return it->second;
  auto v = store_->get(store_->sessions(), session_key(client));
  if (!v) return std::nullopt;
  auto record = decode_stored<SessionRecord>(*v, "session of client " + std::to_string(client));
  remember(client, record);
  return record;
}

void Sessions::remember(uint64_t client, const SessionRecord& record) const {
  if (recent_.size() >= kMaxRemembered && !recent_.count(client)) recent_.clear();
  recent_[client] = record;
}

void Sessions::put(rocksdb::WriteBatch* batch, uint64_t client, const SessionRecord& record,
                   const std::optional<SessionRecord>& old) const {
  int64_t bucket = bucket_of(record.last_active_ms);
  if (!old || bucket_of(old->last_active_ms) != bucket) {
    if (old) batch->Delete(store_->sessions(), bucket_key(bucket_of(old->last_active_ms), client));
    batch->Put(store_->sessions(), bucket_key(bucket, client), "");
  }
  batch->Put(store_->sessions(), session_key(client), encode(record));
  remember(client, record);  // the batch is written before anything reads again
}

bool Sessions::any_idle_before(int64_t time_ms) const {
  auto r = store_->scan(store_->sessions(), "m", idle_bucket_end(time_ms));
  auto legacy = store_->scan(store_->sessions(), "t", legacy_time_key(time_ms, 0));
  bool any = r.valid() || legacy.valid();
  MetaStore::check_scan(r);
  MetaStore::check_scan(legacy);
  return any;
}

size_t Sessions::expire(rocksdb::WriteBatch* batch, int64_t time_ms, size_t limit) const {
  size_t n = 0;
  auto r = store_->scan(store_->sessions(), "m", idle_bucket_end(time_ms));
  for (; r.valid() && n < limit; r.next()) {
    uint64_t client = from_be64(r.key().substr(9, 8));
    batch->Delete(store_->sessions(), r.key());
    batch->Delete(store_->sessions(), session_key(client));
    recent_.erase(client);
    ++n;
  }
  MetaStore::check_scan(r);
  // An older store's index: its keys may be stale (it was not kept up when
  // the coarse index arrived), so the record decides.
  auto legacy = store_->scan(store_->sessions(), "t", legacy_time_key(time_ms, 0));
  for (; legacy.valid() && n < limit; legacy.next()) {
    uint64_t client = from_be64(legacy.key().substr(9, 8));
    batch->Delete(store_->sessions(), legacy.key());
    auto record = find(client);
    if (record && record->last_active_ms < time_ms) {
      batch->Delete(store_->sessions(), session_key(client));
      // Its coarse key too, if it was active since: left behind, it would
      // expire the client's next record early.
      batch->Delete(store_->sessions(), bucket_key(bucket_of(record->last_active_ms), client));
      recent_.erase(client);
    } else if (record) {
      batch->Put(store_->sessions(), bucket_key(bucket_of(record->last_active_ms), client), "");
    }
    ++n;
  }
  MetaStore::check_scan(legacy);
  return n;
}

}  // namespace dfs
