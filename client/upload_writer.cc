// UploadWriter: spool a chunk, hand it to a sender thread, fill the next.
#include "client/upload_writer.h"

#include <unistd.h>

#include <algorithm>

#include "client/local_file.h"
#include "client/upload_chunk.h"
#include "client/worker_pool.h"

namespace dfs {

Result<std::unique_ptr<UploadWriter>> UploadWriter::begin(zmq::context_t& ctx,
                                                          const ClientOptions& client,
                                                          const std::string& remote,
                                                          const PutOptions& options,
                                                          TransferPool* pool) {
  // One set of connections serves the create, the last chunk, the commit
  // and an abort: a small file costs one handshake per peer, not three.
  auto own = pool ? pool->take()
                  : std::make_unique<TransferContext>(ctx, client.masters, client.timeout,
                                                      client.identity);
  auto upload = own->master->call<CreateUploadRequest, CreateUploadReply>(
      CreateUploadRequest{remote,
                          options.chunk_size,
                          options.replication,
                          options.overwrite,
                          options.min_replication,
                          {},
                          client.umask,
                          /*multipart=*/false,
                          /*first_chunk_size=*/options.size_hint});
  if (!upload.is_ok()) {
    if (pool) pool->give(std::move(own));
    return about_path(remote, upload.status());
  }
  std::unique_ptr<UploadWriter> writer(new UploadWriter(ctx, pool, std::move(own), client, remote,
                                                        upload->upload_id, upload->chunk_size));
  if (!upload->first_chunk.empty()) {
    writer->first_chunk_ = std::move(upload->first_chunk.front());
    writer->first_size_ = options.size_hint;
    writer->in_memory_ = options.size_hint <= kMemoryBytes;
  }
  return writer;
}

std::unique_ptr<UploadWriter> UploadWriter::part(zmq::context_t& ctx, const ClientOptions& client,
                                                 const std::string& upload_id, uint64_t chunk_size,
                                                 uint32_t number, TransferPool* pool) {
  auto own = pool ? pool->take()
                  : std::make_unique<TransferContext>(ctx, client.masters, client.timeout,
                                                      client.identity);
  return std::unique_ptr<UploadWriter>(new UploadWriter(
      ctx, pool, std::move(own), client,
      "part " + std::to_string(number) + " of upload " + upload_id, upload_id, chunk_size, number));
}

UploadWriter::UploadWriter(zmq::context_t& ctx, TransferPool* pool,
                           std::unique_ptr<TransferContext> own, const ClientOptions& client,
                           std::string remote, std::string upload_id, uint64_t chunk_size,
                           uint32_t part)
    : ctx_(ctx),
      pool_(pool),
      own_(std::move(own)),
      client_(client),
      remote_(std::move(remote)),
      upload_id_(std::move(upload_id)),
      chunk_size_(chunk_size),
      part_(part),
      first_index_(part * kPartIndexStride),
      next_index_(first_index_) {}

std::unique_ptr<TransferContext> UploadWriter::take_connections() const {
  if (pool_) return pool_->take();
  return std::make_unique<TransferContext>(ctx_, client_.masters, client_.timeout,
                                           client_.identity);
}

UploadWriter::~UploadWriter() {
  if (!done_) abort();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : senders_) t.join();
  for (const auto& s : queue_) ::close(s.fd);
  for (int fd : free_fds_) ::close(fd);
  if (fill_.fd >= 0) ::close(fill_.fd);
  if (pool_) pool_->give(std::move(own_));
}

Status UploadWriter::spill() {
  auto fd = free_spool();
  if (!fd.is_ok()) return fd.status();
  fill_ = Spool{fd.value(), next_index_, 0};
  in_memory_ = false;
  Status s = pwrite_all(fill_.fd, memory_.data(), memory_.size(), 0, "spool " + remote_);
  fill_.len = memory_.size();
  std::string().swap(memory_);
  return s;
}

Status UploadWriter::failure() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failed_;
}

Result<int> UploadWriter::free_spool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!free_fds_.empty()) {
      int fd = free_fds_.back();
      free_fds_.pop_back();
      return fd;
    }
  }
  return anonymous_temp_file();
}

Status UploadWriter::append(const char* data, size_t len) {
  if (done_)
    return Status(Code::kCancelled, remote_ + ": already closed or aborted: no more bytes");
  DFS_RETURN_IF_ERROR(failure());
  if (in_memory_) {
    if (memory_.size() + len <= first_size_) {
      memory_.append(data, len);
      size_ += len;
      fill_len_ = memory_.size();
      return Status::ok();
    }
    DFS_RETURN_IF_ERROR(spill());
  }
  while (len > 0) {
    if (fill_.fd < 0) {
      if (part_ != 0 && next_index_ - first_index_ == kPartIndexStride) {
        return invalid_argument(remote_ + ": a part may have at most " +
                                std::to_string(kPartIndexStride) + " chunks of " +
                                std::to_string(chunk_size_) + " bytes");
      }
      auto fd = free_spool();
      if (!fd.is_ok()) return fd.status();
      fill_ = Spool{fd.value(), next_index_, 0};
    }
    size_t n = static_cast<size_t>(std::min<uint64_t>(len, chunk_size_ - fill_.len));
    DFS_RETURN_IF_ERROR(pwrite_all(fill_.fd, data, n, fill_.len, "spool " + remote_));
    fill_.len += n;
    fill_len_ = fill_.len;
    size_ += n;
    data += n;
    len -= n;
    if (fill_.len == chunk_size_) DFS_RETURN_IF_ERROR(submit());
  }
  return Status::ok();
}

Status UploadWriter::submit() {
  std::unique_lock<std::mutex> lock(mu_);
  if (senders_.empty()) {
    // Files of one chunk never start a thread: finish() sends it.
    int threads = std::max(1, client_.parallel_chunks);
    for (int i = 0; i < threads; ++i) senders_.emplace_back([this] { send_loop(); });
  }
  // Bounded: a writer faster than the network waits here.
  cv_.wait(lock, [&] { return in_flight_ < senders_.size() || !failed_.is_ok(); });
  if (!failed_.is_ok()) return failed_;
  queue_.push_back(fill_);
  ++in_flight_;
  lock.unlock();
  cv_.notify_all();
  fill_ = Spool{};
  fill_len_ = 0;
  ++next_index_;
  return Status::ok();
}

void UploadWriter::send_loop() {
  auto connections = take_connections();
  TransferContext& ctx = *connections;
  for (;;) {
    Spool spool;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) {
        if (pool_) pool_->give(std::move(connections));
        return;
      }
      spool = queue_.front();
      queue_.pop_front();
      if (!failed_.is_ok()) {  // a chunk failed: the rest need not go
        free_fds_.push_back(spool.fd);
        --in_flight_;
        cv_.notify_all();
        continue;
      }
    }
    ChunkSource source = [fd = spool.fd](uint64_t off, char* out, size_t count) {
      return pread_exact(fd, out, count, off, "read spooled bytes");
    };
    auto sent = upload_chunk(ctx, client_, upload_id_, spool.index, spool.len, source, progress_,
                             /*mark=*/part_ == 0);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (sent.is_ok() && part_ != 0) sent_.push_back(std::move(sent).value());
      if (!sent.is_ok() && failed_.is_ok()) failed_ = sent.status();
      free_fds_.push_back(spool.fd);
      --in_flight_;
    }
    cv_.notify_all();
  }
}

Status UploadWriter::drain() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return in_flight_ == 0; });
  return failed_;
}

Status UploadWriter::finish_single(const std::string& etag) {
  const uint64_t len = in_memory_ ? memory_.size() : fill_.len;
  ChunkSource source = [&](uint64_t off, char* out, size_t count) -> Status {
    if (!in_memory_) return pread_exact(fill_.fd, out, count, off, "read spooled bytes");
    std::copy_n(memory_.data() + off, count, out);
    return Status::ok();
  };
  // The allocation made with the upload fits only a file of the hinted size.
  const AllocateChunkReply* allocated =
      first_chunk_ && len == first_size_ ? &*first_chunk_ : nullptr;
  auto sent = upload_chunk(*own_, client_, upload_id_, 0, len, source, progress_, /*mark=*/false,
                           allocated);
  if (!sent.is_ok()) return sent.status();
  // The chunk goes in the commit itself: no mark, one entry fewer.
  return own_->master
      ->call<CommitUploadRequest, OkReply>(
          CommitUploadRequest{upload_id_, size_, {std::move(sent).value()}, {}, etag, {}})
      .status();
}

Status UploadWriter::finish(const std::string& etag) {
  if (done_) return Status(Code::kCancelled, remote_ + ": already closed or aborted");
  Status s = drain();
  const bool single = part_ == 0 && next_index_ == first_index_ && size_ > 0;
  if (s.is_ok() && single) {
    s = finish_single(etag);
  } else if (s.is_ok() && fill_.len > 0) {
    // The last chunk goes from this thread: no sender is needed for it.
    ChunkSource source = [fd = fill_.fd](uint64_t off, char* out, size_t count) {
      return pread_exact(fd, out, count, off, "read spooled bytes");
    };
    auto sent = upload_chunk(*own_, client_, upload_id_, fill_.index, fill_.len, source, progress_,
                             /*mark=*/part_ == 0);
    s = sent.status();
    if (sent.is_ok() && part_ != 0) sent_.push_back(std::move(sent).value());
  }
  if (s.is_ok() && part_ != 0) {
    std::sort(sent_.begin(), sent_.end(),
              [](const ChunkInfo& a, const ChunkInfo& b) { return a.index < b.index; });
    s = own_->master
            ->call<PartWrittenRequest, OkReply>(
                PartWrittenRequest{upload_id_, part_, etag, sent_, {}})
            .status();
  } else if (s.is_ok() && !single) {
    // The chunks are the ones marked written: the commit is small.
    auto commit = own_->master->call<CommitUploadRequest, OkReply>(
        CommitUploadRequest{upload_id_, size_, {}, {}, etag, {}});
    s = commit.status();
  }
  if (!s.is_ok()) {
    abort();
    return about_path(remote_, s);
  }
  done_ = true;
  return Status::ok();
}

void UploadWriter::abort() {
  if (done_) return;
  done_ = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (failed_.is_ok()) failed_ = Status(Code::kCancelled, remote_ + ": upload aborted");
  }
  cv_.notify_all();
  // A part's chunks are the upload's, collected when it ends: the upload
  // itself goes on.
  if (part_ != 0) return;
  (void)own_->master->call<AbortUploadRequest, OkReply>(AbortUploadRequest{upload_id_, {}});
}

}  // namespace dfs
