#include "master/replica_map.h"

#include <algorithm>

namespace dfs {

void ReplicaMap::link(const std::string& worker, const Chunks::value_type* chunk) {
  workers_[worker].insert(chunk);
}

void ReplicaMap::unlink(const std::string& worker, const Chunks::value_type* chunk) {
  auto it = workers_.find(worker);
  if (it == workers_.end()) return;
  it->second.erase(chunk);
  if (it->second.empty()) workers_.erase(it);
}

void ReplicaMap::forget(const std::string& id) {
  auto it = chunks_.find(id);
  if (it == chunks_.end()) return;
  for (const auto& w : it->second.replicas) unlink(w, &*it);
  chunks_.erase(it);
  changed_.erase(id);
}

void ReplicaMap::set_file(std::string_view key_view, const Inode* inode, bool walked) {
  std::string key(key_view);
  std::vector<std::string> now;
  if (inode && !inode->is_dir()) {
    now.reserve(inode->chunks.size());
    for (const auto& c : inode->chunks) now.push_back(c.id);
  }
  // Chunks the entry held and no longer does: gone, unless another entry
  // took them meanwhile (a rename puts the new key before it deletes the old).
  if (auto old = files_.find(key); old != files_.end()) {
    for (const auto& id : old->second) {
      if (std::find(now.begin(), now.end(), id) != now.end()) continue;
      auto c = chunks_.find(id);
      if (c != chunks_.end() && c->second.entry == key) forget(id);
    }
    files_.erase(old);
  }
  if (now.empty()) return;
  for (const auto& info : inode->chunks) {
    auto [it, fresh] = chunks_.try_emplace(info.id);
    Chunk& c = it->second;
    for (const auto& w : c.replicas) {
      if (std::find(info.replicas.begin(), info.replicas.end(), w) == info.replicas.end()) {
        unlink(w, &*it);
      }
    }
    for (const auto& w : info.replicas) {
      if (std::find(c.replicas.begin(), c.replicas.end(), w) == c.replicas.end()) {
        link(w, &*it);
      }
    }
    bool changed = fresh || c.replicas != info.replicas || c.entry != key ||
                   c.replication != inode->replication || (walked && c.corrupt != info.corrupt);
    if (!changed) continue;
    c.changed_at = std::chrono::steady_clock::now();
    c.entry = key;
    c.replication = inode->replication;
    c.replicas = info.replicas;
    if (walked) {
      c.corrupt = info.corrupt;
    } else {
      changed_.insert(info.id);
    }
  }
  files_[key] = std::move(now);
}

void ReplicaMap::on_entry(std::string_view key, const Inode* inode) {
  set_file(key, inode, /*walked=*/false);
}

void ReplicaMap::on_chunk_record(std::string_view id, const ChunkRecord* record) {
  if (!record) return;  // the entry that dropped the chunk says so too
  auto it = chunks_.find(std::string(id));
  if (it == chunks_.end()) return;  // not reached by the walk yet: it reads the record then
  if (it->second.corrupt == record->corrupt) return;
  it->second.corrupt = record->corrupt;
  it->second.changed_at = std::chrono::steady_clock::now();
  changed_.insert(it->first);
}

Result<bool> ReplicaMap::load_page(const Namespace& ns, size_t budget) {
  if (loaded_) return true;
  auto last = ns.scan_entries(cursor_, budget, [&](std::string_view key, const Inode& inode) {
    if (inode.is_dir() || inode.chunks.empty()) return size_t{1};
    Inode filled = inode;
    ns.fill_corrupt(&filled);
    set_file(key, &filled, /*walked=*/true);
    return 1 + inode.chunks.size();
  });
  if (!last.is_ok()) return last.status();
  cursor_ = std::move(last).value();
  loaded_ = cursor_.empty();
  return loaded_;
}

const ReplicaMap::Chunk* ReplicaMap::find(const std::string& id) const {
  auto it = chunks_.find(id);
  return it == chunks_.end() ? nullptr : &it->second;
}

size_t ReplicaMap::count_on(const std::string& worker) const {
  auto it = workers_.find(worker);
  return it == workers_.end() ? 0 : it->second.size();
}

std::vector<std::string> ReplicaMap::chunks_on(const std::string& worker) const {
  std::vector<std::string> out;
  auto it = workers_.find(worker);
  if (it == workers_.end()) return out;
  out.reserve(it->second.size());
  for (const Chunks::value_type* c : it->second) out.push_back(c->first);
  return out;
}

std::vector<std::string> ReplicaMap::take_changed() {
  std::vector<std::string> out(changed_.begin(), changed_.end());
  changed_.clear();
  return out;
}

}  // namespace dfs
