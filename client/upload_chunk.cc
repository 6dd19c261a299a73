// upload_chunk: one chunk of an upload, with retries on other workers.
#include "client/upload_chunk.h"

#include <algorithm>
#include <random>
#include <thread>

namespace dfs {
namespace {

// Errors after which the same chunk may succeed on other workers.
bool worth_another_worker(Code code) {
  switch (code) {
    case Code::kTimeout:
    case Code::kUnavailable:
    case Code::kDiskFull:
    case Code::kIoError:
    case Code::kChecksumMismatch:
    case Code::kCorruption:
    case Code::kNotFound:   // the worker lost the open write (restart, idle timeout)
    case Code::kCancelled:  // a pipeline member aborted the write
      return true;
    default:
      return false;
  }
}

// How long to wait before attempt `attempt` (1, 2, ...) of a chunk: doubling
// from 100 ms with jitter, so clients that failed together do not retry in
// lockstep.
std::chrono::milliseconds backoff(int attempt) {
  thread_local std::mt19937 rng(std::random_device{}());
  int base = 100 << std::min(attempt - 1, 4);
  return std::chrono::milliseconds(base / 2 +
                                   static_cast<int>(rng() % static_cast<unsigned>(base)));
}

}  // namespace

Result<ChunkInfo> upload_chunk(TransferContext& ctx, const ClientOptions& options,
                               const std::string& upload_id, uint64_t index, uint64_t size,
                               const ChunkSource& source, const ProgressFn& progress, bool mark,
                               const AllocateChunkReply* allocated) {
  std::vector<std::string> exclude;
  Status last;
  TransferOptions topts;
  topts.window = options.window;
  for (int attempt = 0; attempt < options.chunk_attempts; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(backoff(attempt));
    auto alloc = attempt == 0 && allocated != nullptr
                     ? Result<AllocateChunkReply>(*allocated)
                     : ctx.master->call<AllocateChunkRequest, AllocateChunkReply>(
                           AllocateChunkRequest{upload_id, index, size, exclude, {}});
    if (!alloc.is_ok()) {
      if (!last.is_ok()) {
        // A placement error after a failure says why no retry is possible;
        // the user needs both.
        last = Status(last.code(), last.message() + "; no retry: " + alloc.status().message());
        break;
      }
      return alloc.status();
    }
    const auto& pipeline = alloc->pipeline;
    std::vector<WorkerAddr> downstream(pipeline.begin() + 1, pipeline.end());
    // The head reports a failure further down only after that worker's
    // silence limit, which grows with the pipeline's length.
    topts.timeout =
        std::max(options.timeout, options.pipeline_timeout * static_cast<int64_t>(pipeline.size()));
    uint64_t moved = 0;
    auto counted = [&](uint64_t n) {
      moved += n;
      if (progress) progress(static_cast<int64_t>(n));
    };
    std::string culprit;
    topts.ticket = alloc->ticket;
    auto sha = write_chunk(ctx.worker(pipeline[0].endpoint, pipeline[0].key), alloc->chunk_id, size,
                           downstream, source, topts, counted, &culprit);
    if (sha.is_ok()) {
      ChunkInfo info;
      info.index = index;
      info.id = alloc->chunk_id;
      info.size = size;
      info.sha256 = sha.value();
      for (const auto& w : pipeline) info.replicas.push_back(w.id);
      if (!mark) return info;
      auto marked =
          ctx.master->call<ChunkWrittenRequest, OkReply>(ChunkWrittenRequest{upload_id, info, {}});
      if (!marked.is_ok()) {
        return Status(marked.status().code(),
                      "chunk " + std::to_string(index) +
                          ": recording it written: " + marked.status().message());
      }
      return info;
    }
    if (progress && moved > 0) progress(-static_cast<int64_t>(moved));
    bool named = std::any_of(pipeline.begin(), pipeline.end(),
                             [&](const WorkerAddr& w) { return w.id == culprit; });
    if (!named) culprit = pipeline[0].id;
    last = Status(sha.status().code(), "worker " + culprit + ": " + sha.status().message());
    if (!worth_another_worker(sha.status().code())) break;
    exclude.push_back(culprit);
  }
  return Status(last.code(), "chunk " + std::to_string(index) + ": " + last.message());
}

}  // namespace dfs
