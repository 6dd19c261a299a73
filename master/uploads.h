// Uploads in progress: which path a client is writing and which chunks the
// master allocated to it. Leader memory only: an upload that outlives its
// master fails at commit and is retried whole; the chunks it left behind are
// collected as garbage when it is aborted or expires.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "codec/messages.h"

namespace dfs {

struct Upload {
  std::string id;
  std::string path;
  uint64_t chunk_size = 0;
  uint32_t replication = 0;
  uint32_t min_replication = 0;  // fewer replicas than this never commit
  bool overwrite = false;
  std::chrono::steady_clock::time_point last_active;
  struct Allocation {
    uint64_t size = 0;
    std::vector<std::string> workers;  // the pipeline, in order
  };
  std::map<std::string, Allocation> allocated;  // by chunk id
};

class Uploads {
 public:
  using Clock = std::chrono::steady_clock;

  Uploads(std::chrono::milliseconds idle_ttl, uint64_t seed) : ttl_(idle_ttl), rng_(seed) {}

  Upload& create(const std::string& path, uint64_t chunk_size, uint32_t replication,
                 uint32_t min_replication, bool overwrite, Clock::time_point now);
  // The upload, touched so it does not expire; nullptr if unknown.
  Upload* find(const std::string& id, Clock::time_point now);
  // Removes and returns the upload.
  std::optional<Upload> take(const std::string& id);
  // Removes and returns uploads idle for longer than the ttl.
  std::vector<Upload> expire(Clock::time_point now);
  // Records that chunk `chunk_id` of `size` bytes was placed on `workers`
  // for `upload`.
  void record_allocation(Upload& upload, const std::string& chunk_id, uint64_t size,
                         std::vector<std::string> workers);
  // Whether an upload still in progress was allocated chunk `chunk_id`.
  bool is_allocated(const std::string& chunk_id) const {
    return allocated_ids_.count(chunk_id) > 0;
  }
  // A fresh random 128-bit id as 32 hex characters (chunk and upload ids).
  std::string new_id();
  size_t size() const { return uploads_.size(); }

 private:
  std::chrono::milliseconds ttl_;
  std::mt19937_64 rng_;
  void forget_allocations(const Upload& upload);

  std::map<std::string, Upload> uploads_;
  std::unordered_set<std::string> allocated_ids_;  // chunk ids of every upload in progress
};

// A garbage record for chunk `id` on `workers` (size and checksum unknown,
// and irrelevant for deletion).
ChunkInfo garbage_chunk(const std::string& id, std::vector<std::string> workers);

// The chunks an upload allocated as garbage records (every pipeline worker
// may hold a copy), except those in `keep`.
std::vector<ChunkInfo> allocated_garbage(const Upload& upload, const std::vector<ChunkInfo>& keep);

}  // namespace dfs
