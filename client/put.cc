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
#include "client/upload_chunk.h"
#include "client/upload_manifest.h"
#include "client/upload_writer.h"
#include "client/worker_pool.h"

namespace dfs {

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
    return TransferContext(ctx_, options_.masters, options_.timeout, options_.identity);
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

Status Client::put_stream(int fd, const std::string& remote, const PutOptions& options,
                          const ProgressFn& progress, PutReport* report) {
  auto writer = UploadWriter::begin(ctx_, options_, remote, options);
  if (!writer.is_ok()) return writer.status();
  UploadWriter& w = *writer.value();
  w.set_progress(progress);
  report->upload_id = w.upload_id();
  std::vector<char> buf(1 << 20);
  for (;;) {
    auto got = read_full(fd, buf.data(), buf.size(),
                         fd == STDIN_FILENO ? "read standard input" : "read the local file");
    if (!got.is_ok()) return got.status();  // the writer aborts the upload
    DFS_RETURN_IF_ERROR(w.append(buf.data(), got.value()));
    if (got.value() < buf.size()) break;
  }
  report->chunks = report->chunks_sent = w.chunks();
  return w.finish();
}

Result<UploadsReply> Client::uploads(const std::string& upload_id, uint64_t from_index,
                                     uint32_t after_part) {
  return master_.call<UploadsRequest, UploadsReply>(
      UploadsRequest{upload_id, from_index, after_part});
}

Result<CreateUploadReply> Client::create_multipart(const std::string& remote,
                                                   const PutOptions& options) {
  CreateUploadRequest req{remote,
                          options.chunk_size,
                          options.replication,
                          options.overwrite,
                          options.min_replication,
                          {},
                          options_.umask,
                          /*multipart=*/true};
  auto r = master_.call<CreateUploadRequest, CreateUploadReply>(req);
  if (!r.is_ok()) return about_path(remote, r.status());
  return r;
}

Status Client::commit_parts(const std::string& upload_id, uint64_t size,
                            const std::vector<PartRef>& parts, const std::string& etag) {
  return master_
      .call<CommitUploadRequest, OkReply>(commit_request(upload_id, size, {}, etag, parts))
      .status();
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
  if (from_stdin || (size > 0 && size <= UploadWriter::kMemoryBytes)) {
    // Standard input cannot be read again, so it cannot resume: spooled and
    // sent as it comes. A small file has nothing worth resuming: sent whole,
    // its chunk allocated with its upload (two log entries, not four).
    PutOptions once = options;
    if (!from_stdin) once.size_hint = size;
    Status s = put_stream(fd, remote, once, progress, report);
    closer();
    return about_path(remote, s);
  }
  // Only a regular file can be read again: only its put resumes.
  std::string manifest;
  UploadManifest record;
  std::optional<Resumed> resumed;
  if (!options.resume_dir.empty()) {
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
  if (!resumed && size == 0) {
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
  std::vector<bool> done =
      chunks_done(resumed ? resumed->written : std::vector<ChunkInfo>{}, chunk_size, size);
  if (resumed) {
    size_t written = static_cast<size_t>(std::count(done.begin(), done.end(), true));
    note("resuming upload " + upload_id + " to " + remote + ": " + std::to_string(written) +
         " of " + std::to_string(done.size()) + " chunks are written already");
  }
  Status s = put_chunks(upload_id, chunk_size, size, fd, done, progress, report);
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
  auto commit = master_.call<CommitUploadRequest, OkReply>(commit_request(upload_id, size));
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
