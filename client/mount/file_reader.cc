#include "client/mount/file_reader.h"

#include <algorithm>
#include <cstring>

namespace dfs {

FileReader::FileReader(uint64_t file_size, Fetch fetch, uint64_t min_window, uint64_t max_window)
    : size_(file_size),
      fetch_(std::move(fetch)),
      min_window_(std::max<uint64_t>(min_window, 1)),
      max_window_(std::max(max_window, min_window_)),
      window_(min_window_) {}

FileReader::~FileReader() {
  std::lock_guard<std::mutex> lock(mu_);
  if (ahead_pending_) ahead_.wait();
}

uint64_t FileReader::window() const {
  std::lock_guard<std::mutex> lock(mu_);
  return window_;
}

Status FileReader::fetch_now(uint64_t offset, uint64_t length) {
  length = std::min(length, size_ - offset);
  Window w{offset, {}};
  DFS_RETURN_IF_ERROR(fetch_(offset, length, &w.bytes));
  if (w.bytes.size() != length) {
    return Status(Code::kIoError, "read " + std::to_string(w.bytes.size()) + " bytes at " +
                                      std::to_string(offset) + ", wanted " +
                                      std::to_string(length) + " (the file changed?)");
  }
  current_ = std::move(w);
  return Status::ok();
}

void FileReader::prefetch_after_current() {
  const uint64_t from = current_.offset + current_.bytes.size();
  if (ahead_pending_ && ahead_offset_ == from) return;
  if (ahead_pending_) {  // fetched for reads that went elsewhere
    ahead_pending_ = false;
    ahead_.wait();
  }
  if (from >= size_ || current_.bytes.empty()) return;
  const uint64_t length = std::min(window_, size_ - from);
  ahead_pending_ = true;
  ahead_offset_ = from;
  ahead_length_ = length;
  ahead_ = std::async(std::launch::async, [fetch = fetch_, from, length]() -> Result<std::string> {
    std::string bytes;
    Status s = fetch(from, length, &bytes);
    if (!s.is_ok()) return s;
    return bytes;
  });
}

Result<size_t> FileReader::read(uint64_t offset, size_t size, char* out) {
  std::lock_guard<std::mutex> lock(mu_);
  if (offset >= size_ || size == 0) return size_t{0};
  size = static_cast<size_t>(std::min<uint64_t>(size, size_ - offset));
  const bool sequential = offset == expect_;
  window_ = sequential ? std::min(window_ * 2, max_window_) : min_window_;
  size_t copied = 0;
  while (copied < size) {
    const uint64_t at = offset + copied;
    if (current_.covers(at)) {
      size_t n = static_cast<size_t>(
          std::min<uint64_t>(size - copied, current_.offset + current_.bytes.size() - at));
      std::memcpy(out + copied, current_.bytes.data() + (at - current_.offset), n);
      copied += n;
      continue;
    }
    if (ahead_pending_ && at >= ahead_offset_ && at < ahead_offset_ + ahead_length_) {
      ahead_pending_ = false;
      auto ahead = ahead_.get();
      // A failed fetch ahead is tried again now, in the read's own time.
      if (ahead.is_ok() && ahead->size() == ahead_length_) {
        current_ = Window{ahead_offset_, std::move(ahead).value()};
        continue;
      }
    }
    // A miss: fetch at least the read, and the window when sequential.
    DFS_RETURN_IF_ERROR(fetch_now(at, std::max<uint64_t>(size - copied, window_)));
  }
  expect_ = offset + copied;
  if (sequential) prefetch_after_current();
  return copied;
}

}  // namespace dfs
