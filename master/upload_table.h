// Uploads in progress as replicated state: which path each upload writes,
// which chunks were allocated to it and on which workers, and when it was
// last active. Storage only (keys and records in the `uploads` column
// family); the rules that decide what may change live in the state machine
// (master/namespace_uploads.cc), which writes through these calls into the
// batch of the command it applies.
//
// Keys:
//   'u' + upload id                      UploadRecord
//   't' + be64(last active ms) + id      "" (expiry order)
//   'a' + upload id + chunk id           AllocationRecord
//   'c' + chunk id                       upload id (is this chunk allocated?)
//   'w' + upload id + be64(chunk index)  ChunkInfo (that index is written)
//   'p' + upload id + be32(part number)  PartRecord (a multipart upload's part)
#pragma once

#include <rocksdb/write_batch.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "codec/messages.h"
#include "master/meta_store.h"

namespace dfs {

struct UploadRecord {
  std::string path;
  uint64_t chunk_size = 0;
  uint32_t replication = 0;
  uint32_t min_replication = 0;  // fewer replicas than this never commit
  bool overwrite = false;
  int64_t last_active_ms = 0;
  std::string owner;           // who started it ("": admin); only they may go on with it
  uint32_t mode = kModeUnset;  // of the file it makes
  bool multipart = false;      // written as numbered parts
  int64_t created_ms = 0;
  // A lease of chunk slots (CreateUploadCmd.slots), path empty: each
  // allocation commits as a one-chunk file of its own, and the lease ends
  // with its last slot.
  bool lease = false;
  DFS_MSGPACK_MAP(path, chunk_size, replication, min_replication, overwrite, last_active_ms, owner,
                  mode, multipart, created_ms, lease);
  Status validate() const { return Status::ok(); }
};

struct PartRecord {
  std::string etag;
  uint64_t size = 0;
  int64_t mtime_ms = 0;
  std::vector<ChunkInfo> chunks;  // at the part's indexes (kPartIndexStride)
  DFS_MSGPACK_MAP(etag, size, mtime_ms, chunks);
  Status validate() const { return Status::ok(); }
};

struct AllocationRecord {
  uint64_t size = 0;
  std::vector<std::string> workers;  // the pipeline, in order
  // The index it was allocated for (recorded since resumable uploads; an
  // older record has none, and may be used at any index).
  uint64_t index = 0;
  bool indexed = false;
  DFS_MSGPACK_MAP(size, workers, index, indexed);
  Status validate() const { return Status::ok(); }
};

class UploadTable {
 public:
  explicit UploadTable(MetaStore* store) : store_(store) {}

  // Stored records that do not decode are fatal (the state cannot be trusted).
  std::optional<UploadRecord> find(const std::string& id) const;
  std::optional<AllocationRecord> allocation(const std::string& upload_id,
                                             const std::string& chunk_id) const;
  // Every allocation of the upload, by chunk id.
  std::map<std::string, AllocationRecord> allocations(const std::string& upload_id) const;
  // Whether an upload in progress was allocated chunk `chunk_id`.
  bool is_allocated(const std::string& chunk_id) const;
  // Chunks of uploads in progress allocated to `worker`, counted up to `limit`.
  size_t allocated_on(const std::string& worker, size_t limit) const;
  // The chunks marked written, by index, from `from_index`, at most `limit`.
  std::vector<ChunkInfo> written(const std::string& upload_id, uint64_t from_index = 0,
                                 size_t limit = SIZE_MAX) const;
  std::optional<PartRecord> part(const std::string& upload_id, uint32_t number) const;
  // Parts after number `after`, by number, at most `limit`.
  std::vector<std::pair<uint32_t, PartRecord>> parts(const std::string& upload_id, uint32_t after,
                                                     size_t limit) const;
  // Ids of uploads last active before `time_ms`, oldest first, at most `limit`.
  std::vector<std::string> idle_before(int64_t time_ms, size_t limit) const;

  // Writes a new record, or replaces `old` (moving its place in expiry order).
  void put(rocksdb::WriteBatch* batch, const std::string& id, const UploadRecord& record,
           const UploadRecord* old = nullptr) const;
  void add_allocation(rocksdb::WriteBatch* batch, const std::string& upload_id,
                      const std::string& chunk_id, const AllocationRecord& allocation) const;
  // Records `chunk` as the written chunk at its index (replacing any other).
  void mark_written(rocksdb::WriteBatch* batch, const std::string& upload_id,
                    const ChunkInfo& chunk) const;
  // Forgets chunk `chunk_id`'s allocation to the upload (it became garbage).
  void remove_allocation(rocksdb::WriteBatch* batch, const std::string& upload_id,
                         const std::string& chunk_id) const;
  // Records part `number` (replacing any other).
  void put_part(rocksdb::WriteBatch* batch, const std::string& upload_id, uint32_t number,
                const PartRecord& part) const;
  // Deletes the upload with everything allocated to it.
  void remove(rocksdb::WriteBatch* batch, const std::string& id, const UploadRecord& record) const;

 private:
  MetaStore* store_;
};

}  // namespace dfs
