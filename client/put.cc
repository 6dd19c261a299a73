// Client::put: create an upload, stream every chunk to a worker (several at
// once), then commit; on any failure abort so nothing becomes visible.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>
#include <thread>

#include "bus/chunk_transfer.h"
#include "client/client.h"
#include "client/local_file.h"
#include "client/parallel.h"
#include "client/worker_pool.h"

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

// Allocates and writes chunk `index` through a pipeline of workers; when the
// pipeline fails, leaves out the worker at fault and tries a fresh one.
Result<ChunkInfo> upload_chunk(TransferContext& ctx, const ClientOptions& options,
                               const std::string& upload_id, uint64_t index, uint64_t size,
                               const ChunkSource& source, const ProgressFn& progress) {
  std::vector<std::string> exclude;
  Status last;
  TransferOptions topts;
  topts.window = options.window;
  for (int attempt = 0; attempt < options.chunk_attempts; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(backoff(attempt));
    auto alloc = ctx.master->call<AllocateChunkRequest, AllocateChunkReply>(
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

}  // namespace

Status Client::put_chunks(const std::string& upload_id, uint64_t chunk_size, uint64_t size, int fd,
                          std::vector<ChunkInfo>* chunks, const ProgressFn& progress) {
  size_t n = static_cast<size_t>((size + chunk_size - 1) / chunk_size);
  chunks->assign(n, ChunkInfo{});
  std::function<TransferContext()> make = [&] {
    return TransferContext(ctx_, options_.masters, options_.timeout);
  };
  std::function<Status(size_t, TransferContext&)> job = [&](size_t i, TransferContext& ctx) {
    uint64_t base = i * chunk_size;
    uint64_t len = std::min(chunk_size, size - base);
    ChunkSource source = [&](uint64_t off, char* buf, size_t count) {
      return pread_exact(fd, buf, count, base + off, "read local file");
    };
    auto info = upload_chunk(ctx, options_, upload_id, i, len, source, progress);
    if (!info.is_ok()) return info.status();
    (*chunks)[i] = std::move(info).value();
    return Status::ok();
  };
  return parallel_for<TransferContext>(n, options_.parallel_chunks, make, job);
}

Status Client::put_stream(const std::string& upload_id, uint64_t chunk_size, uint64_t* size,
                          std::vector<ChunkInfo>* chunks, const ProgressFn& progress) {
  // The worker must know a chunk's size before its first frame, and stdin
  // cannot be re-read for a retry: spool one chunk at a time to a temporary.
  auto spool = anonymous_temp_file();
  if (!spool.is_ok()) return spool.status();
  int fd = spool.value();
  TransferContext ctx(ctx_, options_.masters, options_.timeout);
  std::vector<char> buf(1 << 20);
  Status result;
  *size = 0;
  for (uint64_t index = 0;; ++index) {
    uint64_t len = 0;
    bool eof = false;
    while (len < chunk_size) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), chunk_size - len));
      auto got = read_full(STDIN_FILENO, buf.data(), want, "read standard input");
      if (!got.is_ok()) {
        result = got.status();
        break;
      }
      result = pwrite_all(fd, buf.data(), got.value(), len, "spool standard input");
      if (!result.is_ok()) break;
      len += got.value();
      if (got.value() < want) {
        eof = true;
        break;
      }
    }
    if (!result.is_ok() || len == 0) break;
    ChunkSource source = [&](uint64_t off, char* out, size_t count) {
      return pread_exact(fd, out, count, off, "read spooled input");
    };
    auto info = upload_chunk(ctx, options_, upload_id, index, len, source, progress);
    if (!info.is_ok()) {
      result = info.status();
      break;
    }
    chunks->push_back(std::move(info).value());
    *size += len;
    if (eof) break;
  }
  ::close(fd);
  return result;
}

Status Client::put(const std::string& local, const std::string& remote, const PutOptions& options,
                   const ProgressFn& progress) {
  int fd = STDIN_FILENO;
  bool from_stdin = local == "-";
  uint64_t size = 0;
  if (!from_stdin) {
    fd = ::open(local.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return io_error(local + ": " + std::strerror(errno));
    struct stat st {};
    ::fstat(fd, &st);
    if (S_ISDIR(st.st_mode)) {
      ::close(fd);
      return Status(Code::kIsADirectory, local + " is a directory");
    }
    if (!S_ISREG(st.st_mode)) from_stdin = true;  // a pipe or device: stream it
    size = static_cast<uint64_t>(st.st_size);
  }
  auto closer = [&] {
    if (fd != STDIN_FILENO) ::close(fd);
  };
  if (!from_stdin && size == 0) {
    // Nothing to place or stream: one request makes the file.
    closer();
    auto made = master_.call<CreateFileRequest, OkReply>(CreateFileRequest{
        remote, options.chunk_size, options.replication, options.overwrite, {}, options_.umask});
    return made.is_ok() ? Status::ok() : about_path(remote, made.status());
  }
  auto upload = master_.call<CreateUploadRequest, CreateUploadReply>(
      CreateUploadRequest{remote,
                          options.chunk_size,
                          options.replication,
                          options.overwrite,
                          options.min_replication,
                          {},
                          options_.umask});
  if (!upload.is_ok()) {
    closer();
    return about_path(remote, upload.status());
  }
  std::vector<ChunkInfo> chunks;
  Status s;
  if (from_stdin) {
    if (fd != STDIN_FILENO) ::dup2(fd, STDIN_FILENO);
    s = put_stream(upload->upload_id, upload->chunk_size, &size, &chunks, progress);
  } else {
    s = put_chunks(upload->upload_id, upload->chunk_size, size, fd, &chunks, progress);
  }
  closer();
  if (!s.is_ok()) {
    auto abort =
        master_.call<AbortUploadRequest, OkReply>(AbortUploadRequest{upload->upload_id, {}});
    (void)abort;  // best effort: an unaborted upload expires on the master anyway
    return about_path(remote, s);
  }
  auto commit = master_.call<CommitUploadRequest, OkReply>(
      CommitUploadRequest{upload->upload_id, size, std::move(chunks), {}});
  if (!commit.is_ok()) {
    // A refused commit leaves the upload in progress: drop it now rather
    // than when it expires. (After a commit that applied, the abort finds
    // no upload and changes nothing.)
    (void)master_.call<AbortUploadRequest, OkReply>(AbortUploadRequest{upload->upload_id, {}});
    return about_path(remote, commit.status());
  }
  return Status::ok();
}

}  // namespace dfs
