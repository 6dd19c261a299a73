#include "worker/chunk_store.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include "bus/files.h"
#include "codec/crc32c.h"
#include "codec/messages.h"
#include "worker/chunk_file.h"
#include "worker/volume.h"

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
  if (packed_) {
    std::memcpy(record_.data() + kRecordHeaderSize + kChunkHeaderSize + written_, bytes, size);
  } else {
    Status s = write_all(fd_, bytes, size, static_cast<off_t>(kChunkHeaderSize + written_));
    if (!s.is_ok()) return Status(s.code(), "chunk " + id_ + ": " + s.message());
  }
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
  std::string h = header.encode();
  if (packed_) {  // the record's header is written at publish
    std::memcpy(record_.data() + kRecordHeaderSize + kChunkHeaderSize + total_size_, table.data(),
                table.size());
    std::memcpy(record_.data() + kRecordHeaderSize, h.data(), h.size());
  } else {
    Status s = write_all(fd_, table.data(), table.size(),
                         static_cast<off_t>(kChunkHeaderSize + total_size_));
    if (s.is_ok()) s = write_all(fd_, h.data(), h.size(), 0);
    if (!s.is_ok()) return fail(s);
  }
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
  std::vector<ChunkWriter*> group, packed;
  for (size_t i = 0; i < sealed.size(); ++i) {
    ChunkWriter& w = *sealed[i];
    if (!w.sealed_ || w.done_) {
      out[i] = {Code::kInternal, "chunk " + w.id_ + " is not sealed"};
    } else if (w.packed_) {
      packed.push_back(&w);
    } else if (w.total_size_ > kGroupChunkBytes) {
      out[i] = publish_alone(w);
    } else {
      group.push_back(&w);
    }
  }
  // Each result back to its writer's place (both lists keep input order).
  auto place = [&](const std::vector<ChunkWriter*>& writers, const std::vector<Status>& done) {
    for (size_t i = 0, g = 0; i < sealed.size() && g < writers.size(); ++i) {
      if (sealed[i] == writers[g]) out[i] = done[g++];
    }
  };
  if (!packed.empty()) place(packed, publish_packed(packed));
  if (group.size() == 1) {
    place(group, {publish_alone(*group[0])});
  } else if (!group.empty()) {
    place(group, publish_group(group));
  }
  reclaim();
  return out;
}

std::vector<Status> ChunkStore::publish_packed(const std::vector<ChunkWriter*>& group) {
  std::vector<Status> out(group.size());
  std::vector<Packed> where(group.size());
  std::vector<bool> appended(group.size(), false);
  auto uncount = [&](uint64_t volume) {
    std::lock_guard<std::mutex> lock(mu_);
    --live_records_[volume];
  };
  {
    std::lock_guard<std::mutex> vol_lock(vol_mu_);
    // Volumes this group let go (filled, or after a failed write or sync:
    // such a volume takes no more records, so no later sync point can vouch
    // for what it lost). Each is synced, if it can be, then closed.
    std::vector<int> let_go;
    auto retire = [&] {
      if (active_fd_ >= 0) let_go.push_back(active_fd_);
      active_fd_ = -1;
    };
    for (size_t i = 0; i < group.size(); ++i) {
      ChunkWriter& w = *group[i];
      const uint64_t payload = chunk_file_bytes(w.total_size_);
      if (active_fd_ >= 0 && active_end_ + w.record_.size() > volume_bytes_) retire();
      if (active_fd_ < 0) {
        if (Status s = open_volume(); !s.is_ok()) {
          out[i] = w.fail(s);
          continue;
        }
      }
      where[i] = Packed{active_volume_, active_end_, payload};
      {
        // Counted before it is written: reclaim() never deletes a volume a
        // record is going into.
        std::lock_guard<std::mutex> lock(mu_);
        ++live_records_[where[i].volume];
      }
      const std::string header = encode_record_header(active_salt_, w.id_, payload, active_synced_);
      std::memcpy(w.record_.data(), header.data(), header.size());
      Status s = write_all(active_fd_, w.record_.data(), w.record_.size(),
                           static_cast<off_t>(active_end_));
      if (!s.is_ok()) {
        out[i] = w.fail(Status(s.code(), "chunk " + w.id_ + ": " + s.message()));
        uncount(where[i].volume);
        retire();
        continue;
      }
      appended[i] = true;
      active_end_ += w.record_.size();
    }
    std::vector<int> to_sync = let_go;
    if (active_fd_ >= 0) to_sync.push_back(active_fd_);
    for (int fd : to_sync) {
      if (::fdatasync(fd) == 0) continue;
      Status s = sync_failed(dir_ + "/volumes", errno);
      for (size_t i = 0; i < group.size(); ++i) {
        if (!appended[i] || !out[i].is_ok()) continue;
        out[i] = group[i]->fail(s);
        uncount(where[i].volume);
      }
      retire();
      break;
    }
    if (active_fd_ >= 0) active_synced_ = active_end_;
    for (int fd : let_go) ::close(fd);
  }
  for (size_t i = 0; i < group.size(); ++i) {
    if (!out[i].is_ok()) continue;
    ChunkWriter& w = *group[i];
    w.done_ = true;
    const uint64_t held = w.record_.size();
    std::string().swap(w.record_);
    {
      std::lock_guard<std::mutex> lock(mu_);
      packed_[w.id_] = where[i];
    }
    release(w.id_, held, /*stored=*/true, held);
  }
  return out;
}

std::string ChunkStore::volume_path(uint64_t n) const {
  return dir_ + "/volumes/" + volume_name(n);
}

Status ChunkStore::open_volume() {
  std::string salt(kVolumeSaltSize, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), static_cast<int>(salt.size())) !=
      1) {
    return Status(Code::kInternal, "no random bytes for a volume's salt");
  }
  const uint64_t n = next_volume_;
  const std::string path = volume_path(n);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (errno == ENOSPC) return Status(Code::kDiskFull, "no space left on device");
    return io_error(errno_text("create volume " + path, errno));
  }
  const std::string page = encode_volume_header(salt);
  Status s = write_all(fd, page.data(), page.size(), 0);
  // The volume's header and its name must last before any record counts on them.
  if (s.is_ok() && ::fsync(fd) != 0) s = sync_failed(path, errno);
  if (!s.is_ok()) {
    ::close(fd);
    ::unlink(path.c_str());
    return s;
  }
  fsync_dir(dir_ + "/volumes");
  {
    std::lock_guard<std::mutex> lock(mu_);  // as reclaim() sees them: both or neither
    active_volume_ = n;
    live_records_.emplace(n, 0);
  }
  ++next_volume_;
  active_fd_ = fd;
  active_salt_ = salt;
  active_end_ = kVolumePage;
  active_synced_ = kVolumePage;
  return Status::ok();
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
  if (packed_) {
    const uint64_t held = record_.size();
    std::string().swap(record_);
    store_->release(id_, held, /*stored=*/false, held);
    return;
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  ::unlink(tmp_path_.c_str());
  store_->release(id_, chunk_file_bytes(total_size_), /*stored=*/false);
}

// ---- ChunkStore ----

ChunkStore::ChunkStore(ChunkStoreOptions options)
    : dir_(std::move(options.dir)),
      capacity_(options.capacity),
      pack_max_(options.pack_max_bytes),
      volume_bytes_(options.volume_bytes),
      punch_delay_(options.punch_delay) {}

Result<std::unique_ptr<ChunkStore>> ChunkStore::open(const ChunkStoreOptions& options) {
  std::unique_ptr<ChunkStore> store(new ChunkStore(options));
  std::error_code ec;
  fs::create_directories(store->dir_ + "/chunks", ec);
  if (!ec) fs::create_directories(store->dir_ + "/tmp", ec);
  if (!ec) fs::create_directories(store->dir_ + "/volumes", ec);
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
  if (active_fd_ >= 0) ::close(active_fd_);
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
  return scan_volumes();
}

namespace {
bool first_page_blank(const std::string& path) {
  std::string page(kVolumePage, '\0');
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const ssize_t n = ::pread(fd, page.data(), page.size(), 0);
  ::close(fd);
  return n >= 0 && std::all_of(page.begin(), page.begin() + n, [](char c) { return c == 0; });
}
}  // namespace

Status ChunkStore::scan_volumes() {
  std::vector<uint64_t> volumes;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_ + "/volumes", ec)) {
    const uint64_t n = volume_number(entry.path().filename());
    if (n == 0) {
      spdlog::warn("ignoring unexpected file {} in the volume directory", entry.path().string());
      continue;
    }
    volumes.push_back(n);
  }
  if (ec) return io_error("cannot scan " + dir_ + "/volumes: " + ec.message());
  std::sort(volumes.begin(), volumes.end());
  for (uint64_t n : volumes) {
    next_volume_ = std::max(next_volume_, n + 1);
    const std::string path = volume_path(n);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return io_error(errno_text("open volume " + path, errno));
    struct stat st {};
    Result<std::vector<VolumeRecord>> records =
        ::fstat(fd, &st) == 0
            ? scan_volume(fd, static_cast<uint64_t>(st.st_size))
            : Result<std::vector<VolumeRecord>>(io_error(errno_text("stat " + path, errno)));
    ::close(fd);
    if (!records.is_ok() && records.status().code() != Code::kCorruption) return records.status();
    if (!records.is_ok()) {
      // A volume's first page is synced before any record goes in: one
      // that is short or blank never held a record. Any other damage is
      // kept aside for a person to look at, never deleted.
      if (static_cast<uint64_t>(st.st_size) < kVolumePage || first_page_blank(path)) {
        ::unlink(path.c_str());
      } else {
        spdlog::error("volume {} is damaged ({}): its chunks are not served; kept as {}.damaged",
                      path, records.status().message(), path);
        std::error_code rename_ec;
        fs::rename(path, path + ".damaged", rename_ec);
      }
      continue;
    }
    std::vector<VolumeRecord> found = std::move(records).value();
    live_records_[n] = 0;
    for (const auto& r : found) {
      auto [it, fresh] = packed_.try_emplace(r.id, Packed{n, r.offset, r.payload});
      if (!fresh) {  // written again later (a repair's copy): the older one is dead
        const Packed old = it->second;
        punches_.push_back(Punch{old.volume, old.offset, record_bytes(old.payload), {}});
        ++punches_waiting_[old.volume];
        --live_records_[old.volume];
        stored_bytes_ -= record_bytes(old.payload);
        --chunk_count_;
        it->second = Packed{n, r.offset, r.payload};
      }
      ++live_records_[n];
      stored_bytes_ += r.bytes();
      ++chunk_count_;
    }
  }
  // Volumes left with nothing live go now.
  for (auto it = live_records_.begin(); it != live_records_.end();) {
    if (it->second == 0) {
      ::unlink(volume_path(it->first).c_str());
      it = live_records_.erase(it);
    } else {
      ++it;
    }
  }
  std::erase_if(punches_, [&](const Punch& p) { return !live_records_.count(p.volume); });
  if (!packed_.empty()) {
    spdlog::info("found {} packed chunks in {} volumes", packed_.size(), live_records_.size());
  }
  return Status::ok();
}

std::string ChunkStore::chunk_path(const std::string& id) const {
  return dir_ + "/chunks/" + id.substr(0, 2) + "/" + id.substr(2, 2) + "/" + id;
}

// Packed writers hold their records in memory until published: at most
// this much at once, past which small chunks get a file each again.
constexpr uint64_t kMaxPackedBuffered = 256ull << 20;

Result<std::unique_ptr<ChunkWriter>> ChunkStore::create(const std::string& id,
                                                        uint64_t total_size) {
  if (!is_chunk_id(id)) return invalid_argument("bad chunk id '" + id + "'");
  const uint64_t record = record_bytes(chunk_file_bytes(total_size));
  bool packed = false;
  uint64_t need = chunk_file_bytes(total_size);
  std::string tmp;
  uint64_t seq = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (writing_.count(id) || packed_.count(id) || ::access(chunk_path(id).c_str(), F_OK) == 0) {
      return Status(Code::kAlreadyExists, "chunk " + id + " already exists on this worker");
    }
    packed =
        pack_max_ > 0 && total_size <= pack_max_ && packed_buffered_ + record <= kMaxPackedBuffered;
    if (packed) need = record;
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
    if (packed) packed_buffered_ += record;
    tmp = dir_ + "/tmp/" + id + "." + std::to_string(seq);
  }
  if (packed) {
    std::unique_ptr<ChunkWriter> w(new ChunkWriter(this, id, "", -1, total_size, seq));
    w->packed_ = true;
    w->record_.assign(record, '\0');
    return w;
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

void ChunkStore::release(const std::string& id, uint64_t reserved, bool stored, uint64_t buffered) {
  std::lock_guard<std::mutex> lock(mu_);
  reserved_bytes_ -= reserved;
  packed_buffered_ -= buffered;
  writing_.erase(id);
  if (stored) {
    stored_bytes_ += reserved;
    ++chunk_count_;
    removed_.erase(id);  // written again (a repair copy): present, whatever came before
  }
}

Result<ChunkFileHeader> ChunkStore::header(const std::string& id) {
  auto reader = open_reader(id, /*whole=*/false);
  if (!reader.is_ok()) return reader.status();
  return reader.value()->header();
}

Result<std::unique_ptr<ChunkReader>> ChunkStore::open_reader(const std::string& id, bool whole) {
  if (!is_chunk_id(id)) return invalid_argument("bad chunk id '" + id + "'");
  {
    std::unique_lock<std::mutex> lock(mu_);
    auto it = packed_.find(id);
    if (it != packed_.end()) {
      const Packed where = it->second;
      lock.unlock();
      return open_packed_reader(id, where.volume, where.offset, where.payload, whole);
    }
  }
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

Result<std::unique_ptr<ChunkReader>> ChunkStore::open_packed_reader(const std::string& id,
                                                                    uint64_t volume,
                                                                    uint64_t offset,
                                                                    uint64_t payload, bool whole) {
  const uint64_t base = offset + kRecordHeaderSize;
  if (whole && payload <= kHeldImageBytes) {
    auto held = reading_volume(volume);
    if (!held.is_ok()) {
      return Status(held.status().code(), "chunk " + id + ": " + held.status().message());
    }
    return held_packed_reader(id, held.value()->fd, base, payload);
  }
  int fd = ::open(volume_path(volume).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return not_found("chunk " + id + " is not on this worker");
    return io_error(errno_text("open the volume of chunk " + id, errno));
  }
  char hbuf[kChunkHeaderSize];
  ssize_t hn = ::pread(fd, hbuf, sizeof hbuf, static_cast<off_t>(base));
  auto h = ChunkFileHeader::decode(hbuf, hn < 0 ? 0 : static_cast<size_t>(hn));
  if (h.is_ok() && (h->block_size == 0 || h->file_bytes() != payload)) {
    h = Status(Code::kCorruption, "header disagrees with its volume record");
  }
  if (!h.is_ok()) {
    ::close(fd);
    return Status(h.status().code(), "chunk " + id + ": " + h.status().message());
  }
  std::string table(4 * h->block_count(), '\0');
  ssize_t tn = ::pread(fd, table.data(), table.size(),
                       static_cast<off_t>(base + kChunkHeaderSize + h->size));
  if (tn != static_cast<ssize_t>(table.size())) {
    int err = errno;
    ::close(fd);
    return tn < 0 ? io_error(errno_text("read chunk " + id, err))
                  : Status(Code::kCorruption, "chunk " + id + ": block CRCs cut short");
  }
  return std::unique_ptr<ChunkReader>(
      new ChunkReader(id, fd, h.value(), decode_crcs(table.data(), h->block_count()), base));
}

ChunkStore::ReadingVolume::~ReadingVolume() {
  if (fd >= 0) ::close(fd);
}

Result<std::shared_ptr<const ChunkStore::ReadingVolume>> ChunkStore::reading_volume(uint64_t n) {
  std::lock_guard<std::mutex> lock(reading_mu_);
  auto it = reading_.find(n);
  if (it != reading_.end()) return it->second;
  auto v = std::make_shared<ReadingVolume>();
  v->fd = ::open(volume_path(n).c_str(), O_RDONLY | O_CLOEXEC);
  if (v->fd < 0) {
    if (errno == ENOENT) return not_found("it is not on this worker");
    return io_error(errno_text("open volume " + volume_path(n), errno));
  }
  // The lowest numbers are the oldest volumes: the least likely read next.
  if (reading_.size() >= kReadingVolumesKept) reading_.erase(reading_.begin());
  reading_.emplace(n, v);
  return std::shared_ptr<const ReadingVolume>(std::move(v));
}

Result<std::unique_ptr<ChunkReader>> ChunkStore::held_packed_reader(const std::string& id, int fd,
                                                                    uint64_t base,
                                                                    uint64_t payload) {
  // One read for the header, the bytes and the CRC table, which a small
  // chunk's get needs all of: a syscall costs more here than the copy.
  std::string image(payload, '\0');
  size_t got = 0;
  while (got < payload) {
    ssize_t n = ::pread(fd, image.data() + got, payload - got, static_cast<off_t>(base + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error(errno_text("read chunk " + id, errno));
    if (n == 0)
      return Status(Code::kCorruption, "chunk " + id + ": its volume record is cut short");
    got += static_cast<size_t>(n);
  }
  auto h = ChunkFileHeader::decode(image.data(), image.size());
  if (h.is_ok() && (h->block_size == 0 || h->file_bytes() != payload)) {
    h = Status(Code::kCorruption, "header disagrees with its volume record");
  }
  if (!h.is_ok()) return Status(h.status().code(), "chunk " + id + ": " + h.status().message());
  auto crcs = decode_crcs(image.data() + kChunkHeaderSize + h->size, h->block_count());
  std::unique_ptr<ChunkReader> reader(new ChunkReader(id, -1, h.value(), std::move(crcs)));
  reader->held_ = std::move(image);
  return reader;
}

std::optional<std::pair<std::string, uint64_t>> ChunkStore::packed_location(
    const std::string& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = packed_.find(id);
  if (it == packed_.end()) return std::nullopt;
  return std::make_pair(volume_path(it->second.volume), it->second.offset + kRecordHeaderSize);
}

ChunkReader::~ChunkReader() {
  if (fd_ >= 0) ::close(fd_);
}

Result<size_t> ChunkReader::read(uint64_t offset, size_t length, char* out) {
  if (offset > header_.size) return invalid_argument("read past the end of chunk " + id_);
  size_t want = static_cast<size_t>(std::min<uint64_t>(length, header_.size - offset));
  if (fd_ < 0) {
    std::memcpy(out, held_.data() + kChunkHeaderSize + offset, want);
    return want;
  }
  size_t got = 0;
  while (got < want) {
    ssize_t n = ::pread(fd_, out + got, want - got,
                        static_cast<off_t>(base_ + kChunkHeaderSize + offset + got));
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
  bool was_packed = false;
  Packed invalidate;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = packed_.find(id);
    if (it != packed_.end()) {
      const Packed p = it->second;
      packed_.erase(it);
      const uint64_t bytes = record_bytes(p.payload);
      stored_bytes_ -= std::min(stored_bytes_, bytes);
      if (chunk_count_ > 0) --chunk_count_;
      --live_records_[p.volume];
      punches_.push_back(
          Punch{p.volume, p.offset, bytes, std::chrono::steady_clock::now() + punch_delay_});
      ++punches_waiting_[p.volume];
      invalidate = p;
      was_packed = true;
    }
  }
  if (was_packed) {
    // The record stops being one now, as an unlinked file stops being one
    // (neither is synced): a restart before its space is punched out must
    // not bring it back. Readers that have it open read past its header.
    int fd = ::open(volume_path(invalidate.volume).c_str(), O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
      const std::string zeros(8, '\0');
      (void)write_all(fd, zeros.data(), zeros.size(), static_cast<off_t>(invalidate.offset));
      ::close(fd);
    }
    note_removed(id);
    reclaim();
    return Status::ok();
  }
  std::string path = chunk_path(id);
  struct stat st {};
  bool existed = ::stat(path.c_str(), &st) == 0;
  if (existed && ::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return io_error(errno_text("remove chunk " + id, errno));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (existed) {
      stored_bytes_ -= std::min<uint64_t>(stored_bytes_, static_cast<uint64_t>(st.st_size));
      if (chunk_count_ > 0) --chunk_count_;
    }
  }
  note_removed(id);
  return Status::ok();
}

void ChunkStore::note_removed(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (deleted_.size() < kMaxIdsPerMessage) deleted_.push_back(id);
  if (removed_.insert(id).second) {
    removed_order_.push_back(id);
    if (removed_order_.size() > kMaxIdsPerMessage) {
      removed_.erase(removed_order_.front());
      removed_order_.pop_front();
    }
  }
}

std::vector<std::string> ChunkStore::take_deleted(size_t max) {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = std::min(max, deleted_.size());
  std::vector<std::string> out(deleted_.begin(), deleted_.begin() + static_cast<long>(n));
  deleted_.erase(deleted_.begin(), deleted_.begin() + static_cast<long>(n));
  return out;
}

bool ChunkStore::contains(const std::string& id) const {
  if (!is_chunk_id(id)) return false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (packed_.count(id)) return true;
  }
  return ::access(chunk_path(id).c_str(), F_OK) == 0;
}

void ChunkStore::reclaim() {
  std::vector<Punch> due;
  std::vector<uint64_t> emptied;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    while (!punches_.empty() && punches_.front().due <= now) {
      due.push_back(punches_.front());
      if (--punches_waiting_[due.back().volume] == 0) punches_waiting_.erase(due.back().volume);
      punches_.pop_front();
    }
    // A volume with no live record left, that takes no more and whose
    // removed records have all waited out their delay, goes whole (readers
    // that have it open keep reading it).
    for (auto it = live_records_.begin(); it != live_records_.end();) {
      if (it->second == 0 && it->first != active_volume_ && !punches_waiting_.count(it->first)) {
        emptied.push_back(it->first);
        it = live_records_.erase(it);
      } else {
        ++it;
      }
    }
  }
  {
    std::lock_guard<std::mutex> lock(reading_mu_);
    for (uint64_t n : emptied) {
      reading_.erase(n);
      ::unlink(volume_path(n).c_str());
    }
  }
  for (const Punch& p : due) {
    if (std::find(emptied.begin(), emptied.end(), p.volume) != emptied.end()) continue;
    int fd = ::open(volume_path(p.volume).c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) continue;  // the volume is gone already
    if (::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(p.offset),
                    static_cast<off_t>(p.bytes)) != 0) {
      static std::atomic<bool> warned{false};
      if (!warned.exchange(true)) {
        spdlog::warn(
            "cannot punch removed chunks out of {} ({}): their space comes back when their "
            "volume empties",
            dir_, std::strerror(errno));
      }
    }
    ::close(fd);
  }
}

std::vector<std::string> ChunkStore::list() const {
  std::vector<std::string> out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, where] : packed_) out.push_back(id);
  }
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
