#include "worker/chunk_store.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include "bus/files.h"
#include "codec/crc32c.h"
#include "codec/messages.h"
#include "worker/chunk_file.h"

namespace dfs {
namespace fs = std::filesystem;

namespace {

uint64_t fs_free_bytes(const std::string& dir) {
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

uint64_t fs_total_bytes(const std::string& dir) {
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.f_blocks) * st.f_frsize;
}

}  // namespace

ChunkStore::Filesystem ChunkStore::filesystem() const {
  Filesystem fs;
  struct statvfs st {};
  struct stat dev {};
  if (::statvfs(dir_.c_str(), &st) != 0 || ::stat(dir_.c_str(), &dev) != 0) return fs;
  fs.id = std::to_string(static_cast<unsigned long long>(dev.st_dev)) + ":" +
          std::to_string(static_cast<unsigned long long>(st.f_fsid));
  fs.size = static_cast<uint64_t>(st.f_blocks) * st.f_frsize;
  fs.free = static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
  return fs;
}

// ---- ChunkWriter ----

ChunkWriter::ChunkWriter(ChunkStore* store, std::string id, std::string tmp_path, int fd,
                         uint64_t total, uint64_t seq)
    : store_(store),
      id_(std::move(id)),
      tmp_path_(std::move(tmp_path)),
      fd_(fd),
      total_size_(total),
      seq_(seq) {}

ChunkWriter::~ChunkWriter() { abort(); }

Status ChunkWriter::append(const void* data, size_t size, const std::vector<uint32_t>& block_crcs) {
  if (done_) return {Code::kInternal, "chunk " + id_ + " is already closed"};
  if (written_ + size > total_size_) {
    return invalid_argument("chunk " + id_ + ": more bytes than its declared size");
  }
  if (written_ == 0) checked_by_crcs_ = !block_crcs.empty();
  if (checked_by_crcs_ != !block_crcs.empty()) {
    return invalid_argument("chunk " + id_ + ": every frame carries block CRCs, or none does");
  }
  const auto* bytes = static_cast<const char*>(data);
  if (checked_by_crcs_) {
    const bool ends_chunk = written_ + size == total_size_;
    if (!crcs_.on_boundary() || (size % kCrcBlockSize != 0 && !ends_chunk)) {
      return invalid_argument("chunk " + id_ + ": a frame with block CRCs off a block boundary");
    }
    if (block_crcs.size() != (size + kCrcBlockSize - 1) / kCrcBlockSize) {
      return invalid_argument("chunk " + id_ + ": " + std::to_string(block_crcs.size()) +
                              " block CRCs for " + std::to_string(size) + " bytes");
    }
    for (size_t i = 0; i < block_crcs.size(); ++i) {
      const size_t at = i * kCrcBlockSize;
      if (crc32c(bytes + at, std::min<size_t>(kCrcBlockSize, size - at)) != block_crcs[i]) {
        return {Code::kChecksumMismatch, "chunk " + id_ + ": block " +
                                             std::to_string((written_ + at) / kCrcBlockSize) +
                                             " arrived damaged (its CRC-32C does not match)"};
      }
    }
  }
  Status s = write_all(fd_, bytes, size, static_cast<off_t>(kChunkHeaderSize + written_));
  if (!s.is_ok()) return Status(s.code(), "chunk " + id_ + ": " + s.message());
  if (checked_by_crcs_) {
    crcs_.add(block_crcs);
  } else {
    hash_.update(data, size);
    crcs_.update(data, size);
  }
  written_ += size;
  return Status::ok();
}

Status ChunkWriter::fail(Status s) {
  abort();
  return s;
}

Status ChunkWriter::seal(const std::string& expected_sha256) {
  if (done_ || sealed_) return {Code::kInternal, "chunk " + id_ + " is already closed"};
  if (written_ != total_size_) {
    return fail(invalid_argument("chunk " + id_ + ": got " + std::to_string(written_) +
                                 " bytes, expected " + std::to_string(total_size_)));
  }
  // Checked block by block as it came, the chunk is not hashed again here.
  if (checked_by_crcs_ && !is_sha256_hex(expected_sha256)) {
    return fail(invalid_argument("chunk " + id_ + ": a bad SHA-256 '" + expected_sha256 + "'"));
  }
  std::string actual = checked_by_crcs_ ? expected_sha256 : hash_.finish_hex();
  if (actual != expected_sha256) {
    return fail({Code::kChecksumMismatch, "chunk " + id_ + ": data does not match its SHA-256"});
  }
  ChunkFileHeader header{total_size_, actual, kCrcBlockSize};
  std::string table = encode_crcs(crcs_.finish());
  Status s = write_all(fd_, table.data(), table.size(),
                       static_cast<off_t>(kChunkHeaderSize + total_size_));
  std::string h = header.encode();
  if (s.is_ok()) s = write_all(fd_, h.data(), h.size(), 0);
  if (!s.is_ok()) return fail(s);
  sealed_ = true;
  return Status::ok();
}

Status ChunkWriter::commit(const std::string& expected_sha256) {
  DFS_RETURN_IF_ERROR(seal(expected_sha256));
  return store_->publish({this}).front();
}

namespace {

// A failed sync may have dropped our bytes, and a second one would report
// success for them (see fsync_or_die): the process stops.
[[noreturn]] void die_of_sync(const std::string& what, int err) {
  spdlog::critical("sync of {} failed: {}; stopping", what, std::strerror(err));
  spdlog::default_logger()->flush();
  std::abort();
}

// Before anything is visible, a full disk is the one failure the writers are
// told of (delayed allocation finds it here).
Status sync_failed(const std::string& what, int err) {
  if (err == ENOSPC || err == EDQUOT) return {Code::kDiskFull, what + ": no space left on device"};
  die_of_sync(what, err);
}

}  // namespace

Status ChunkWriter::rename_into_place() {
  ::close(fd_);
  fd_ = -1;
  std::string final_path = store_->chunk_path(id_);
  std::string final_dir = fs::path(final_path).parent_path();
  std::error_code ec;
  fs::create_directories(final_dir, ec);
  if (ec) return fail(io_error("cannot create " + final_dir + ": " + ec.message()));
  if (::rename(tmp_path_.c_str(), final_path.c_str()) != 0) {
    return fail(io_error(errno_text("rename into place", errno)));
  }
  done_ = true;
  return Status::ok();
}

std::vector<Status> ChunkStore::publish(const std::vector<ChunkWriter*>& sealed) {
  // Small chunks share one group. A large chunk goes alone: its fsync is
  // cheap beside its bytes, and a whole-filesystem sync would also wait for
  // every other file's dirty pages (another process's, on a shared disk),
  // which can be gigabytes.
  std::vector<Status> out(sealed.size());
  std::vector<ChunkWriter*> group;
  for (size_t i = 0; i < sealed.size(); ++i) {
    ChunkWriter& w = *sealed[i];
    if (!w.sealed_ || w.done_) {
      out[i] = {Code::kInternal, "chunk " + w.id_ + " is not sealed"};
    } else if (w.total_size_ > kGroupChunkBytes) {
      out[i] = publish_alone(w);
    } else {
      group.push_back(&w);
    }
  }
  if (group.empty()) return out;
  std::vector<Status> grouped =
      group.size() == 1 ? std::vector<Status>{publish_alone(*group[0])} : publish_group(group);
  for (size_t i = 0, g = 0; i < sealed.size() && g < group.size(); ++i) {
    if (sealed[i] == group[g]) out[i] = grouped[g++];
  }
  return out;
}

Status ChunkStore::publish_alone(ChunkWriter& w) {
  if (::fsync(w.fd_) != 0) return w.fail(sync_failed(w.tmp_path_, errno));
  const std::string final_dir = fs::path(chunk_path(w.id_)).parent_path();
  std::error_code ec;
  const bool existed = fs::exists(final_dir, ec);
  DFS_RETURN_IF_ERROR(w.rename_into_place());
  if (!existed) {  // made now: its entry in the levels above must last too
    fsync_dir(fs::path(final_dir).parent_path());
    fsync_dir(fs::path(final_dir).parent_path().parent_path());
  }
  fsync_dir(final_dir);
  release(w.id_, chunk_file_bytes(w.total_size_), /*stored=*/true);
  return Status::ok();
}

std::vector<Status> ChunkStore::publish_group(const std::vector<ChunkWriter*>& group) {
  std::vector<Status> out(group.size());
  // The oldest file of the group was opened before any of the group's bytes
  // were written: a sync on it reports every write error since (the kernel's
  // error sequence is per filesystem, sampled when a file is opened).
  ChunkWriter* oldest = group[0];
  for (ChunkWriter* w : group) {
    if (w->seq_ < oldest->seq_) oldest = w;
  }
  // Every file's bytes first; nothing is renamed before they are durable.
  if (::syncfs(oldest->fd_) != 0) {
    Status s = sync_failed(dir_ + " (chunk bytes)", errno);
    for (size_t i = 0; i < group.size(); ++i) out[i] = group[i]->fail(s);
    return out;
  }
  std::set<std::string> dirs;
  for (size_t i = 0; i < group.size(); ++i) {
    std::string dir = fs::path(chunk_path(group[i]->id_)).parent_path();
    std::error_code ec;
    if (!fs::exists(dir, ec)) {  // made by the rename: the levels above change too
      dirs.insert(fs::path(dir).parent_path());
      dirs.insert(fs::path(dir).parent_path().parent_path());
    }
    dirs.insert(dir);
    out[i] = group[i]->rename_into_place();
  }
  // Then every rename. A full disk reported here is another file's (ours
  // are written): the renames' directories are then synced one by one.
  if (::syncfs(dir_fd_) != 0) {
    const int err = errno;
    if (err != ENOSPC && err != EDQUOT) die_of_sync(dir_ + " (renames)", err);
    for (const auto& d : dirs) fsync_dir(d);
  }
  for (size_t i = 0; i < group.size(); ++i) {
    if (out[i].is_ok()) {
      release(group[i]->id_, chunk_file_bytes(group[i]->total_size_), /*stored=*/true);
    }
  }
  return out;
}

void ChunkWriter::abort() {
  if (done_) return;
  done_ = true;
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  ::unlink(tmp_path_.c_str());
  store_->release(id_, chunk_file_bytes(total_size_), /*stored=*/false);
}

// ---- ChunkStore ----

ChunkStore::ChunkStore(ChunkStoreOptions options)
    : dir_(std::move(options.dir)), capacity_(options.capacity) {}

Result<std::unique_ptr<ChunkStore>> ChunkStore::open(const ChunkStoreOptions& options) {
  std::unique_ptr<ChunkStore> store(new ChunkStore(options));
  std::error_code ec;
  fs::create_directories(store->dir_ + "/chunks", ec);
  if (!ec) fs::create_directories(store->dir_ + "/tmp", ec);
  if (ec)
    return io_error("cannot create chunk directories in " + store->dir_ + ": " + ec.message());
  if (store->capacity_ == 0) store->capacity_ = fs_total_bytes(store->dir_);
  store->dir_fd_ = ::open(store->dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (store->dir_fd_ < 0) return io_error(errno_text("open " + store->dir_, errno));
  DFS_RETURN_IF_ERROR(store->scan());
  return store;
}

ChunkStore::~ChunkStore() {
  if (dir_fd_ >= 0) ::close(dir_fd_);
}

Status ChunkStore::scan() {
  std::error_code ec;
  size_t swept = 0;
  for (const auto& entry : fs::directory_iterator(dir_ + "/tmp", ec)) {
    fs::remove(entry.path(), ec);
    ++swept;
  }
  if (swept > 0) spdlog::info("swept {} temporary chunk files left by an earlier run", swept);
  for (auto it = fs::recursive_directory_iterator(dir_ + "/chunks", ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    std::string name = it->path().filename();
    if (!is_chunk_id(name)) {
      spdlog::warn("ignoring unexpected file {} in the chunk directory", it->path().string());
      continue;
    }
    stored_bytes_ += it->file_size();
    ++chunk_count_;
  }
  if (ec) return io_error("cannot scan " + dir_ + "/chunks: " + ec.message());
  return Status::ok();
}

std::string ChunkStore::chunk_path(const std::string& id) const {
  return dir_ + "/chunks/" + id.substr(0, 2) + "/" + id.substr(2, 2) + "/" + id;
}

Result<std::unique_ptr<ChunkWriter>> ChunkStore::create(const std::string& id,
                                                        uint64_t total_size) {
  if (!is_chunk_id(id)) return invalid_argument("bad chunk id '" + id + "'");
  uint64_t need = chunk_file_bytes(total_size);
  std::string tmp;
  uint64_t seq = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (writing_.count(id) || ::access(chunk_path(id).c_str(), F_OK) == 0) {
      return Status(Code::kAlreadyExists, "chunk " + id + " already exists on this worker");
    }
    uint64_t committed = stored_bytes_ + reserved_bytes_;
    if (committed + need > capacity_) {
      return Status(Code::kDiskFull,
                    "no room for chunk " + id + ": " + std::to_string(need) + " bytes needed, " +
                        std::to_string(capacity_ > committed ? capacity_ - committed : 0) +
                        " free of capacity " + std::to_string(capacity_));
    }
    if (fs_free_bytes(dir_) < need + reserved_bytes_) {
      return Status(Code::kDiskFull, "no room for chunk " + id + ": the filesystem is full");
    }
    reserved_bytes_ += need;
    writing_.insert(id);
    seq = ++tmp_seq_;
    tmp = dir_ + "/tmp/" + id + "." + std::to_string(seq);
  }
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    int err = errno;
    release(id, need, false);
    if (err == ENOSPC) return Status(Code::kDiskFull, "no space left on device");
    return io_error(errno_text("create " + tmp, err));
  }
  return std::unique_ptr<ChunkWriter>(new ChunkWriter(this, id, tmp, fd, total_size, seq));
}

void ChunkStore::release(const std::string& id, uint64_t reserved, bool stored) {
  std::lock_guard<std::mutex> lock(mu_);
  reserved_bytes_ -= reserved;
  writing_.erase(id);
  if (stored) {
    stored_bytes_ += reserved;
    ++chunk_count_;
    removed_.erase(id);  // written again (a repair copy): present, whatever came before
  }
}

Result<ChunkFileHeader> ChunkStore::header(const std::string& id) {
  auto reader = open_reader(id);
  if (!reader.is_ok()) return reader.status();
  return reader.value()->header();
}

Result<std::unique_ptr<ChunkReader>> ChunkStore::open_reader(const std::string& id) {
  if (!is_chunk_id(id)) return invalid_argument("bad chunk id '" + id + "'");
  int fd = ::open(chunk_path(id).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return not_found("chunk " + id + " is not on this worker");
    return io_error(errno_text("open chunk " + id, errno));
  }
  char hbuf[kChunkHeaderSize];
  ssize_t hn = ::pread(fd, hbuf, sizeof hbuf, 0);
  auto h = ChunkFileHeader::decode(hbuf, hn < 0 ? 0 : static_cast<size_t>(hn));
  if (!h.is_ok()) {
    ::close(fd);
    return Status(h.status().code(), "chunk " + id + ": " + h.status().message());
  }
  // The file must be as long as its header says: a torn or truncated file
  // is found here, and the CRC table below is only read when it is whole.
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return io_error(errno_text("stat chunk " + id, err));
  }
  auto bytes = static_cast<uint64_t>(st.st_size);
  if (h->block_size ? bytes != h->file_bytes() : bytes < h->file_bytes()) {
    ::close(fd);
    return Status(Code::kCorruption,
                  "chunk " + id + " is " + (bytes < h->file_bytes() ? "shorter" : "longer") +
                      " than its header says (" + std::to_string(bytes) + " bytes on disk, " +
                      std::to_string(h->file_bytes()) + " expected)");
  }
  std::vector<uint32_t> crcs;
  if (h->block_size) {
    std::string table(4 * h->block_count(), '\0');
    ssize_t tn =
        ::pread(fd, table.data(), table.size(), static_cast<off_t>(kChunkHeaderSize + h->size));
    if (tn != static_cast<ssize_t>(table.size())) {
      int err = errno;
      ::close(fd);
      return tn < 0 ? io_error(errno_text("read chunk " + id, err))
                    : Status(Code::kCorruption, "chunk " + id + ": block CRCs cut short");
    }
    crcs = decode_crcs(table.data(), h->block_count());
  }
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  return std::unique_ptr<ChunkReader>(new ChunkReader(id, fd, h.value(), std::move(crcs)));
}

ChunkReader::~ChunkReader() { ::close(fd_); }

Result<size_t> ChunkReader::read(uint64_t offset, size_t length, char* out) {
  if (offset > header_.size) return invalid_argument("read past the end of chunk " + id_);
  size_t want = static_cast<size_t>(std::min<uint64_t>(length, header_.size - offset));
  size_t got = 0;
  while (got < want) {
    ssize_t n =
        ::pread(fd_, out + got, want - got, static_cast<off_t>(kChunkHeaderSize + offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error(errno_text("read chunk " + id_, errno));
    if (n == 0)
      return Status(Code::kCorruption, "chunk " + id_ + " is shorter than its header says");
    got += static_cast<size_t>(n);
  }
  return got;
}

std::vector<uint32_t> ChunkReader::block_crcs(uint64_t offset, size_t length) const {
  const uint32_t bs = header_.block_size;
  if (bs == 0 || offset % bs != 0 || offset >= header_.size || length == 0) return {};
  uint64_t end = std::min<uint64_t>(header_.size, offset + length);
  size_t first = static_cast<size_t>(offset / bs);
  size_t last = static_cast<size_t>((end + bs - 1) / bs);
  return std::vector<uint32_t>(crcs_.begin() + static_cast<ptrdiff_t>(first),
                               crcs_.begin() + static_cast<ptrdiff_t>(last));
}

Result<size_t> ChunkStore::read(const std::string& id, uint64_t offset, size_t length, char* out,
                                uint64_t* total_size) {
  auto reader = open_reader(id);
  if (!reader.is_ok()) return reader.status();
  *total_size = reader.value()->header().size;
  return reader.value()->read(offset, length, out);
}

bool ChunkStore::was_removed(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  return removed_.count(id) > 0;
}

Status ChunkStore::remove(const std::string& id) {
  if (!is_chunk_id(id)) return invalid_argument("bad chunk id '" + id + "'");
  std::string path = chunk_path(id);
  struct stat st {};
  bool existed = ::stat(path.c_str(), &st) == 0;
  if (existed && ::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return io_error(errno_text("remove chunk " + id, errno));
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (existed) {
    stored_bytes_ -= std::min<uint64_t>(stored_bytes_, static_cast<uint64_t>(st.st_size));
    if (chunk_count_ > 0) --chunk_count_;
  }
  if (deleted_.size() < kMaxIdsPerMessage) deleted_.push_back(id);
  if (removed_.insert(id).second) {
    removed_order_.push_back(id);
    if (removed_order_.size() > kMaxIdsPerMessage) {
      removed_.erase(removed_order_.front());
      removed_order_.pop_front();
    }
  }
  return Status::ok();
}

std::vector<std::string> ChunkStore::take_deleted(size_t max) {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = std::min(max, deleted_.size());
  std::vector<std::string> out(deleted_.begin(), deleted_.begin() + static_cast<long>(n));
  deleted_.erase(deleted_.begin(), deleted_.begin() + static_cast<long>(n));
  return out;
}

bool ChunkStore::contains(const std::string& id) const {
  return is_chunk_id(id) && ::access(chunk_path(id).c_str(), F_OK) == 0;
}

std::vector<std::string> ChunkStore::list() const {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir_ + "/chunks", ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file() && is_chunk_id(it->path().filename().string())) {
      out.push_back(it->path().filename());
    }
  }
  return out;
}

uint64_t ChunkStore::capacity() const { return capacity_; }

uint64_t ChunkStore::used() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stored_bytes_ + reserved_bytes_;
}

uint64_t ChunkStore::chunk_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return chunk_count_;
}

}  // namespace dfs
