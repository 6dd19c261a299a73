// Where each chunk of a worker's data directory lies on disk, found by
// reading the directory and nothing else, so it can run beside a live
// worker: for operators (dfs-chunk) and for tests that damage a chunk on
// purpose. Whether a chunk has a file of its own or is a record in a volume
// (volume.h), bytes [offset, offset + bytes) of `path` are its file image
// (chunk_file.h: header, data, block CRCs).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "codec/status.h"

namespace dfs {

struct StoredChunk {
  std::string id;
  std::string path;
  uint64_t offset = 0;
  uint64_t bytes = 0;
};

struct StoredChunks {
  std::vector<StoredChunk> chunks;  // files first, then volumes in order
  // What could not be read (a damaged volume): its chunks are not listed.
  std::vector<std::string> problems;
};

// Every chunk under the data directory `dir`. A chunk packed twice (a
// repair's later copy) is listed where a restarted worker would find it:
// its latest record.
Result<StoredChunks> list_stored_chunks(const std::string& dir);

}  // namespace dfs
