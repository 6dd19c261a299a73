// Client::get: read every chunk from one of its replicas, verify it, and
// only then show the file under its name.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <set>

#include "bus/chunk_transfer.h"
#include "client/client.h"
#include "client/file_range.h"
#include "client/local_file.h"
#include "client/locality.h"
#include "client/parallel.h"
#include "client/worker_pool.h"
#include "codec/path.h"

namespace dfs {
namespace {

// What a get learns about workers while it runs, shared by its threads: a
// worker that timed out or refused once is tried last for the other chunks.
class ReadPlan {
 public:
  ReadPlan(std::string path, const StatReply& file) : path_(std::move(path)) {
    for (const auto& w : file.workers) addresses_[w.id] = w;
    down_.insert(file.down.begin(), file.down.end());
    for (const auto& t : file.tickets) tickets_[t.chunk_id] = t;
  }

  // The master's ticket to read chunk `id` (empty if it gave none).
  ChunkTicket ticket(const std::string& id) const {
    auto it = tickets_.find(id);
    return it == tickets_.end() ? ChunkTicket{} : it->second;
  }

  const std::string& path() const { return path_; }

  // Where the worker is and the key it presents; nullptr if the master did not say.
  const WorkerAddr* address(const std::string& worker) const {
    auto it = addresses_.find(worker);
    return it == addresses_.end() ? nullptr : &it->second;
  }

  // The chunk's replicas in the order to try them: those expected to work
  // first (on this host before elsewhere), each group starting at a
  // different replica per chunk so reads spread over the workers; then
  // workers that are down or failed earlier; replicas known corrupt last.
  std::vector<std::string> order(const ChunkInfo& chunk) const {
    std::vector<std::string> local, remote, doubtful, corrupt;
    size_t n = chunk.replicas.size();
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t k = 0; k < n; ++k) {
      const std::string& w = chunk.replicas[(chunk.index + k) % n];
      if (std::find(chunk.corrupt.begin(), chunk.corrupt.end(), w) != chunk.corrupt.end()) {
        corrupt.push_back(w);
      } else if (down_.count(w) || failed_.count(w)) {
        doubtful.push_back(w);
      } else if (address(w) && is_local_endpoint(address(w)->endpoint)) {
        local.push_back(w);
      } else {
        remote.push_back(w);
      }
    }
    for (auto* group : {&remote, &doubtful, &corrupt}) {
      local.insert(local.end(), group->begin(), group->end());
    }
    return local;
  }

  void failed(const std::string& worker) {
    std::lock_guard<std::mutex> lock(mu_);
    failed_.insert(worker);
  }

 private:
  std::string path_;
  std::map<std::string, WorkerAddr> addresses_;
  std::set<std::string> down_;
  mutable std::mutex mu_;
  std::set<std::string> failed_;
  std::map<std::string, ChunkTicket> tickets_;
};

// Wrong bytes, or no bytes at all from a worker recorded as holding them ("no
// such chunk"), as opposed to a worker that could not answer.
bool is_bad_copy(Code code) {
  return code == Code::kChecksumMismatch || code == Code::kCorruption || code == Code::kNotFound;
}

// Reads bytes [from, to) of one chunk into `sink`, trying its replicas in
// the plan's order. A replica that returns wrong bytes is reported to the
// master. A replica that fails part way may have given the sink a prefix of
// the range; the next one gives it all again. With `verified_only` every
// byte given was checked (read_chunk_range); without, a whole chunk streams
// in and is checked at its end (read_chunk), for a sink that keeps it aside.
Status fetch_range(TransferContext& ctx, const ClientOptions& options, const ChunkInfo& chunk,
                   ReadPlan& plan, uint64_t from, uint64_t to, bool verified_only,
                   const ChunkSink& sink, const ProgressFn& progress) {
  TransferOptions topts;
  topts.window = options.window;
  topts.timeout = options.timeout;
  topts.ticket = plan.ticket(chunk.id);
  std::string failures;
  // The sink's own failure (a full local disk, a closed pipe) is no
  // replica's fault: it ends the read.
  Status sink_failure;
  ChunkSink guarded = [&](uint64_t off, const char* buf, size_t len) {
    Status s = sink(off, buf, len);
    if (!s.is_ok()) sink_failure = s;
    return s;
  };
  for (const std::string& worker : plan.order(chunk)) {
    const WorkerAddr* addr = plan.address(worker);
    if (!addr) {
      failures += "; " + worker + ": address unknown";
      continue;
    }
    uint64_t moved = 0;
    auto counted = [&](uint64_t b) {
      moved += b;
      if (progress) progress(static_cast<int64_t>(b));
    };
    Status s = !verified_only
                   ? read_chunk(ctx.worker(addr->endpoint, addr->key), chunk.id, chunk.size,
                                chunk.sha256, guarded, topts, counted)
                   : read_chunk_range(ctx.worker(addr->endpoint, addr->key), chunk.id, chunk.size,
                                      chunk.sha256, from, to, guarded, topts, counted);
    if (s.is_ok()) return s;
    if (!sink_failure.is_ok()) return sink_failure;
    if (progress && moved > 0) progress(-static_cast<int64_t>(moved));
    failures += "; " + worker + ": " + s.to_string();
    if (is_bad_copy(s.code())) {
      // Best effort: the read goes on whether or not the master hears it.
      auto reported = ctx.master->call<ReportBadReplicaRequest, OkReply>(
          ReportBadReplicaRequest{plan.path(), chunk.id, worker, s.message(), {}});
      (void)reported;
    } else {
      plan.failed(worker);
    }
  }
  if (chunk.replicas.empty()) failures = "; no replicas recorded";
  return Status(Code::kUnavailable, "chunk " + std::to_string(chunk.index) + " (" + chunk.id +
                                        ") is lost: no replica could serve it" + failures);
}

Status fetch_chunk(TransferContext& ctx, const ClientOptions& options, const ChunkInfo& chunk,
                   ReadPlan& plan, const ChunkSink& sink, const ProgressFn& progress) {
  return fetch_range(ctx, options, chunk, plan, 0, chunk.size, false, sink, progress);
}

// The master's answer for a file to read, refused if it holds fewer chunk
// bytes than the file has (never a file of zeros where data was withheld).
Status check_readable(const std::string& path, const StatReply& file) {
  if (file.entry.is_dir()) return Status(Code::kIsADirectory, path + " is a directory");
  uint64_t covered = 0;
  for (const auto& c : file.chunks) covered += c.size;
  if (covered != file.entry.size) {
    return Status(Code::kPermissionDenied,
                  path + ": the master gave " + std::to_string(file.chunks.size()) + " of " +
                      std::to_string(file.entry.chunk_count) + " chunks (may this user read it?)");
  }
  return Status::ok();
}

}  // namespace

Status read_file_range(TransferContext& ctx, const ClientOptions& options, const std::string& path,
                       const StatReply& file, uint64_t offset, uint64_t length,
                       const Client::RangeSink& sink) {
  DFS_RETURN_IF_ERROR(check_readable(path, file));
  const uint64_t size = file.entry.size;
  if (offset >= size || length == 0) return Status::ok();
  const uint64_t end = length > size - offset ? size : offset + length;
  ReadPlan plan(path, file);
  uint64_t start = 0;  // of the chunk, in the file
  for (const auto& chunk : file.chunks) {
    const uint64_t chunk_end = start + chunk.size;
    if (chunk_end > offset && start < end) {
      // Each replica tried gives the verified bytes from the start of the
      // range: pass on only what the sink does not have yet.
      uint64_t given = std::max(offset, start);
      ChunkSink in_order = [&](uint64_t off, const char* buf, size_t len) {
        uint64_t at = start + off;
        if (at + len <= given) return Status::ok();
        uint64_t skip = given > at ? given - at : 0;
        Status s = sink(buf + skip, len - skip);
        if (s.is_ok()) given = at + len;
        return s;
      };
      uint64_t from = std::max(offset, start) - start;
      uint64_t to = std::min(end, chunk_end) - start;
      Status s = fetch_range(ctx, options, chunk, plan, from, to, true, in_order, nullptr);
      if (!s.is_ok()) return about_path(path, s);
    }
    start = chunk_end;
    if (start >= end) break;
  }
  return Status::ok();
}

Status Client::read_range(const std::string& path, uint64_t offset, uint64_t length,
                          const RangeSink& sink) {
  auto file = stat(path, /*for_read=*/true);
  if (!file.is_ok()) return file.status();
  TransferContext ctx(ctx_, options_.masters, options_.timeout, options_.identity);
  return read_file_range(ctx, options_, path, file.value(), offset, length, sink);
}

Status Client::fetch_chunks(const std::string& path, const StatReply& file, int fd,
                            const ProgressFn& progress) {
  ReadPlan plan(path, file);
  // Concurrent pwrites to one file contend for its inode lock, and the kernel
  // spins waiting for it: with four threads that burned more CPU than the
  // copy itself. Waiting on a mutex in user space sleeps instead.
  std::mutex write_mu;
  // Where each chunk starts: chunks vary in size (a multipart upload's
  // parts end where they end), so offsets add up rather than multiply.
  std::vector<uint64_t> starts(file.chunks.size());
  for (size_t i = 1; i < starts.size(); ++i) starts[i] = starts[i - 1] + file.chunks[i - 1].size;
  std::function<TransferContext()> make = [&] {
    return TransferContext(ctx_, options_.masters, options_.timeout, options_.identity);
  };
  std::function<Status(size_t, TransferContext&)> job = [&](size_t i, TransferContext& ctx) {
    const ChunkInfo& chunk = file.chunks[i];
    uint64_t base = starts[i];
    ChunkSink sink = [&](uint64_t off, const char* buf, size_t len) {
      std::lock_guard<std::mutex> lock(write_mu);
      return pwrite_all(fd, buf, len, base + off, "write local file");
    };
    return fetch_chunk(ctx, options_, chunk, plan, sink, progress);
  };
  return parallel_for<TransferContext>(file.chunks.size(), options_.parallel_chunks, make, job);
}

Status Client::fetch_sequential(const std::string& path, const StatReply& file, int out,
                                const ProgressFn& progress) {
  // Bytes written to a pipe or device cannot be taken back, so each chunk is
  // verified in a spool file before any of it is written out.
  auto spool = anonymous_temp_file();
  if (!spool.is_ok()) return spool.status();
  int fd = spool.value();
  ReadPlan plan(path, file);
  TransferContext ctx(ctx_, options_.masters, options_.timeout, options_.identity);
  Status s;
  for (const auto& chunk : file.chunks) {
    ChunkSink sink = [&](uint64_t off, const char* buf, size_t len) {
      return pwrite_all(fd, buf, len, off, "spool chunk");
    };
    s = fetch_chunk(ctx, options_, chunk, plan, sink, progress);
    if (s.is_ok()) s = copy_fd(fd, out, chunk.size, "write output");
    if (!s.is_ok()) break;
  }
  ::close(fd);
  return s;
}

Status Client::get(const std::string& remote, const std::string& local,
                   const ProgressFn& progress) {
  auto file = stat(remote, /*for_read=*/true);
  if (!file.is_ok()) return file.status();
  DFS_RETURN_IF_ERROR(check_readable(remote, file.value()));
  if (local == "-")
    return about_path(remote, fetch_sequential(remote, file.value(), STDOUT_FILENO, progress));
  std::string target = local;
  struct stat st {};
  if (::stat(target.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    target = join_path(target, base_name(remote));
  if (::stat(target.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    // A device or FIFO (/dev/null, a named pipe): write to it in place; a
    // temporary and a rename would replace the device node.
    int out = ::open(target.c_str(), O_WRONLY | O_CLOEXEC);
    if (out < 0) return io_error(target + ": " + std::strerror(errno));
    Status s = fetch_sequential(remote, file.value(), out, progress);
    ::close(out);
    return about_path(remote, s);
  }
  std::string dir = ".";
  std::string name = target;
  if (auto slash = target.rfind('/'); slash != std::string::npos) {
    dir = slash == 0 ? "/" : target.substr(0, slash);
    name = target.substr(slash + 1);
  }
  std::string tmpl = dir + "/." + name + ".dfs-XXXXXX";
  std::vector<char> tmp(tmpl.begin(), tmpl.end());
  tmp.push_back('\0');
  int fd = ::mkstemp(tmp.data());
  if (fd < 0)
    return io_error(target + ": cannot create a file in " + dir + ": " + std::strerror(errno));
  ::fchmod(fd, 0644);
  Status s;
  if (::ftruncate(fd, static_cast<off_t>(file->entry.size)) != 0) {
    s = errno == ENOSPC || errno == EFBIG ? Status(Code::kDiskFull, "no space left on local device")
                                          : io_error(std::strerror(errno));
  }
  if (s.is_ok()) s = fetch_chunks(remote, file.value(), fd, progress);
  if (::close(fd) != 0 && s.is_ok()) s = io_error(std::string("close: ") + std::strerror(errno));
  if (s.is_ok() && ::rename(tmp.data(), target.c_str()) != 0) {
    s = io_error("cannot rename into place: " + std::string(std::strerror(errno)));
  }
  if (!s.is_ok()) {
    ::unlink(tmp.data());
    return about_path(remote, s);
  }
  return Status::ok();
}

}  // namespace dfs
