// Repairs in the state machine: replicas added by a repair copy, and
// replicas dropped (surplus, corrupt, missing, long dead). The leader plans
// them from its own picture; what makes them safe is decided here, at apply
// time, against the state as of the entry.
#include <rocksdb/write_batch.h>

#include <algorithm>

#include "master/keys.h"
#include "master/namespace.h"

namespace dfs {
namespace {

bool contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace

void Namespace::forget_corrupt(const std::string& chunk_id, ChunkRecord* record,
                               const std::vector<std::string>& workers,
                               rocksdb::WriteBatch* batch) {
  size_t before = record->corrupt.size();
  for (const auto& w : workers) std::erase(record->corrupt, w);
  if (record->corrupt.size() == before) return;
  batch->Put(store_->chunks(), chunk_id, record->corrupt.empty() ? std::string() : encode(*record));
}

Result<Inode> Namespace::file_with_chunk(uint64_t parent, const std::string& name,
                                         const std::string& chunk_id, size_t* position) const {
  auto found = child(parent, name);
  if (!found.is_ok()) return found.status();
  if (!found->has_value() || (*found)->is_dir()) {
    return not_found("the file holding chunk " + chunk_id + " is gone (deleted or renamed)");
  }
  Inode inode = std::move(**found);
  auto it = std::find_if(inode.chunks.begin(), inode.chunks.end(),
                         [&](const ChunkInfo& c) { return c.id == chunk_id; });
  if (it == inode.chunks.end()) {
    return not_found("the file no longer holds chunk " + chunk_id + " (overwritten)");
  }
  *position = static_cast<size_t>(it - inode.chunks.begin());
  return inode;
}

Status Namespace::apply_replica_added(const ReplicaAddedCmd& cmd, rocksdb::WriteBatch* batch,
                                      Outcome* out) {
  size_t at = 0;
  auto file = file_with_chunk(cmd.parent, cmd.name, cmd.chunk_id, &at);
  if (!file.is_ok()) return file.status();
  auto record = chunk_record(cmd.chunk_id);
  if (!record.is_ok()) return record.status();
  ChunkInfo& chunk = file->chunks[at];
  std::vector<std::string> added;
  for (const auto& w : cmd.workers) {
    if (contains(chunk.replicas, w) || contains(added, w)) continue;  // a repeated report
    // A copy that waits to be deleted there, or one found corrupt and not
    // yet dropped, would be gone or bad behind the new record's back.
    if (garbage_pending(w, cmd.chunk_id)) {
      return Status(Code::kAlreadyExists,
                    "chunk " + cmd.chunk_id + " on " + w + " is waiting to be deleted there");
    }
    added.push_back(w);
  }
  if (added.empty()) return Status::ok();
  // A corrupt mark left for a worker that is not a replica (a stale report)
  // says nothing of the fresh, verified copy.
  forget_corrupt(cmd.chunk_id, &record.value(), added, batch);
  if (chunk.replicas.size() + added.size() > kMaxReplication) {
    return invalid_argument("chunk " + cmd.chunk_id + " would have more than " +
                            std::to_string(kMaxReplication) + " replicas");
  }
  chunk.replicas.insert(chunk.replicas.end(), added.begin(), added.end());
  put_entry(batch, cmd.parent, cmd.name, file.value());
  std::string who;
  for (const auto& w : added) {
    if (!who.empty()) who += ',';
    who += w;
  }
  out->event = ClusterEvent{"replica.added", cmd.chunk_id, who, 0, 0};
  return Status::ok();
}

Status Namespace::apply_replica_dropped(const ReplicaDroppedCmd& cmd, rocksdb::WriteBatch* batch,
                                        Outcome* out) {
  size_t at = 0;
  auto file = file_with_chunk(cmd.parent, cmd.name, cmd.chunk_id, &at);
  if (!file.is_ok()) return file.status();
  ChunkInfo& chunk = file->chunks[at];
  out->event =
      ClusterEvent{"replica.dropped", cmd.chunk_id, cmd.worker_id + " " + cmd.reason, 0, 0};
  auto record = chunk_record(cmd.chunk_id);
  if (!record.is_ok()) return record.status();
  if (!contains(chunk.replicas, cmd.worker_id)) {
    // A copy nothing records: it only has to be deleted (and any mark left
    // for it forgotten).
    batch->Put(store_->garbage(), garbage_key(cmd.worker_id, cmd.chunk_id), "");
    forget_corrupt(cmd.chunk_id, &record.value(), {cmd.worker_id}, batch);
    return Status::ok();
  }
  if (cmd.stray_only) {
    return Status(Code::kAlreadyExists, "the copy of chunk " + cmd.chunk_id + " on " +
                                            cmd.worker_id + " is recorded now; it is kept");
  }
  size_t good_left = 0;
  for (const auto& w : chunk.replicas) {
    if (w != cmd.worker_id && !contains(record->corrupt, w)) ++good_left;
  }
  if (good_left == 0) {
    return invalid_argument("chunk " + cmd.chunk_id + " on " + cmd.worker_id +
                            " is its last good replica; it is kept");
  }
  std::erase(chunk.replicas, cmd.worker_id);
  put_entry(batch, cmd.parent, cmd.name, file.value());
  forget_corrupt(cmd.chunk_id, &record.value(), {cmd.worker_id}, batch);
  batch->Put(store_->garbage(), garbage_key(cmd.worker_id, cmd.chunk_id), "");
  return Status::ok();
}

}  // namespace dfs
