#include "master/snapshot_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "bus/files.h"
#include "codec/sha256.h"

namespace dfs {
namespace fs = std::filesystem;

namespace {

constexpr size_t kHashPiece = 1u << 20;

Status fs_error(const std::string& what, const std::error_code& ec) {
  return io_error(what + ": " + ec.message());
}

// A descriptor closed when it goes out of scope.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

Result<raft::SnapshotFile> describe_file(const fs::path& path) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) return io_error(errno_text("open " + path.string(), errno));
  Sha256 hash;
  std::string buf(kHashPiece, '\0');
  uint64_t size = 0;
  for (;;) {
    ssize_t n = ::read(f.fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error(errno_text("read " + path.string(), errno));
    if (n == 0) break;
    hash.update(buf.data(), static_cast<size_t>(n));
    size += static_cast<uint64_t>(n);
  }
  return raft::SnapshotFile{path.filename().string(), size, hash.finish_hex()};
}

Status copy_synced(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::copy_file(from, to, ec);
  if (ec) return fs_error("copy " + from.string(), ec);
  Fd f{::open(to.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) return io_error(errno_text("open " + to.string(), errno));
  fsync_or_die(f.fd, to.string());
  return Status::ok();
}

}  // namespace

SnapshotStore::SnapshotStore(std::string raft_dir, std::string meta_dir)
    : root_(std::move(raft_dir) + "/snapshots"), meta_dir_(std::move(meta_dir)) {}

std::string SnapshotStore::dir_of(uint64_t index) const {
  return root_ + "/" + std::to_string(index);
}

Status SnapshotStore::open() {
  std::error_code ec;
  fs::create_directories(root_, ec);
  if (ec) return fs_error("create " + root_, ec);
  fs::remove_all(root_ + "/taking", ec);
  if (!ec) fs::remove_all(root_ + "/incoming", ec);
  if (ec) return fs_error("clean " + root_, ec);
  return Status::ok();
}

Result<uint64_t> SnapshotStore::checkpoint(Namespace& ns) {
  const std::string taking = root_ + "/taking";
  std::error_code ec;
  fs::remove_all(taking, ec);
  if (ec) return fs_error("clean " + taking, ec);
  uint64_t index = ns.applied_index();
  if (index == 0) return invalid_argument("nothing applied to snapshot");
  if (has(index)) return invalid_argument("snapshot " + std::to_string(index) + " exists");
  if (Status s = ns.checkpoint(taking); !s.is_ok()) return s;
  fsync_dir(taking);
  fs::rename(taking, dir_of(index), ec);
  if (ec) return fs_error("name snapshot " + std::to_string(index), ec);
  fsync_dir(root_);
  return index;
}

Result<raft::SnapshotManifest> SnapshotStore::describe(uint64_t index) const {
  // Raft carries the manifest in one piece of its snapshot message.
  constexpr size_t kMaxFiles = 5000;
  raft::SnapshotManifest manifest;
  manifest.index = index;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_of(index), ec)) {
    if (!e.is_regular_file()) continue;
    auto file = describe_file(e.path());
    if (!file.is_ok()) return file.status();
    manifest.files.push_back(std::move(file).value());
    if (manifest.files.size() > kMaxFiles) {
      return Status(Code::kInternal, "snapshot " + std::to_string(index) + " has more than " +
                                         std::to_string(kMaxFiles) + " files");
    }
  }
  if (ec) return fs_error("list " + dir_of(index), ec);
  std::sort(manifest.files.begin(), manifest.files.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return manifest;
}

Result<raft::SnapshotManifest> SnapshotStore::take(Namespace& ns) {
  auto index = checkpoint(ns);
  if (!index.is_ok()) return index.status();
  return describe(index.value());
}

bool SnapshotStore::has(uint64_t index) const {
  std::error_code ec;
  return fs::is_directory(dir_of(index), ec);
}

void SnapshotStore::retain(const std::set<uint64_t>& keep) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root_, ec)) {
    const std::string name = e.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    if (keep.count(std::stoull(name))) continue;
    std::error_code rm;
    fs::remove_all(e.path(), rm);
  }
}

Result<std::string> SnapshotStore::read(uint64_t index, const std::string& name, uint64_t offset,
                                        uint64_t max, bool* eof) const {
  const std::string path = dir_of(index) + "/" + name;
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) {
    if (errno == ENOENT) return not_found("no snapshot " + std::to_string(index) + " file " + name);
    return io_error(errno_text("open " + path, errno));
  }
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) return io_error(errno_text("stat " + path, errno));
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (offset > size) return invalid_argument("offset past the end of " + name);
  std::string out(std::min<uint64_t>(max, size - offset), '\0');
  size_t got = 0;
  while (got < out.size()) {
    ssize_t n = ::pread(f.fd, out.data() + got, out.size() - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error(errno_text("read " + path, errno));
    if (n == 0) return io_error(path + " shrank while being read");
    got += static_cast<size_t>(n);
  }
  *eof = offset + out.size() == size;
  return out;
}

Status SnapshotStore::begin_incoming() {
  const std::string dir = root_ + "/incoming";
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (!ec) fs::create_directories(dir, ec);
  if (ec) return fs_error("prepare " + dir, ec);
  return Status::ok();
}

Status SnapshotStore::write_incoming(const std::string& name, uint64_t offset,
                                     std::string_view data) {
  const std::string path = root_ + "/incoming/" + name;
  Fd f{::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644)};
  if (f.fd < 0) return io_error(errno_text("open " + path, errno));
  return write_all(f.fd, data.data(), data.size(), static_cast<off_t>(offset));
}

Status SnapshotStore::sync_incoming(const std::string& name) {
  const std::string path = root_ + "/incoming/" + name;
  // An empty file gets no piece written, so it is created here.
  Fd f{::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644)};
  if (f.fd < 0) return io_error(errno_text("open " + path, errno));
  fsync_or_die(f.fd, path);
  return Status::ok();
}

Status SnapshotStore::seal_incoming(uint64_t index) {
  const std::string dir = root_ + "/incoming";
  fsync_dir(dir);
  std::error_code ec;
  fs::remove_all(dir_of(index), ec);
  if (!ec) fs::rename(dir, dir_of(index), ec);
  if (ec) return fs_error("name snapshot " + std::to_string(index), ec);
  fsync_dir(root_);
  return Status::ok();
}

Result<std::unique_ptr<Namespace>> SnapshotStore::install(uint64_t index) const {
  const fs::path from = dir_of(index);
  const std::string next = meta_dir_ + ".new", old = meta_dir_ + ".old";
  std::error_code ec;
  if (!fs::is_directory(from, ec)) {
    return not_found("snapshot " + std::to_string(index) + " is not in " + root_);
  }
  fs::remove_all(next, ec);
  if (!ec) fs::create_directories(next, ec);
  if (ec) return fs_error("prepare " + next, ec);
  for (const auto& e : fs::directory_iterator(from, ec)) {
    if (!e.is_regular_file()) continue;
    fs::path to = fs::path(next) / e.path().filename();
    // Table files never change once written, so the snapshot and the live
    // namespace can share them; the rest (manifest, options) are appended to
    // by RocksDB and must be copies.
    if (e.path().extension() == ".sst") {
      fs::create_hard_link(e.path(), to, ec);
      if (ec) return fs_error("link " + e.path().string(), ec);
    } else if (Status s = copy_synced(e.path(), to); !s.is_ok()) {
      return s;
    }
  }
  if (ec) return fs_error("list " + from.string(), ec);
  fsync_dir(next);
  // Swap directories. A crash in between leaves no namespace directory, or
  // the old one: either way the restarted master finds its log's snapshot
  // newer than its namespace and installs again.
  fs::remove_all(old, ec);
  if (!ec && fs::exists(meta_dir_)) fs::rename(meta_dir_, old, ec);
  if (!ec) fs::rename(next, meta_dir_, ec);
  if (ec) return fs_error("replace " + meta_dir_, ec);
  fsync_dir(fs::path(meta_dir_).parent_path().string());
  fs::remove_all(old, ec);
  auto ns = Namespace::open(meta_dir_, /*sync_writes=*/false);
  if (!ns.is_ok()) return ns.status();
  if (ns.value()->applied_index() != index) {
    return Status(Code::kCorruption, "snapshot " + std::to_string(index) +
                                         " holds the namespace at index " +
                                         std::to_string(ns.value()->applied_index()));
  }
  return ns;
}

}  // namespace dfs
