#include "worker/stored_chunks.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "bus/files.h"
#include "codec/messages.h"
#include "worker/volume.h"

namespace dfs {

namespace fs = std::filesystem;

namespace {

bool gone(const std::error_code& ec) { return ec == std::errc::no_such_file_or_directory; }

// Chunk files come and go while a worker runs (a removal, a repair): one
// that vanishes between the directory read and its stat is skipped.
Status list_files(const std::string& dir, std::vector<StoredChunk>* out) {
  std::error_code ec;
  auto it = fs::recursive_directory_iterator(dir + "/chunks", ec);
  if (gone(ec)) return Status::ok();
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code entry_ec;
    const std::string name = it->path().filename().string();
    if (!it->is_regular_file(entry_ec) || !is_chunk_id(name)) continue;
    const uint64_t bytes = fs::file_size(it->path(), entry_ec);
    if (entry_ec) continue;
    out->push_back(StoredChunk{name, it->path().string(), 0, bytes});
  }
  if (ec) return io_error("cannot list " + dir + "/chunks: " + ec.message());
  return Status::ok();
}

// The records of one volume as the running worker serves them. A volume
// deleted meanwhile, or one too new to hold its first page yet, has none.
Result<std::vector<VolumeRecord>> records_of(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) return std::vector<VolumeRecord>{};
  if (fd < 0) return io_error(errno_text("open " + path, errno));
  struct stat st {};
  Result<std::vector<VolumeRecord>> records =
      ::fstat(fd, &st) != 0
          ? Result<std::vector<VolumeRecord>>(io_error(errno_text("stat " + path, errno)))
      : static_cast<uint64_t>(st.st_size) < kVolumePage
          ? Result<std::vector<VolumeRecord>>(std::vector<VolumeRecord>{})
          : scan_volume(fd, static_cast<uint64_t>(st.st_size), VolumeScan::kEveryRecord);
  ::close(fd);
  return records;
}

}  // namespace

Result<StoredChunks> list_stored_chunks(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return not_found(dir + " is not a directory");
  StoredChunks out;
  DFS_RETURN_IF_ERROR(list_files(dir, &out.chunks));
  std::map<uint64_t, std::string> volumes;  // by number: later records win
  auto it = fs::directory_iterator(dir + "/volumes", ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    if (uint64_t n = volume_number(it->path().filename().string()); n != 0) {
      volumes[n] = it->path().string();
    }
  }
  if (ec && !gone(ec)) return io_error("cannot list " + dir + "/volumes: " + ec.message());
  std::map<std::string, StoredChunk> packed;
  for (const auto& [n, path] : volumes) {
    auto records = records_of(path);
    if (!records.is_ok()) {
      out.problems.push_back(path + ": " + records.status().message());
      continue;
    }
    for (const VolumeRecord& r : records.value()) {
      packed[r.id] = StoredChunk{r.id, path, r.offset + kRecordHeaderSize, r.payload};
    }
  }
  for (auto& [id, chunk] : packed) out.chunks.push_back(std::move(chunk));
  return out;
}

}  // namespace dfs
