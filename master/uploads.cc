#include "master/uploads.h"

#include <algorithm>
#include <cstdio>

namespace dfs {

std::string Uploads::new_id() {
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(rng_()),
                static_cast<unsigned long long>(rng_()));
  return buf;
}

Upload& Uploads::create(const std::string& path, uint64_t chunk_size, uint32_t replication,
                        uint32_t min_replication, bool overwrite, Clock::time_point now) {
  Upload u;
  u.id = new_id();
  u.path = path;
  u.chunk_size = chunk_size;
  u.replication = replication;
  u.min_replication = min_replication;
  u.overwrite = overwrite;
  u.last_active = now;
  std::string id = u.id;
  return uploads_.emplace(id, std::move(u)).first->second;
}

Upload* Uploads::find(const std::string& id, Clock::time_point now) {
  auto it = uploads_.find(id);
  if (it == uploads_.end()) return nullptr;
  it->second.last_active = now;
  return &it->second;
}

void Uploads::record_allocation(Upload& upload, const std::string& chunk_id, uint64_t size,
                                std::vector<std::string> workers) {
  upload.allocated[chunk_id] = Upload::Allocation{size, std::move(workers)};
  allocated_ids_.insert(chunk_id);
}

void Uploads::forget_allocations(const Upload& upload) {
  for (const auto& [chunk_id, allocation] : upload.allocated) allocated_ids_.erase(chunk_id);
}

std::optional<Upload> Uploads::take(const std::string& id) {
  auto it = uploads_.find(id);
  if (it == uploads_.end()) return std::nullopt;
  forget_allocations(it->second);
  Upload u = std::move(it->second);
  uploads_.erase(it);
  return u;
}

std::vector<Upload> Uploads::expire(Clock::time_point now) {
  std::vector<Upload> out;
  for (auto it = uploads_.begin(); it != uploads_.end();) {
    if (now - it->second.last_active > ttl_) {
      forget_allocations(it->second);
      out.push_back(std::move(it->second));
      it = uploads_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

ChunkInfo garbage_chunk(const std::string& id, std::vector<std::string> workers) {
  ChunkInfo c;
  c.id = id;
  c.size = 1;
  c.sha256 = std::string(64, '0');
  c.replicas = std::move(workers);
  return c;
}

std::vector<ChunkInfo> allocated_garbage(const Upload& upload, const std::vector<ChunkInfo>& keep) {
  std::vector<ChunkInfo> out;
  for (const auto& [chunk_id, allocation] : upload.allocated) {
    bool kept =
        std::any_of(keep.begin(), keep.end(), [&](const ChunkInfo& c) { return c.id == chunk_id; });
    if (kept) continue;
    out.push_back(garbage_chunk(chunk_id, allocation.workers));
  }
  return out;
}

}  // namespace dfs
