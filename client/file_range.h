// Ranged reads of a file whose stat the caller holds already (the mount
// keeps one per open file), on the caller's connections.
#pragma once

#include <string>

#include "client/client.h"
#include "client/worker_pool.h"

namespace dfs {

// Bytes [offset, offset + length) of `file` (fewer past its end), in order,
// into `sink`; see Client::read_range. `file` is a stat for reading (its
// chunks, workers and tickets).
Status read_file_range(TransferContext& ctx, const ClientOptions& options, const std::string& path,
                       const StatReply& file, uint64_t offset, uint64_t length,
                       const Client::RangeSink& sink);

}  // namespace dfs
