// A file written front to back whose size is not known in advance: standard
// input for `dfs put -`, a file written through `dfs mount`.
//
// A worker must know a chunk's size before its first frame, and the bytes
// of a failed attempt must be sent again: so bytes are spooled to a
// temporary file a chunk at a time, and each full chunk is uploaded (and
// marked written) by background threads while the next one fills. At most
// options.parallel_chunks chunks are in flight, so the local disk holds at
// most that many plus one. finish() sends the last chunk and commits: the
// file appears whole at its path, or not at all.
//
// Used from one thread at a time (the mount serialises calls per file).
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "client/client.h"
#include "client/worker_pool.h"

namespace dfs {

class UploadWriter {
 public:
  // Starts an upload to `remote` (the masters check the path and the
  // caller's permissions now, not at the end).
  // Connections come from `pool` when given (and go back to it), else are
  // made for this upload alone. With options.size_hint, a file of one chunk
  // small enough (kMemoryBytes) is held in memory rather than spooled.
  // With a pool too, a file of at most SlotLeases::kMaxSlotBytes is written
  // to one of the pool's leased slots and committed in one request; its
  // path and permissions are then checked at finish(), not now.
  static Result<std::unique_ptr<UploadWriter>> begin(zmq::context_t& ctx,
                                                     const ClientOptions& client,
                                                     const std::string& remote,
                                                     const PutOptions& options,
                                                     TransferPool* pool = nullptr);
  // Writes part `number` of the multipart upload `upload_id`, whose chunks
  // are `chunk_size` bytes (UploadListing.chunk_size).
  static std::unique_ptr<UploadWriter> part(zmq::context_t& ctx, const ClientOptions& client,
                                            const std::string& upload_id, uint64_t chunk_size,
                                            uint32_t number, TransferPool* pool = nullptr);
  // The largest file held in memory instead of a spool file.
  static constexpr uint64_t kMemoryBytes = 1 << 20;
  ~UploadWriter();  // aborts the upload unless finished (a part: drops it)
  UploadWriter(const UploadWriter&) = delete;
  UploadWriter& operator=(const UploadWriter&) = delete;

  // Adds bytes at the end. Fails with the first failure of any chunk; the
  // writer is then of no further use (abort() it).
  Status append(const char* data, size_t len);
  // Sends what is left and commits, recording `etag` with the file (an S3
  // ETag); a part is recorded under `etag` instead. After a failure the
  // upload is aborted (a part: dropped, the upload left as it was).
  Status finish(const std::string& etag = "");
  // Drops the upload and its chunks (best effort: an unaborted upload
  // expires anyway). A part's chunks become garbage with its upload.
  void abort();

  // Called from the sending threads with the bytes sent (see ProgressFn).
  void set_progress(ProgressFn progress) { progress_ = std::move(progress); }

  uint64_t size() const { return size_; }
  const std::string& upload_id() const { return upload_id_; }
  const std::string& remote() const { return remote_; }
  // Chunks the upload has: sent, in flight or being filled.
  uint64_t chunks() const { return next_index_ - first_index_ + (fill_len_ > 0 ? 1 : 0); }

 private:
  struct Spool {
    int fd = -1;
    uint64_t index = 0;
    uint64_t len = 0;
  };

  UploadWriter(zmq::context_t& ctx, TransferPool* pool, std::unique_ptr<TransferContext> own,
               const ClientOptions& client, std::string remote, std::string upload_id,
               uint64_t chunk_size, uint32_t part = 0);
  std::unique_ptr<TransferContext> take_connections() const;
  // Starts the upload, if begin() left it for a slot: the file turned out
  // not to fit one, or the slot failed.
  Status ensure_upload();
  // Makes the directories above the file (PutOptions.make_parents).
  Status make_parents();
  // Writes the file (one chunk, in memory) to a leased slot and commits
  // it. *fall_back: the slot could not be used, and the ordinary way
  // should be tried (the returned status says why).
  Status finish_slot(const std::string& etag, bool* fall_back);
  // Moves what memory holds to a spool file: the file outgrew its hint.
  Status spill();
  // Sends what memory holds a chunk at a time: it was held for a slot, but
  // is more than one chunk of the upload that took over.
  Status unhold();
  // Sends the file's only chunk (being filled) and commits the file with it.
  Status finish_single(const std::string& etag);
  // Hands the filled spool to the senders; waits for room first.
  Status submit();
  // Waits until every chunk handed over is sent; the first failure.
  Status drain();
  void send_loop();
  Status failure() const;
  Result<int> free_spool();

  zmq::context_t& ctx_;
  TransferPool* pool_;  // null: connections made for this upload
  // This thread's connections (create, last chunk, commit, abort); each
  // sender has its own.
  std::unique_ptr<TransferContext> own_;
  // Chunk 0 as allocated with the upload, for `first_size_` bytes.
  std::optional<AllocateChunkReply> first_chunk_;
  uint64_t first_size_ = 0;
  bool in_memory_ = false;  // the chunk being filled is `memory_`, not a spool
  std::string memory_;
  ClientOptions client_;
  PutOptions put_;     // as begin() was given them
  bool slot_ = false;  // begin() left the upload for finish() to write to a slot
  std::string remote_;
  std::string upload_id_;
  uint64_t chunk_size_;
  uint32_t part_;  // 0: a whole file
  uint64_t first_index_;
  uint64_t size_ = 0;
  uint64_t next_index_;  // of the spool being filled
  Spool fill_;
  uint64_t fill_len_ = 0;
  bool done_ = false;  // finished or aborted
  ProgressFn progress_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Spool> queue_;    // filled, waiting for a sender
  std::vector<int> free_fds_;  // spools sent, to fill again
  size_t in_flight_ = 0;       // queued or being sent
  bool stopping_ = false;
  Status failed_;
  std::vector<ChunkInfo> sent_;       // a part's chunks, as they were written
  std::vector<std::thread> senders_;  // started with the first full chunk
};

}  // namespace dfs
