// Writing one chunk of an upload: placed by the masters, streamed down a
// pipeline of workers, then recorded written. Shared by put, which reads
// chunks from a local file, and UploadWriter, which spools them.
#pragma once

#include <string>

#include "bus/chunk_transfer.h"
#include "client/client.h"
#include "client/worker_pool.h"

namespace dfs {

// Allocates and writes chunk `index` (`size` bytes from `source`) through a
// pipeline of workers, then records it written with the masters (unless
// `mark` is false: a multipart upload's part records its chunks at once).
// When the pipeline fails, leaves out the worker at fault and tries a
// fresh one, up to options.chunk_attempts times. `allocated`, if given, is
// the chunk's allocation made with the upload (CreateUploadReply.first_chunk):
// the first attempt uses it instead of asking for one.
Result<ChunkInfo> upload_chunk(TransferContext& ctx, const ClientOptions& options,
                               const std::string& upload_id, uint64_t index, uint64_t size,
                               const ChunkSource& source, const ProgressFn& progress,
                               bool mark = true, const AllocateChunkReply* allocated = nullptr);

// The commit of upload `upload_id` as a file of `size` bytes: `chunks`
// (empty: the ones marked written), or a multipart upload's `parts`.
inline CommitUploadRequest commit_request(const std::string& upload_id, uint64_t size,
                                          std::vector<ChunkInfo> chunks = {},
                                          const std::string& etag = "",
                                          std::vector<PartRef> parts = {}) {
  CommitUploadRequest req;
  req.upload_id = upload_id;
  req.size = size;
  req.chunks = std::move(chunks);
  req.etag = etag;
  req.parts = std::move(parts);
  return req;
}

}  // namespace dfs
