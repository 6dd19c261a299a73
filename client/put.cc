// Client::put: create an upload (or find an interrupted one again), stream
// every chunk not yet written to a worker (several at once), recording each
// with the masters as it completes, then commit. Nothing becomes visible
// before the commit; a failed put without resume aborts its upload.
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
#include "client/upload_manifest.h"
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

// Allocates and writes chunk `index` through a pipeline of workers, then
// records it written with the masters; when the pipeline fails, leaves out
// the worker at fault and tries a fresh one.
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

}  // namespace

std::vector<bool> chunks_done(const std::vector<ChunkInfo>& written, uint64_t chunk_size,
                              uint64_t size) {
  std::vector<bool> done(static_cast<size_t>((size + chunk_size - 1) / chunk_size), false);
  for (const auto& c : written) {
    // A mark of another size cannot be this file's chunk: it is sent again.
    if (c.index < done.size() && c.size == std::min(chunk_size, size - c.index * chunk_size)) {
      done[c.index] = true;
    }
  }
  return done;
}

Status Client::put_chunks(const std::string& upload_id, uint64_t chunk_size, uint64_t size, int fd,
                          const std::vector<bool>& done, const ProgressFn& progress,
                          PutReport* report) {
  std::vector<size_t> todo;
  uint64_t done_bytes = 0;
  for (size_t i = 0; i < done.size(); ++i) {
    if (!done[i]) {
      todo.push_back(i);
    } else {
      done_bytes += std::min(chunk_size, size - i * chunk_size);
    }
  }
  report->chunks = done.size();
  report->chunks_resumed = done.size() - todo.size();
  if (progress && done_bytes > 0) progress(static_cast<int64_t>(done_bytes));
  std::atomic<uint64_t> sent{0};
  std::function<TransferContext()> make = [&] {
    return TransferContext(ctx_, options_.masters, options_.timeout);
  };
  std::function<Status(size_t, TransferContext&)> job = [&](size_t k, TransferContext& ctx) {
    size_t i = todo[k];
    uint64_t base = i * chunk_size;
    uint64_t len = std::min(chunk_size, size - base);
    ChunkSource source = [&](uint64_t off, char* buf, size_t count) {
      return pread_exact(fd, buf, count, base + off, "read local file");
    };
    auto info = upload_chunk(ctx, options_, upload_id, i, len, source, progress);
    if (!info.is_ok()) return info.status();
    ++sent;
    return Status::ok();
  };
  Status s = parallel_for<TransferContext>(todo.size(), options_.parallel_chunks, make, job);
  report->chunks_sent = sent.load();
  return s;
}

Status Client::put_stream(const std::string& upload_id, uint64_t chunk_size, uint64_t* size,
                          const ProgressFn& progress, PutReport* report) {
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
    ++report->chunks;
    ++report->chunks_sent;
    *size += len;
    if (eof) break;
  }
  ::close(fd);
  return result;
}

Result<UploadsReply> Client::uploads(const std::string& upload_id, uint64_t from_index) {
  return master_.call<UploadsRequest, UploadsReply>(UploadsRequest{upload_id, from_index});
}

Status Client::abort_upload(const std::string& upload_id) {
  auto r = master_.call<AbortUploadRequest, OkReply>(AbortUploadRequest{upload_id, {}});
  return r.is_ok() ? Status::ok() : r.status();
}

Result<std::vector<ChunkInfo>> Client::written_chunks(const std::string& upload_id) {
  std::vector<ChunkInfo> all;
  for (;;) {
    auto page = uploads(upload_id, all.empty() ? 0 : all.back().index + 1);
    if (!page.is_ok()) return page.status();
    if (page->uploads.size() != 1) return protocol_error("UploadsReply without the upload");
    auto& chunks = page->uploads[0].chunks;
    all.insert(all.end(), chunks.begin(), chunks.end());
    if (!page->truncated || chunks.empty()) return all;
  }
}

namespace {

// Errors after which a commit may have applied, or may yet: the upload is
// kept for a rerun to find out.
bool commit_outcome_unknown(Code code) {
  return code == Code::kTimeout || code == Code::kUnavailable || code == Code::kBusy ||
         code == Code::kNotLeader;
}

// Failures that a rerun of the same put may get past (the network, a
// failover, workers down, a bad copy): the upload is kept for it.
bool interrupted(Code code) {
  return commit_outcome_unknown(code) || code == Code::kCancelled || code == Code::kIoError ||
         code == Code::kChecksumMismatch || code == Code::kCorruption;
}

// An upload found again from its manifest.
struct Resumed {
  std::string upload_id;
  uint64_t chunk_size = 0;
  std::vector<ChunkInfo> written;
};

// The upload the manifest at `path` names, if the put described by
// `record` may go on with it (with `resume`); otherwise that upload is
// aborted and the manifest removed, with a note saying why.
Result<std::optional<Resumed>> find_interrupted(
    Client& client, const std::string& path, const UploadManifest& record, bool resume,
    const std::function<void(const std::string&)>& note) {
  auto old = load_manifest(path);
  if (!old.is_ok()) {
    note("ignoring an unreadable upload manifest: " + old.status().message());
    remove_manifest(path);
    return std::optional<Resumed>();
  }
  if (!old.value()) return std::optional<Resumed>();
  const UploadManifest& m = **old;
  const std::string& remote = record.remote;
  auto forget = [&](const std::string& why) {
    if (!why.empty()) note(why + ": starting the upload over");
    (void)client.abort_upload(m.upload_id);  // best effort: it expires anyway
    remove_manifest(path);
    return std::optional<Resumed>();
  };
  if (!resume) return forget("");
  if (m.local != record.local) {
    return forget(m.local.path + " changed since the interrupted upload to " + remote);
  }
  if (m.options != record.options) {
    return forget("the put's options differ from those of the interrupted upload to " + remote);
  }
  auto written = client.written_chunks(m.upload_id);
  if (written.is_ok()) {
    // Nothing to resume: a fresh upload is as good, and takes today's settings.
    if (written->empty()) return forget("");
    return std::optional<Resumed>(Resumed{m.upload_id, m.chunk_size, std::move(written).value()});
  }
  if (written.status().code() == Code::kNotFound) {
    note("the interrupted upload to " + remote +
         " is gone (committed, expired or aborted): starting the upload over");
    remove_manifest(path);
    return std::optional<Resumed>();
  }
  if (written.status().code() == Code::kPermissionDenied) {
    note("the interrupted upload to " + remote + " belongs to another user (" +
         written.status().message() + "): starting the upload over");
    remove_manifest(path);
    return std::optional<Resumed>();
  }
  return written.status();
}

std::string cluster_name(const std::vector<HostPort>& masters) {
  std::string name;
  for (const auto& m : masters) name += m.tcp() + ",";
  return name;
}

}  // namespace

Status Client::put(const std::string& local, const std::string& remote, const PutOptions& options,
                   const ProgressFn& progress, PutReport* report) {
  PutReport ignored;
  if (report == nullptr) report = &ignored;
  *report = PutReport{};
  auto note = [&](const std::string& text) {
    if (options.notice) options.notice(text);
  };
  int fd = STDIN_FILENO;
  bool from_stdin = local == "-";
  uint64_t size = 0;
  struct stat st {};
  if (!from_stdin) {
    fd = ::open(local.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return io_error(local + ": " + std::strerror(errno));
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
  // Only a regular file can be read again: only its put resumes.
  std::string manifest;
  UploadManifest record;
  std::optional<Resumed> resumed;
  if (!from_stdin && !options.resume_dir.empty()) {
    char* absolute = ::realpath(local.c_str(), nullptr);
    if (absolute != nullptr) {
      record.local = identity_of(absolute, st);
      std::free(absolute);
      record.remote = remote;
      record.options = {options.chunk_size, options.replication, options.min_replication,
                        options.overwrite};
      manifest = manifest_path(options.resume_dir, cluster_name(options_.masters), remote);
    }
  }
  if (!manifest.empty()) {
    auto found = find_interrupted(*this, manifest, record, options.resume, note);
    if (!found.is_ok()) {
      closer();
      return about_path(remote, found.status());
    }
    resumed = std::move(found).value();
    if (!options.resume) manifest.clear();
  }
  if (!resumed && !from_stdin && size == 0) {
    // Nothing to place or stream: one request makes the file.
    closer();
    auto made = master_.call<CreateFileRequest, OkReply>(CreateFileRequest{
        remote, options.chunk_size, options.replication, options.overwrite, {}, options_.umask});
    return made.is_ok() ? Status::ok() : about_path(remote, made.status());
  }
  std::string upload_id;
  uint64_t chunk_size = 0;
  if (resumed) {
    upload_id = resumed->upload_id;
    chunk_size = resumed->chunk_size;
  } else {
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
    upload_id = upload->upload_id;
    chunk_size = upload->chunk_size;
    if (!manifest.empty()) {
      record.upload_id = upload_id;
      record.chunk_size = chunk_size;
      Status kept = save_manifest(manifest, record);
      if (!kept.is_ok()) {
        note("this upload cannot resume if interrupted: " + kept.message());
        manifest.clear();
      }
    }
  }
  report->upload_id = upload_id;
  Status s;
  if (from_stdin) {
    if (fd != STDIN_FILENO) ::dup2(fd, STDIN_FILENO);
    s = put_stream(upload_id, chunk_size, &size, progress, report);
  } else {
    std::vector<bool> done =
        chunks_done(resumed ? resumed->written : std::vector<ChunkInfo>{}, chunk_size, size);
    if (resumed) {
      size_t written = static_cast<size_t>(std::count(done.begin(), done.end(), true));
      note("resuming upload " + upload_id + " to " + remote + ": " + std::to_string(written) +
           " of " + std::to_string(done.size()) + " chunks are written already");
    }
    s = put_chunks(upload_id, chunk_size, size, fd, done, progress, report);
  }
  closer();
  if (!s.is_ok()) {
    if (!manifest.empty() && interrupted(s.code())) {
      return about_path(remote, Status(s.code(), s.message() + " (run the same put again to " +
                                                     "resume upload " + upload_id + ")"));
    }
    // Refused (no room, no permission, ...): running it again would not
    // help, and the upload would hold its chunks' space until it expired.
    (void)abort_upload(upload_id);  // best effort: an unaborted upload expires anyway
    if (!manifest.empty()) remove_manifest(manifest);
    return about_path(remote, s);
  }
  // The chunks are the ones marked written: the commit is small whatever
  // the file's size.
  auto commit =
      master_.call<CommitUploadRequest, OkReply>(CommitUploadRequest{upload_id, size, {}, {}});
  if (!commit.is_ok() && !manifest.empty() && commit_outcome_unknown(commit.status().code())) {
    return about_path(remote, Status(commit.status().code(),
                                     commit.status().message() + " (run the same put again to " +
                                         "finish upload " + upload_id + ")"));
  }
  if (!commit.is_ok()) {
    // A refused commit leaves the upload in progress: drop it now rather
    // than when it expires. (After a commit that applied, the abort finds
    // no upload and changes nothing.)
    (void)abort_upload(upload_id);
    if (!manifest.empty()) remove_manifest(manifest);
    return about_path(remote, commit.status());
  }
  if (!manifest.empty()) remove_manifest(manifest);
  return Status::ok();
}

}  // namespace dfs
