#include "client/mount/meta_cache.h"

namespace dfs {

std::optional<MetaCache::Hit> MetaCache::find(const std::string& path, int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = slots_.find(path);
  if (it == slots_.end()) return std::nullopt;
  if (it->second.expires_ms <= now_ms) {
    erase(it);
    return std::nullopt;
  }
  return it->second.hit;
}

void MetaCache::put(const std::string& path, const EntryInfo& entry, int64_t now_ms) {
  store(path, Hit{true, entry}, now_ms);
}

void MetaCache::put_missing(const std::string& path, int64_t now_ms) {
  store(path, Hit{false, {}}, now_ms);
}

void MetaCache::store(const std::string& path, Hit hit, int64_t now_ms) {
  if (ttl_ms_ <= 0 || capacity_ == 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = slots_.find(path);
  if (it != slots_.end()) erase(it);
  while (slots_.size() >= capacity_) erase(slots_.find(order_.front()));
  order_.push_back(path);
  slots_.emplace(path, Slot{std::move(hit), now_ms + ttl_ms_, std::prev(order_.end())});
}

void MetaCache::forget(const std::string& path, bool subtree) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = slots_.find(path);
  if (it != slots_.end()) erase(it);
  if (!subtree) return;
  const std::string prefix = path == "/" ? "/" : path + "/";
  for (auto i = slots_.begin(); i != slots_.end();) {
    auto next = std::next(i);
    if (i->first.compare(0, prefix.size(), prefix) == 0) erase(i);
    i = next;
  }
}

size_t MetaCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return slots_.size();
}

void MetaCache::erase(std::unordered_map<std::string, Slot>::iterator it) {
  order_.erase(it->second.age);
  slots_.erase(it);
}

}  // namespace dfs
