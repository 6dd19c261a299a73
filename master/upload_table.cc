#include "master/upload_table.h"

#include <algorithm>

#include "master/keys.h"

namespace dfs {
namespace {

std::string upload_key(const std::string& id) { return "u" + id; }
std::string time_key(int64_t ms, const std::string& id) {
  return "t" + be64(static_cast<uint64_t>(ms)) + id;
}
std::string allocation_key(const std::string& upload, const std::string& chunk) {
  return "a" + upload + chunk;
}
std::string chunk_key(const std::string& chunk) { return "c" + chunk; }
std::string written_key(const std::string& upload, uint64_t index) {
  return "w" + upload + be64(index);
}

std::string be32(uint32_t v) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((v >> (24 - 8 * i)) & 0xff);
  return out;
}
std::string part_key(const std::string& upload, uint32_t number) {
  return "p" + upload + be32(number);
}

}  // namespace

std::optional<UploadRecord> UploadTable::find(const std::string& id) const {
  auto v = store_->get(store_->uploads(), upload_key(id));
  if (!v) return std::nullopt;
  return decode_stored<UploadRecord>(*v, "upload " + id);
}

std::optional<AllocationRecord> UploadTable::allocation(const std::string& upload_id,
                                                        const std::string& chunk_id) const {
  auto v = store_->get(store_->uploads(), allocation_key(upload_id, chunk_id));
  if (!v) return std::nullopt;
  return decode_stored<AllocationRecord>(*v, "allocation " + chunk_id);
}

std::map<std::string, AllocationRecord> UploadTable::allocations(
    const std::string& upload_id) const {
  std::map<std::string, AllocationRecord> out;
  std::string prefix = allocation_key(upload_id, "");
  auto r = store_->scan_prefix(store_->uploads(), prefix);
  for (; r.valid(); r.next()) {
    std::string chunk(r.key().substr(prefix.size()));
    out[chunk] = decode_stored<AllocationRecord>(r.value(), "allocation " + chunk);
  }
  MetaStore::check_scan(r);
  return out;
}

bool UploadTable::is_allocated(const std::string& chunk_id) const {
  return store_->get(store_->uploads(), chunk_key(chunk_id)).has_value();
}

size_t UploadTable::allocated_on(const std::string& worker, size_t limit) const {
  size_t n = 0;
  auto r = store_->scan_prefix(store_->uploads(), "a");
  for (; r.valid() && n < limit; r.next()) {
    auto a = decode_stored<AllocationRecord>(r.value(), "allocation");
    n += std::find(a.workers.begin(), a.workers.end(), worker) != a.workers.end();
  }
  MetaStore::check_scan(r);
  return n;
}

std::vector<ChunkInfo> UploadTable::written(const std::string& upload_id, uint64_t from_index,
                                            size_t limit) const {
  std::vector<ChunkInfo> out;
  auto r = store_->scan(store_->uploads(), written_key(upload_id, from_index),
                        written_key(upload_id, UINT64_MAX));
  for (; r.valid() && out.size() < limit; r.next()) {
    out.push_back(decode_stored<ChunkInfo>(r.value(), "written chunk"));
  }
  MetaStore::check_scan(r);
  return out;
}

std::optional<PartRecord> UploadTable::part(const std::string& upload_id, uint32_t number) const {
  auto v = store_->get(store_->uploads(), part_key(upload_id, number));
  if (!v) return std::nullopt;
  return decode_stored<PartRecord>(*v, "part " + std::to_string(number));
}

std::vector<std::pair<uint32_t, PartRecord>> UploadTable::parts(const std::string& upload_id,
                                                                uint32_t after,
                                                                size_t limit) const {
  std::vector<std::pair<uint32_t, PartRecord>> out;
  if (after == UINT32_MAX) return out;
  const std::string from = part_key(upload_id, after + 1);
  auto r = store_->scan(store_->uploads(), from, part_key(upload_id, UINT32_MAX));
  for (; r.valid() && out.size() < limit; r.next()) {
    const auto key = r.key();
    uint32_t number = 0;
    for (size_t i = key.size() - 4; i < key.size(); ++i) {
      number = (number << 8) | static_cast<unsigned char>(key[i]);
    }
    out.emplace_back(number, decode_stored<PartRecord>(r.value(), "part"));
  }
  MetaStore::check_scan(r);
  return out;
}

std::vector<std::string> UploadTable::idle_before(int64_t time_ms, size_t limit) const {
  std::vector<std::string> out;
  auto r = store_->scan(store_->uploads(), "t", time_key(time_ms, ""));
  for (; r.valid() && out.size() < limit; r.next()) out.emplace_back(r.key().substr(9));
  MetaStore::check_scan(r);
  return out;
}

void UploadTable::put(rocksdb::WriteBatch* batch, const std::string& id, const UploadRecord& record,
                      const UploadRecord* old) const {
  if (old != nullptr) batch->Delete(store_->uploads(), time_key(old->last_active_ms, id));
  batch->Put(store_->uploads(), upload_key(id), encode(record));
  batch->Put(store_->uploads(), time_key(record.last_active_ms, id), "");
}

void UploadTable::add_allocation(rocksdb::WriteBatch* batch, const std::string& upload_id,
                                 const std::string& chunk_id,
                                 const AllocationRecord& allocation) const {
  batch->Put(store_->uploads(), allocation_key(upload_id, chunk_id), encode(allocation));
  batch->Put(store_->uploads(), chunk_key(chunk_id), upload_id);
}

void UploadTable::mark_written(rocksdb::WriteBatch* batch, const std::string& upload_id,
                               const ChunkInfo& chunk) const {
  batch->Put(store_->uploads(), written_key(upload_id, chunk.index), encode(chunk));
}

void UploadTable::remove_allocation(rocksdb::WriteBatch* batch, const std::string& upload_id,
                                    const std::string& chunk_id) const {
  batch->Delete(store_->uploads(), allocation_key(upload_id, chunk_id));
  batch->Delete(store_->uploads(), chunk_key(chunk_id));
}

void UploadTable::put_part(rocksdb::WriteBatch* batch, const std::string& upload_id,
                           uint32_t number, const PartRecord& part) const {
  batch->Put(store_->uploads(), part_key(upload_id, number), encode(part));
}

void UploadTable::remove(rocksdb::WriteBatch* batch, const std::string& id,
                         const UploadRecord& record) const {
  for (const auto& [chunk, allocation] : allocations(id)) {
    batch->Delete(store_->uploads(), allocation_key(id, chunk));
    batch->Delete(store_->uploads(), chunk_key(chunk));
  }
  for (const auto& c : written(id)) batch->Delete(store_->uploads(), written_key(id, c.index));
  for (const auto& [number, part] : parts(id, 0, SIZE_MAX)) {
    batch->Delete(store_->uploads(), part_key(id, number));
  }
  batch->Delete(store_->uploads(), upload_key(id));
  batch->Delete(store_->uploads(), time_key(record.last_active_ms, id));
}

}  // namespace dfs
