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
  std::unique_ptr<rocksdb::Iterator> it(
      store_->db()->NewIterator(rocksdb::ReadOptions(), store_->sessions()));
  it->Seek("t");
  bool any =
      it->Valid() && it->key().starts_with("t") && it->key().compare(time_key(time_ms, 0)) < 0;
  MetaStore::check_scan(*it);
  return any;
}

size_t Sessions::expire(rocksdb::WriteBatch* batch, int64_t time_ms, size_t limit) const {
  std::string end = time_key(time_ms, 0);
  size_t n = 0;
  std::unique_ptr<rocksdb::Iterator> it(
      store_->db()->NewIterator(rocksdb::ReadOptions(), store_->sessions()));
  for (it->Seek("t"); it->Valid() && n < limit; it->Next()) {
    auto key = it->key();
    if (!key.starts_with("t") || key.compare(end) >= 0) break;
    uint64_t client = from_be64(std::string_view(key.data() + 9, 8));
    batch->Delete(store_->sessions(), key);
    batch->Delete(store_->sessions(), session_key(client));
    ++n;
  }
  MetaStore::check_scan(*it);
  return n;
}

}  // namespace dfs
