#include "master/sessions.h"

#include "master/keys.h"

namespace dfs {
namespace {

std::string session_key(uint64_t client) { return "s" + be64(client); }
std::string time_key(int64_t ms, uint64_t client) {
  return "t" + be64(static_cast<uint64_t>(ms)) + be64(client);
}

}  // namespace

std::optional<SessionRecord> Sessions::find(uint64_t client) const {
  auto v = store_->get(store_->sessions(), session_key(client));
  if (!v) return std::nullopt;
  return decode_stored<SessionRecord>(*v, "session of client " + std::to_string(client));
}

void Sessions::put(rocksdb::WriteBatch* batch, uint64_t client, const SessionRecord& record,
                   const std::optional<SessionRecord>& old) const {
  if (old) batch->Delete(store_->sessions(), time_key(old->last_active_ms, client));
  batch->Put(store_->sessions(), session_key(client), encode(record));
  batch->Put(store_->sessions(), time_key(record.last_active_ms, client), "");
}

bool Sessions::any_idle_before(int64_t time_ms) const {
  auto r = store_->scan(store_->sessions(), "t", time_key(time_ms, 0));
  bool any = r.valid();
  MetaStore::check_scan(r);
  return any;
}

size_t Sessions::expire(rocksdb::WriteBatch* batch, int64_t time_ms, size_t limit) const {
  size_t n = 0;
  auto r = store_->scan(store_->sessions(), "t", time_key(time_ms, 0));
  for (; r.valid() && n < limit; r.next()) {
    uint64_t client = from_be64(r.key().substr(9, 8));
    batch->Delete(store_->sessions(), r.key());
    batch->Delete(store_->sessions(), session_key(client));
    ++n;
  }
  MetaStore::check_scan(r);
  return n;
}

}  // namespace dfs
