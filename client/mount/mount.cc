// The FUSE driver: each operation maps to a client library call. State that
// outlives a call (attributes, open files) lives in MetaCache, FileReader
// and UploadWriter; this file only routes and translates errors.
#define FUSE_USE_VERSION 314

#include "client/mount/mount.h"

#include <fcntl.h>
#include <fuse.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "bus/chunk_ticket.h"
#include "bus/security.h"
#include "bus/socket.h"
#include "client/file_range.h"
#include "client/mount/file_reader.h"
#include "client/mount/meta_cache.h"
#include "client/upload_writer.h"
#include "codec/path.h"
#include "codec/permissions.h"

namespace dfs {
namespace {

int errno_of(Code code) {
  switch (code) {
    case Code::kOk:
      return 0;
    case Code::kInvalidArgument:
      return EINVAL;
    case Code::kNotFound:
      return ENOENT;
    case Code::kAlreadyExists:
      return EEXIST;
    case Code::kNotADirectory:
      return ENOTDIR;
    case Code::kIsADirectory:
      return EISDIR;
    case Code::kDirectoryNotEmpty:
      return ENOTEMPTY;
    case Code::kDiskFull:
      return ENOSPC;
    case Code::kTimeout:
      return ETIMEDOUT;
    case Code::kNotLeader:
    case Code::kBusy:
      return EAGAIN;
    case Code::kProtocol:
      return EPROTO;
    case Code::kCancelled:
      return ECANCELED;
    case Code::kPermissionDenied:
      return EACCES;
    default:
      return EIO;  // unavailable, checksum, corruption, I/O, internal
  }
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A file open through the mount: read from a stat taken at open, or written
// as an upload.
struct OpenFile {
  std::string path;
  // Reading: the stat taken at open, with its chunk tickets, renewed before
  // the tickets expire (see Mount::current_stat).
  std::mutex stat_mu;
  std::shared_ptr<const StatReply> stat;
  std::chrono::steady_clock::time_point stat_taken;
  std::unique_ptr<FileReader> reader;
  // Writing. The upload starts with the first write: a file closed without
  // one (touch, an empty file) is made with one request instead.
  bool for_write = false;
  bool replace = false;  // of a file already at the path
  // The thread that opened it. Its close commits; a close elsewhere (a
  // child that inherited the descriptor exiting, close-on-exec) does not,
  // and the last close of all (release) commits whatever is left.
  pid_t opener = 0;
  std::mutex write_mu;
  std::unique_ptr<UploadWriter> writer;
  uint64_t written() const { return writer ? writer->size() : 0; }
  bool closed = false;        // committed or aborted: no more writes
  Status outcome;             // of the commit, for every close after the first
  bool write_failed = false;  // a write said why; the file is not made
  uint32_t mode = 0644;       // asked for at create
  // A chmod or chown while it was being written (tar x does them on the
  // open file), applied once it exists.
  uint32_t mode_after = kModeUnset;
  std::string owner_after, group_after;
};

class Mount {
 public:
  explicit Mount(const MountOptions& options)
      : options_(options),
        cache_(options.attr_ttl_ms, options.cache_entries),
        pool_(process_context(), options.client.masters, options.client.timeout,
              options.client.identity),
        uid_(::getuid()),
        gid_(::getgid()) {
    auto ring = process_security().keyring();
    const KeyEntry* me = ring && process_security().secure()
                             ? ring->find(process_security().own().public_key)
                             : nullptr;
    user_ = me ? me->name : (process_security().secure() ? "" : std::string(kSuperuser));
  }

  const MountOptions& options() const { return options_; }
  TransferPool& connections() { return pool_; }
  MetaCache& cache() { return cache_; }

  // This thread's client: a FUSE thread serves one request at a time.
  Client& client() {
    thread_local std::unique_ptr<Client> c;
    if (!c) c = std::make_unique<Client>(options_.client);
    return *c;
  }

  // The entry at `path` from the cache, or asked for.
  Result<EntryInfo> lookup(const std::string& path) {
    if (auto hit = cache_.find(path, now_ms())) {
      if (!hit->exists) return Status(Code::kNotFound, path + ": no such file or directory");
      return hit->entry;
    }
    spdlog::debug("master: stat {}", path);  // counted by tests/e2e/mount_e2e.sh
    auto st = client().stat(path);
    if (!st.is_ok()) {
      if (st.status().code() == Code::kNotFound) cache_.put_missing(path, now_ms());
      return st.status();
    }
    cache_.put(path, st->entry, now_ms());
    return st->entry;
  }

  void fill(const EntryInfo& e, struct stat* st) {
    std::memset(st, 0, sizeof(*st));
    st->st_mode = (e.is_dir() ? S_IFDIR : S_IFREG) | (e.mode & 07777);
    st->st_nlink = e.is_dir() ? 2 : 1;
    st->st_size = static_cast<off_t>(e.size);
    st->st_blocks = static_cast<blkcnt_t>((e.size + 511) / 512);
    // cp and friends size their buffers by it: big writes, fewer requests.
    st->st_blksize = 1 << 20;
    st->st_uid = uid_of(e.owner.empty() ? std::string(kSuperuser) : e.owner);
    st->st_gid = gid_of(e.group);
    st->st_mtim.tv_sec = e.mtime_ms / 1000;
    st->st_mtim.tv_nsec = (e.mtime_ms % 1000) * 1000000;
    st->st_atim = st->st_mtim;
    st->st_ctim = st->st_mtim;
  }

  // A file being written has no entry yet: it shows as the bytes so far.
  void fill_writing(const OpenFile& f, struct stat* st) {
    std::memset(st, 0, sizeof(*st));
    st->st_mode = S_IFREG | (f.mode_after != kModeUnset ? f.mode_after : f.mode);
    st->st_nlink = 1;
    st->st_size = static_cast<off_t>(f.written());
    st->st_blksize = 1 << 20;
    st->st_uid = f.owner_after.empty() ? uid_ : uid_of(f.owner_after);
    st->st_gid = f.group_after.empty() ? gid_ : gid_of(f.group_after);
    auto now = std::chrono::system_clock::now().time_since_epoch();
    st->st_mtim.tv_sec = std::chrono::duration_cast<std::chrono::seconds>(now).count();
    st->st_atim = st->st_ctim = st->st_mtim;
  }

  // dfs users are names; local files have numbers. The mount's own user is
  // the local user running it; other names map through the local password
  // and group files, else to nobody.
  uid_t uid_of(const std::string& owner) {
    if (owner == user_) return uid_;
    std::lock_guard<std::mutex> lock(names_mu_);
    auto it = uids_.find(owner);
    if (it != uids_.end()) return it->second;
    struct passwd* pw = ::getpwnam(owner.c_str());
    uid_t uid = pw ? pw->pw_uid : 65534;
    uids_[owner] = uid;
    return uid;
  }
  gid_t gid_of(const std::string& group) {
    if (group.empty() || group == user_) return gid_;
    std::lock_guard<std::mutex> lock(names_mu_);
    auto it = gids_.find(group);
    if (it != gids_.end()) return it->second;
    struct group* gr = ::getgrnam(group.c_str());
    gid_t gid = gr ? gr->gr_gid : 65534;
    gids_[group] = gid;
    return gid;
  }
  Result<std::string> owner_name(uid_t uid) {
    if (uid == uid_ && !user_.empty()) return user_;
    struct passwd* pw = ::getpwuid(uid);
    if (!pw) return invalid_argument("uid " + std::to_string(uid) + " has no local name");
    return std::string(pw->pw_name);
  }
  Result<std::string> group_name(gid_t gid) {
    struct group* gr = ::getgrgid(gid);
    if (!gr) return invalid_argument("gid " + std::to_string(gid) + " has no local name");
    return std::string(gr->gr_name);
  }

  // Files being written, by path: they have no entry until they are closed.
  std::shared_ptr<OpenFile> writing(const std::string& path) {
    std::lock_guard<std::mutex> lock(writing_mu_);
    auto it = writing_.find(path);
    return it == writing_.end() ? nullptr : it->second;
  }
  void start_writing(const std::shared_ptr<OpenFile>& f) {
    std::lock_guard<std::mutex> lock(writing_mu_);
    writing_[f->path] = f;
  }
  void stop_writing(const OpenFile& f) {
    std::lock_guard<std::mutex> lock(writing_mu_);
    auto it = writing_.find(f.path);
    if (it != writing_.end() && it->second.get() == &f) writing_.erase(it);
  }

  // The open file's stat, taken again when its tickets are half way to
  // expiring (a file held open for hours). The file must be the one opened:
  // a file replaced since is not read half old and half new.
  Result<std::shared_ptr<const StatReply>> current_stat(OpenFile& f) {
    std::lock_guard<std::mutex> lock(f.stat_mu);
    if (std::chrono::steady_clock::now() - f.stat_taken < kTicketLifetime / 2) return f.stat;
    auto ctx = pool_.take();
    auto again = ctx->master->call<StatRequest, StatReply>(StatRequest{f.path, false, true});
    pool_.give(std::move(ctx));
    if (!again.is_ok()) return about_path(f.path, again.status());
    auto ids = [](const StatReply& r) {
      std::vector<std::string> v;
      for (const auto& c : r.chunks) v.push_back(c.id);
      return v;
    };
    if (again->entry.size != f.stat->entry.size || ids(again.value()) != ids(*f.stat)) {
      return Status(Code::kIoError, f.path + " was replaced since it was opened: open it again");
    }
    f.stat = std::make_shared<const StatReply>(std::move(again).value());
    f.stat_taken = std::chrono::steady_clock::now();
    return f.stat;
  }

  // Bytes [offset, offset + length) of an open file, in up to four pieces
  // fetched at once.
  Status fetch(OpenFile& f, uint64_t offset, uint64_t length, std::string* out) {
    auto file = current_stat(f);
    if (!file.is_ok()) return file.status();
    out->assign(length, '\0');
    constexpr uint64_t kMinPiece = 4 << 20;
    const uint64_t pieces = std::clamp<uint64_t>(length / kMinPiece, 1, 4);
    // Pieces end on block boundaries, so no block is fetched twice.
    const uint64_t step = (length / pieces + kCrcBlockSize - 1) / kCrcBlockSize * kCrcBlockSize;
    auto piece = [&](uint64_t from) -> Status {
      const uint64_t to = std::min(length, from + step);
      uint64_t at = from;
      auto ctx = pool_.take();
      Status s = read_file_range(*ctx, options_.client, f.path, **file, offset + from, to - from,
                                 [&](const char* data, size_t n) {
                                   std::memcpy(out->data() + at, data, n);
                                   at += n;
                                   return Status::ok();
                                 });
      pool_.give(std::move(ctx));
      if (s.is_ok() && at != to) {
        return Status(Code::kIoError, f.path + ": the file ended early (changed since open?)");
      }
      return s;
    };
    std::vector<std::thread> helpers;
    std::vector<Status> results(static_cast<size_t>((length + step - 1) / step));
    for (size_t i = 1; i < results.size(); ++i) {
      helpers.emplace_back([&, i] { results[i] = piece(i * step); });
    }
    results[0] = piece(0);
    for (auto& t : helpers) t.join();
    for (const auto& r : results) DFS_RETURN_IF_ERROR(r);
    return Status::ok();
  }

  // The errno for a failed call, with its message logged (expected
  // outcomes such as "no such file" only at debug level).
  int fail(const char* op, const std::string& path, const Status& s) {
    int e = errno_of(s.code());
    if (e == ENOENT || e == EEXIST || e == ENOTEMPTY) {
      spdlog::debug("{} {}: {}", op, path, s.to_string());
    } else {
      spdlog::warn("{} {}: {}", op, path, s.to_string());
    }
    return -e;
  }

 private:
  const MountOptions options_;
  MetaCache cache_;
  // Connections lent to background reads (a window fetched in pieces needs
  // one per piece) and to uploads: made anew each time, each would cost a
  // CURVE handshake per worker.
  TransferPool pool_;
  const uid_t uid_;
  const gid_t gid_;
  std::string user_;
  std::mutex names_mu_;
  std::map<std::string, uid_t> uids_;
  std::map<std::string, gid_t> gids_;
  std::mutex writing_mu_;
  std::map<std::string, std::shared_ptr<OpenFile>> writing_;
};

Mount* g_mount = nullptr;

std::shared_ptr<OpenFile>* handle_of(struct fuse_file_info* fi) {
  return fi ? reinterpret_cast<std::shared_ptr<OpenFile>*>(fi->fh) : nullptr;
}

// Commits a file being written, once: the first close of it.
Status finish_writing(OpenFile& f) {
  std::lock_guard<std::mutex> lock(f.write_mu);
  if (f.closed) return f.outcome;
  f.closed = true;
  if (f.writer) {
    f.outcome = f.writer->finish();
  } else {
    Client& c = g_mount->client();
    c.set_umask(~f.mode & 0777);
    f.outcome = c.create_file(f.path, f.replace);
  }
  g_mount->stop_writing(f);
  g_mount->cache().forget(f.path);
  if (f.outcome.is_ok() &&
      (f.mode_after != kModeUnset || !f.owner_after.empty() || !f.group_after.empty())) {
    f.outcome = g_mount->client().set_attr(f.path, f.mode_after, f.owner_after, f.group_after);
  }
  return f.outcome;
}

void* op_init(struct fuse_conn_info* conn, struct fuse_config* cfg) {
  const double ttl = static_cast<double>(g_mount->options().attr_ttl_ms) / 1000.0;
  cfg->entry_timeout = ttl;
  cfg->attr_timeout = ttl;
  cfg->negative_timeout = ttl;
  cfg->use_ino = 0;
  // Bigger requests, fewer round trips through the kernel.
  conn->max_write = 1 << 20;
  conn->max_readahead = 1 << 20;
  // O_TRUNC comes with open(), so a truncating open is one upload, not a
  // truncate followed by a write into an existing file.
  if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC) conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
  return g_mount;
}

int op_getattr(const char* path, struct stat* st, struct fuse_file_info* fi) {
  auto* h = handle_of(fi);
  std::shared_ptr<OpenFile> w = h && (*h)->for_write ? *h : g_mount->writing(path);
  if (w) {
    std::lock_guard<std::mutex> lock(w->write_mu);
    if (!w->closed) {
      g_mount->fill_writing(*w, st);
      return 0;
    }
  }
  auto e = g_mount->lookup(path);
  if (!e.is_ok()) return g_mount->fail("getattr", path, e.status());
  g_mount->fill(e.value(), st);
  return 0;
}

int op_readdir(const char* path, void* buf, fuse_fill_dir_t filler, off_t, struct fuse_file_info*,
               enum fuse_readdir_flags) {
  auto entries = g_mount->client().list(path, "");
  if (!entries.is_ok()) return g_mount->fail("readdir", path, entries.status());
  spdlog::debug("master: list {} ({} entries)", path, entries->size());
  filler(buf, ".", nullptr, 0, static_cast<fuse_fill_dir_flags>(0));
  filler(buf, "..", nullptr, 0, static_cast<fuse_fill_dir_flags>(0));
  const int64_t now = now_ms();
  for (const auto& e : entries.value()) {
    // One listing answers the getattr of every name in it (ls -l).
    struct stat st;
    g_mount->fill(e, &st);
    g_mount->cache().put(join_path(path, e.name), e, now);
    if (filler(buf, e.name.c_str(), &st, 0, FUSE_FILL_DIR_PLUS) != 0) break;
  }
  return 0;
}

int op_statfs(const char*, struct statvfs* out) {
  auto status = g_mount->client().cluster_status();
  if (!status.is_ok()) return g_mount->fail("statfs", "/", status.status());
  uint64_t capacity = 0, used = 0;
  for (const auto& w : status->workers) {
    if (w.state == "dead") continue;
    capacity += w.capacity;
    used += std::min(w.used, w.capacity);
  }
  std::memset(out, 0, sizeof(*out));
  constexpr uint64_t kBlock = 4096;
  out->f_bsize = 1 << 20;
  out->f_frsize = kBlock;
  out->f_blocks = capacity / kBlock;
  out->f_bfree = out->f_bavail = (capacity - used) / kBlock;
  out->f_files = status->files + status->directories;
  out->f_ffree = out->f_favail = 1ULL << 32;
  out->f_namemax = 255;
  return 0;
}

int op_mkdir(const char* path, mode_t mode) {
  Client& c = g_mount->client();
  c.set_umask(~mode & 0777);
  Status s = c.mkdir(path, false);
  g_mount->cache().forget(path);
  return s.is_ok() ? 0 : g_mount->fail("mkdir", path, s);
}

// rmdir and unlink: each refuses the other's kind, as a local file system does.
int remove_entry(const char* path, bool dir) {
  g_mount->cache().forget(path);
  auto e = g_mount->lookup(path);
  if (!e.is_ok()) return g_mount->fail(dir ? "rmdir" : "unlink", path, e.status());
  if (dir && !e->is_dir()) return -ENOTDIR;
  if (!dir && e->is_dir()) return -EISDIR;
  Status s = g_mount->client().remove(path, false);
  g_mount->cache().forget(path, /*subtree=*/true);
  return s.is_ok() ? 0 : g_mount->fail(dir ? "rmdir" : "unlink", path, s);
}

int op_rmdir(const char* path) { return remove_entry(path, true); }
int op_unlink(const char* path) { return remove_entry(path, false); }

int op_rename(const char* from, const char* to, unsigned int flags) {
  if (flags & RENAME_EXCHANGE) return -EINVAL;  // dfs has no atomic swap
  Status s = g_mount->client().rename(from, to, /*replace=*/!(flags & RENAME_NOREPLACE));
  g_mount->cache().forget(from, true);
  g_mount->cache().forget(to, true);
  return s.is_ok() ? 0 : g_mount->fail("rename", from, s);
}

int op_chmod(const char* path, mode_t mode, struct fuse_file_info*) {
  if (auto w = g_mount->writing(path)) {
    std::lock_guard<std::mutex> lock(w->write_mu);
    if (!w->closed) {
      w->mode_after = mode & 07777;  // set when the file exists, at close
      return 0;
    }
  }
  Status s = g_mount->client().set_attr(path, mode & 07777, "", "");
  g_mount->cache().forget(path);
  return s.is_ok() ? 0 : g_mount->fail("chmod", path, s);
}

int op_chown(const char* path, uid_t uid, gid_t gid, struct fuse_file_info*) {
  std::string owner, group;
  if (uid != static_cast<uid_t>(-1)) {
    auto name = g_mount->owner_name(uid);
    if (!name.is_ok()) return g_mount->fail("chown", path, name.status());
    owner = name.value();
  }
  if (gid != static_cast<gid_t>(-1)) {
    auto name = g_mount->group_name(gid);
    if (!name.is_ok()) return g_mount->fail("chown", path, name.status());
    group = name.value();
  }
  if (auto w = g_mount->writing(path)) {
    std::lock_guard<std::mutex> lock(w->write_mu);
    if (!w->closed) {
      if (!owner.empty()) w->owner_after = owner;
      if (!group.empty()) w->group_after = group;
      return 0;
    }
  }
  Status s = g_mount->client().set_attr(path, kModeUnset, owner, group);
  g_mount->cache().forget(path);
  return s.is_ok() ? 0 : g_mount->fail("chown", path, s);
}

int op_utimens(const char*, const struct timespec[2], struct fuse_file_info*) {
  // dfs keeps the time a file was committed; it has no settable times
  // (docs/mount.md). Refusing would fail every cp -p, tar x and rsync -t.
  return 0;
}

// An upload to `path` that replaces the file there (if `replace`) when it
// is committed.
Result<std::unique_ptr<UploadWriter>> start_upload(const std::string& path, uint32_t mode,
                                                   bool replace) {
  PutOptions put;
  put.overwrite = replace;
  put.resume = false;
  ClientOptions options = g_mount->options().client;
  options.umask = ~mode & 0777;
  return UploadWriter::begin(process_context(), options, path, put, &g_mount->connections());
}

// Opens `path` for writing from its first byte: an upload that replaces the
// file (if `replace`) when it is closed.
int open_for_write(const char* path, mode_t mode, bool replace, struct fuse_file_info* fi) {
  auto f = std::make_shared<OpenFile>();
  f->path = path;
  f->mode = mode & 07777;
  f->for_write = true;
  f->replace = replace;
  f->opener = fuse_get_context()->pid;
  g_mount->start_writing(f);
  g_mount->cache().forget(path);
  fi->fh = reinterpret_cast<uint64_t>(new std::shared_ptr<OpenFile>(f));
  fi->direct_io = 1;  // nothing of it is cached: it is not readable until closed
  return 0;
}

int op_create(const char* path, mode_t mode, struct fuse_file_info* fi) {
  // The kernel may think a name absent that another client made since (the
  // negative entry cache): only O_TRUNC may replace what is there.
  return open_for_write(path, mode, /*replace=*/(fi->flags & O_TRUNC) != 0, fi);
}

int op_open(const char* path, struct fuse_file_info* fi) {
  const int access = fi->flags & O_ACCMODE;
  if (access != O_RDONLY) {
    auto e = g_mount->lookup(path);
    if (!e.is_ok()) return g_mount->fail("open", path, e.status());
    if (e->is_dir()) return -EISDIR;
    // A write into an existing file would be a read-modify-write of chunks
    // that others may be reading: only a whole new content is allowed.
    if (!(fi->flags & O_TRUNC) && e->size > 0) {
      spdlog::debug("open {}: writing into an existing file is not supported", path);
      return -EOPNOTSUPP;
    }
    if (fi->flags & O_APPEND && e->size > 0) return -EOPNOTSUPP;
    return open_for_write(path, e->mode & 07777, /*replace=*/true, fi);
  }
  auto st = g_mount->client().stat(path, /*for_read=*/true);
  if (!st.is_ok()) return g_mount->fail("open", path, st.status());
  if (st->entry.is_dir()) return -EISDIR;
  g_mount->cache().put(path, st->entry, now_ms());
  auto f = std::make_shared<OpenFile>();
  f->path = path;
  f->stat = std::make_shared<const StatReply>(std::move(st).value());
  f->stat_taken = std::chrono::steady_clock::now();
  OpenFile* raw = f.get();
  f->reader = std::make_unique<FileReader>(
      f->stat->entry.size,
      [raw](uint64_t offset, uint64_t length, std::string* out) {
        return g_mount->fetch(*raw, offset, length, out);
      },
      g_mount->options().readahead_min, g_mount->options().readahead_max);
  fi->fh = reinterpret_cast<uint64_t>(new std::shared_ptr<OpenFile>(f));
  return 0;
}

int op_read(const char* path, char* buf, size_t size, off_t offset, struct fuse_file_info* fi) {
  auto& f = *handle_of(fi);
  if (!f->reader) return -EBADF;  // open for writing only: not readable until closed
  auto n = f->reader->read(static_cast<uint64_t>(offset), size, buf);
  if (!n.is_ok()) return g_mount->fail("read", path, n.status());
  return static_cast<int>(n.value());
}

int op_write(const char* path, const char* buf, size_t size, off_t offset,
             struct fuse_file_info* fi) {
  auto& f = *handle_of(fi);
  if (!f->for_write) return -EBADF;
  std::lock_guard<std::mutex> lock(f->write_mu);
  if (f->closed && f->outcome.is_ok() && !f->write_failed && f->written() == 0 && offset == 0) {
    // `cmd > file`: the shell opens, dups and closes its first descriptor
    // before the command writes, and that close made an empty file.
    // Writing it again from the start replaces it: nothing is lost.
    f->writer.reset();
    f->replace = true;
    f->closed = false;
    g_mount->start_writing(f);
  }
  if (f->closed) return -EBADF;
  if (static_cast<uint64_t>(offset) != f->written()) {
    spdlog::debug("write {}: at {} while the file has {} bytes: only appends are supported", path,
                  offset, f->written());
    return -EOPNOTSUPP;
  }
  Status s;
  if (!f->writer) {
    // A chmod before the first write (fchmod to 0600 before writing
    // secrets) is the mode the upload is made with.
    const uint32_t mode = f->mode_after != kModeUnset ? f->mode_after : f->mode;
    auto writer = start_upload(f->path, mode, f->replace);
    s = writer.status();
    if (s.is_ok()) f->writer = std::move(writer).value();
  }
  if (s.is_ok()) s = f->writer->append(buf, size);
  if (!s.is_ok()) {
    // The file will not be made: its close need not say so again.
    if (f->writer) f->writer->abort();
    f->closed = true;
    f->write_failed = true;
    f->outcome = Status::ok();
    g_mount->stop_writing(*f);
    return g_mount->fail("write", path, s);
  }
  return static_cast<int>(size);
}

int op_truncate(const char* path, off_t size, struct fuse_file_info* fi) {
  auto* h = handle_of(fi);
  std::shared_ptr<OpenFile> w = h && (*h)->for_write ? *h : g_mount->writing(path);
  if (w) {
    std::lock_guard<std::mutex> lock(w->write_mu);
    if (!w->closed) {
      return static_cast<uint64_t>(size) == w->written() ? 0 : -EOPNOTSUPP;
    }
  }
  auto e = g_mount->lookup(path);
  if (!e.is_ok()) return g_mount->fail("truncate", path, e.status());
  if (e->is_dir()) return -EISDIR;
  if (static_cast<uint64_t>(size) == e->size) return 0;
  if (size != 0) return -EOPNOTSUPP;
  // Emptied: replaced by an empty file, atomically.
  Status s = g_mount->client().create_file(path, /*overwrite=*/true);
  g_mount->cache().forget(path);
  return s.is_ok() ? 0 : g_mount->fail("truncate", path, s);
}

int op_flush(const char*, struct fuse_file_info* fi) {
  auto& f = *handle_of(fi);
  if (!f->for_write) return 0;
  // The opener's close commits, so that its close() reports whether the
  // file made it (release comes after close() has returned).
  if (fuse_get_context()->pid != f->opener) return 0;
  Status s = finish_writing(*f);
  return s.is_ok() ? 0 : g_mount->fail("close", f->path, s);
}

int op_fsync(const char*, int, struct fuse_file_info*) {
  // A file written through the mount is durable when close() returns 0
  // (docs/mount.md): nothing before that is visible to anyone to lose.
  return 0;
}

int op_release(const char*, struct fuse_file_info* fi) {
  auto* h = handle_of(fi);
  auto& f = *h;
  // The last descriptor is gone: whatever was not committed by its opener's
  // close is committed now (no one is left to tell of a failure but the log).
  if (f->for_write) {
    Status s = finish_writing(*f);
    if (!s.is_ok()) spdlog::warn("close {}: {}", f->path, s.to_string());
  }
  delete h;
  return 0;
}

struct fuse_operations make_operations() {
  struct fuse_operations ops {};
  ops.init = op_init;
  ops.getattr = op_getattr;
  ops.readdir = op_readdir;
  ops.statfs = op_statfs;
  ops.mkdir = op_mkdir;
  ops.rmdir = op_rmdir;
  ops.unlink = op_unlink;
  ops.rename = op_rename;
  ops.chmod = op_chmod;
  ops.chown = op_chown;
  ops.utimens = op_utimens;
  ops.create = op_create;
  ops.open = op_open;
  ops.read = op_read;
  ops.write = op_write;
  ops.truncate = op_truncate;
  ops.flush = op_flush;
  ops.fsync = op_fsync;
  ops.release = op_release;
  return ops;
}

void set_up_logging(const MountOptions& options) {
  std::shared_ptr<spdlog::logger> logger;
  if (!options.log_file.empty()) {
    logger = spdlog::basic_logger_mt("dfs-mount", options.log_file);
  } else if (options.foreground) {
    logger = spdlog::stderr_logger_mt("dfs-mount");
  } else {
    logger = std::make_shared<spdlog::logger>("dfs-mount");  // no sinks: quiet
  }
  logger->set_level(options.debug ? spdlog::level::debug : spdlog::level::info);
  logger->flush_on(options.debug ? spdlog::level::debug : spdlog::level::info);
  spdlog::set_default_logger(logger);
}

// Mounts, and serves until unmounted. `ready` is called once the mount is
// up, with "" , or with the reason it could not be.
int serve(const MountOptions& options, const std::function<void(const std::string&)>& ready) {
  Mount mount(options);
  g_mount = &mount;
  // A cluster that cannot be reached is said now, not at the first ls.
  auto root = mount.client().stat("/");
  if (!root.is_ok()) {
    ready("cannot reach the cluster: " + root.status().to_string());
    return 1;
  }
  std::vector<std::string> args = {"dfs-mount", "-o", "fsname=dfs,subtype=dfs"};
  if (options.allow_other) args.insert(args.end(), {"-o", "allow_other"});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  struct fuse_args fargs = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  struct fuse_operations ops = make_operations();
  struct fuse* fuse = fuse_new(&fargs, &ops, sizeof(ops), nullptr);
  fuse_opt_free_args(&fargs);  // fuse_new may have copied them
  if (!fuse) {
    ready("cannot start FUSE (see the message above)");
    return 1;
  }
  if (fuse_mount(fuse, options.mountpoint.c_str()) != 0) {
    fuse_destroy(fuse);
    ready("cannot mount on " + options.mountpoint +
          " (does it exist, is it empty and not mounted already, is /dev/fuse there?)");
    return 1;
  }
  // SIGTERM, SIGINT and SIGHUP end the loop; the unmount follows.
  fuse_set_signal_handlers(fuse_get_session(fuse));
  spdlog::info("mounted dfs on {}", options.mountpoint);
  ready("");
  struct fuse_loop_config* loop = fuse_loop_cfg_create();
  // Threads are kept, and with them their connections to the masters.
  fuse_loop_cfg_set_idle_threads(loop, 16);
  fuse_loop_cfg_set_max_threads(loop, 64);
  int rc = fuse_loop_mt(fuse, loop);
  fuse_loop_cfg_destroy(loop);
  fuse_remove_signal_handlers(fuse_get_session(fuse));
  fuse_unmount(fuse);
  fuse_destroy(fuse);
  spdlog::info("unmounted {}", options.mountpoint);
  g_mount = nullptr;
  // The loop returns the number of the signal that ended it: a clean end.
  return rc >= 0 ? 0 : 1;
}

}  // namespace

int run_mount(const MountOptions& options) {
  if (options.foreground) {
    set_up_logging(options);
    return serve(options, [](const std::string& why) {
      if (!why.empty()) std::fprintf(stderr, "dfs mount: %s\n", why.c_str());
    });
  }
  // The child does everything (a ZeroMQ context and threads do not survive
  // a fork), and tells the parent through a pipe whether the mount is up.
  int pipefd[2];
  if (::pipe(pipefd) != 0) {
    std::perror("dfs mount: pipe");
    return 1;
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    std::perror("dfs mount: fork");
    return 1;
  }
  if (pid > 0) {
    ::close(pipefd[1]);
    std::string why;
    char buf[512];
    ssize_t n;
    while ((n = ::read(pipefd[0], buf, sizeof(buf))) > 0) why.append(buf, static_cast<size_t>(n));
    if (why == "ok") return 0;
    std::fprintf(stderr, "dfs mount: %s\n",
                 why.empty() ? "the mount process ended before it was up" : why.c_str());
    return 1;
  }
  ::close(pipefd[0]);
  ::setsid();
  set_up_logging(options);
  int rc = serve(options, [&](const std::string& why) {
    std::string msg = why.empty() ? "ok" : why;
    (void)!::write(pipefd[1], msg.data(), msg.size());
    ::close(pipefd[1]);
    if (why.empty()) {
      // Detached: the terminal may go away.
      int null = ::open("/dev/null", O_RDWR);
      if (null >= 0) {
        ::dup2(null, STDIN_FILENO);
        ::dup2(null, STDOUT_FILENO);
        ::dup2(null, STDERR_FILENO);
        if (null > 2) ::close(null);
      }
      if (::chdir("/") != 0) spdlog::warn("chdir /: {}", std::strerror(errno));
    }
  });
  return rc;
}

}  // namespace dfs
