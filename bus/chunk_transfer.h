// Moving one chunk's bytes between the client and a worker in frames of at
// most 1 MiB, with at most `window` frames in flight: memory per transfer
// stays at window x frame size whatever the chunk size.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "bus/rpc_client.h"

namespace dfs {

struct TransferOptions {
  size_t frame_size = kMaxFrameBytes;
  size_t window = 4;
  // Longest silence from the worker before the transfer is given up.
  std::chrono::milliseconds timeout{10000};
  // When set, what the source's bytes must hash to: a chunk copied from a
  // store (a repair) is checked against its recorded SHA-256 before its last
  // frame goes, so a bad source copy never becomes a "verified" replica.
  std::string expect_sha256;
  // The masters' ticket for the chunk, sent with every frame or request
  // (empty: the worker must not need one, as for a repair between workers).
  ChunkTicket ticket;
};

// Fills `len` bytes of the chunk starting at `offset` into `buf`.
using ChunkSource = std::function<Status(uint64_t offset, char* buf, size_t len)>;
// Takes `len` verified-in-order bytes of the chunk at `offset`.
using ChunkSink = std::function<Status(uint64_t offset, const char* buf, size_t len)>;

// Streams `size` bytes from `source` as chunk `chunk_id` to the worker
// behind `worker`, which forwards them along `downstream`. Returns the
// chunk's SHA-256 once every worker of the pipeline reports it durable and
// verified. On failure, *culprit names the worker at fault when the
// pipeline said which one ("" when it did not: silence, a broken reply).
// A source that does not match options.expect_sha256 fails the transfer
// with kChecksumMismatch before the last frame is sent.
Result<std::string> write_chunk(RpcClient& worker, const std::string& chunk_id, uint64_t size,
                                const std::vector<WorkerAddr>& downstream,
                                const ChunkSource& source, const TransferOptions& options,
                                const std::function<void(uint64_t)>& progress,
                                std::string* culprit);

// Checks a read reply's data against the block CRCs it came with (ok when it
// came without): kChecksumMismatch names the first bad block.
Status check_blocks(const ReadChunkReply& reply, const char* data, size_t size);

// Reads bytes [from, to) of chunk `chunk_id` (`size` bytes) from `worker`
// into `sink`, fetching only the blocks that cover them. No byte reaches the
// sink unchecked: each block is checked against its CRC; a chunk stored
// without block CRCs is read whole, and the range given only once the chunk
// matched `sha256`. A failure of the sink itself is returned as it is.
Status read_chunk_range(RpcClient& worker, const std::string& chunk_id, uint64_t size,
                        const std::string& sha256, uint64_t from, uint64_t to,
                        const ChunkSink& sink, const TransferOptions& options,
                        const std::function<void(uint64_t)>& progress);

// Reads chunk `chunk_id` of `size` bytes from `worker` into `sink` and
// checks it against `sha256`: kChecksumMismatch if the bytes are wrong. The
// sink gets each frame as it comes (checked against its block CRCs when the
// worker keeps them), before the SHA-256 is: it must keep the bytes aside
// until this returns ok.
Status read_chunk(RpcClient& worker, const std::string& chunk_id, uint64_t size,
                  const std::string& sha256, const ChunkSink& sink, const TransferOptions& options,
                  const std::function<void(uint64_t)>& progress);

}  // namespace dfs
