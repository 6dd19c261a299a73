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

Status list_files(const std::string& dir, std::vector<StoredChunk>* out) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir + "/chunks", ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file() || !is_chunk_id(it->path().filename().string())) continue;
    out->push_back(
        StoredChunk{it->path().filename().string(), it->path().string(), 0, it->file_size()});
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return io_error("cannot list " + dir + "/chunks: " + ec.message());
  }
  return Status::ok();
}

// The records of one volume; a volume that cannot be read is a problem,
// not a failure of the whole listing.
Result<std::vector<VolumeRecord>> records_of(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error(errno_text("open " + path, errno));
  struct stat st {};
  Result<std::vector<VolumeRecord>> records =
      ::fstat(fd, &st) == 0
          ? scan_volume(fd, static_cast<uint64_t>(st.st_size))
          : Result<std::vector<VolumeRecord>>(io_error(errno_text("stat " + path, errno)));
  ::close(fd);
  return records;
}

}  // namespace

Result<StoredChunks> list_stored_chunks(const std::string& dir) {
  StoredChunks out;
  DFS_RETURN_IF_ERROR(list_files(dir, &out.chunks));
  std::map<uint64_t, std::string> volumes;  // by number: later records win
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir + "/volumes", ec)) {
    if (uint64_t n = volume_number(entry.path().filename().string()); n != 0) {
      volumes[n] = entry.path().string();
    }
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return io_error("cannot list " + dir + "/volumes: " + ec.message());
  }
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
