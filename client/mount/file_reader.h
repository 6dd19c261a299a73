// Reads of one open file through the mount, with readahead.
//
// The kernel asks for a file in pieces of at most 128 KiB; a worker round
// trip per piece would cap a sequential read far below what one stream
// moves. So the reader fetches a window ahead of the reads: it starts at
// `min_window` and doubles while reads stay sequential, up to `max_window`;
// a read elsewhere starts it small again. While the reads consume one
// window, the next is fetched in the background. A reader holds at most two
// windows, so its memory is bounded by 2 x max_window whatever the file's
// size.
//
// The bytes come from `fetch`, which checks them (block CRCs) before they
// are given: the reader only decides what to fetch and when. Thread-safe;
// concurrent reads of one open file are served one at a time.
#pragma once

#include <functional>
#include <future>
#include <mutex>
#include <string>

#include "codec/status.h"

namespace dfs {

class FileReader {
 public:
  // Fills `out` with bytes [offset, offset + length) of the file, fewer only
  // at its end.
  using Fetch = std::function<Status(uint64_t offset, uint64_t length, std::string* out)>;

  FileReader(uint64_t file_size, Fetch fetch, uint64_t min_window, uint64_t max_window);
  ~FileReader();  // waits for a fetch in the background
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;

  // Copies up to `size` bytes at `offset` into `out`; the count copied
  // (0 at or past the end).
  Result<size_t> read(uint64_t offset, size_t size, char* out);

  uint64_t window() const;  // for tests

 private:
  struct Window {
    uint64_t offset = 0;
    std::string bytes;
    bool covers(uint64_t at) const { return at >= offset && at < offset + bytes.size(); }
  };
  Status fetch_now(uint64_t offset, uint64_t length);
  void prefetch_after_current();

  const uint64_t size_;
  const Fetch fetch_;
  const uint64_t min_window_;
  const uint64_t max_window_;

  mutable std::mutex mu_;
  uint64_t window_;
  uint64_t expect_ = 0;  // where a sequential read would start next
  Window current_;
  // The window being fetched in the background, if any.
  bool ahead_pending_ = false;
  uint64_t ahead_offset_ = 0;
  uint64_t ahead_length_ = 0;
  std::future<Result<std::string>> ahead_;
};

}  // namespace dfs
