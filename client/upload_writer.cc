// UploadWriter: spool a chunk, hand it to a sender thread, fill the next.
#include "client/upload_writer.h"

#include <unistd.h>

#include <algorithm>

#include "client/local_file.h"
#include "client/slot_leases.h"
#include "client/upload_chunk.h"
#include "client/worker_pool.h"
#include "codec/path.h"

namespace dfs {

Result<std::unique_ptr<UploadWriter>> UploadWriter::begin(zmq::context_t& ctx,
                                                          const ClientOptions& client,
                                                          const std::string& remote,
                                                          const PutOptions& options,
                                                          TransferPool* pool) {
  static_assert(SlotLeases::kMaxSlotBytes <= kMemoryBytes, "a slot's file is held in memory");
  // One set of connections serves the create, the last chunk, the commit
  // and an abort: a small file costs one handshake per peer, not three.
  auto own = pool ? pool->take()
                  : std::make_unique<TransferContext>(ctx, client.masters, client.timeout,
                                                      client.identity);
  std::unique_ptr<UploadWriter> writer(
      new UploadWriter(ctx, pool, std::move(own), client, remote, "", options.chunk_size));
  writer->put_ = options;
  if (pool && options.size_hint > 0 && options.size_hint <= SlotLeases::kMaxSlotBytes) {
    writer->slot_ = true;
    writer->first_size_ = options.size_hint;
    writer->in_memory_ = true;
    return writer;
  }
  Status started = writer->ensure_upload();
  if (!started.is_ok()) {
    writer->done_ = true;  // nothing to abort
    return about_path(remote, started);
  }
  return writer;
}

Status UploadWriter::ensure_upload() {
  if (!upload_id_.empty()) return Status::ok();
  const CreateUploadRequest create{remote_,
                                   put_.chunk_size,
                                   put_.replication,
                                   put_.overwrite,
                                   put_.min_replication,
                                   {},
                                   client_.umask,
                                   /*multipart=*/false,
                                   /*first_chunk_size=*/put_.size_hint};
  auto upload = own_->master->call<CreateUploadRequest, CreateUploadReply>(create);
  if (!upload.is_ok() && upload.status().code() == Code::kNotFound && put_.make_parents) {
    DFS_RETURN_IF_ERROR(make_parents());
    upload = own_->master->call<CreateUploadRequest, CreateUploadReply>(create);
  }
  if (!upload.is_ok()) return upload.status();
  upload_id_ = upload->upload_id;
  chunk_size_ = upload->chunk_size;
  slot_ = false;
  if (!upload->first_chunk.empty()) {
    first_chunk_ = std::move(upload->first_chunk.front());
    first_size_ = put_.size_hint;
    in_memory_ = put_.size_hint <= kMemoryBytes;
  }
  return Status::ok();
}

Status UploadWriter::make_parents() {
  return own_->master
      ->call<MkdirRequest, OkReply>(
          MkdirRequest{parent_path(remote_), /*parents=*/true, {}, client_.umask})
      .status();
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

Status UploadWriter::unhold() {
  std::string held;
  held.swap(memory_);
  in_memory_ = false;
  size_ = 0;
  fill_len_ = 0;
  return append(held.data(), held.size());
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
    DFS_RETURN_IF_ERROR(ensure_upload());  // too big for a slot after all
    DFS_RETURN_IF_ERROR(memory_.size() > chunk_size_ ? unhold() : spill());
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
          commit_request(upload_id_, size_, {std::move(sent).value()}, etag))
      .status();
}

Status UploadWriter::finish_slot(const std::string& etag, bool* fall_back) {
  *fall_back = true;
  SlotLeases& leases = pool_->slots();
  MasterClient& master = *own_->master;
  const SlotLeases::Kind kind{SlotLeases::slot_bytes_for(size_), put_.chunk_size, put_.replication,
                              put_.min_replication};
  auto slot = leases.take(kind, [&](const SlotLeases::Kind& k, uint32_t count) {
    CreateUploadRequest lease{"",
                              k.chunk_size,
                              k.replication,
                              /*overwrite=*/false,
                              k.min_replication,
                              {},
                              client_.umask,
                              /*multipart=*/false,
                              /*first_chunk_size=*/k.slot_bytes};
    lease.slots = count;
    return master.call<CreateUploadRequest, CreateUploadReply>(lease);
  });
  if (!slot.is_ok()) return slot.status();
  ChunkSource source = [&](uint64_t off, char* out, size_t count) -> Status {
    std::copy_n(memory_.data() + off, count, out);
    return Status::ok();
  };
  // A slot's pipeline is fixed: a retry on other workers goes the ordinary way.
  ClientOptions once = client_;
  once.chunk_attempts = 1;
  auto sent = upload_chunk(*own_, once, slot->lease_id, 0, size_, source, progress_,
                           /*mark=*/false, &slot->chunk);
  if (!sent.is_ok()) {
    leases.forget_workers(slot->chunk.pipeline);
    return sent.status();
  }
  CommitUploadRequest commit =
      commit_request(slot->lease_id, size_, {std::move(sent).value()}, etag);
  commit.path = remote_;
  commit.overwrite = put_.overwrite;
  commit.umask = client_.umask;
  auto committed = master.call<CommitUploadRequest, OkReply>(commit);
  if (!committed.is_ok() && committed.status().code() == Code::kNotFound && put_.make_parents) {
    Status made = make_parents();
    if (!made.is_ok()) {
      *fall_back = false;
      return made;
    }
    committed = master.call<CommitUploadRequest, OkReply>(commit);
  }
  if (!committed.is_ok() && committed.status().code() == Code::kNotFound &&
      !master.call<UploadsRequest, UploadsReply>(UploadsRequest{slot->lease_id, 0, 0}).is_ok()) {
    // Not the directory: the lease is gone (expired). The ordinary way
    // sends the bytes again.
    leases.forget_lease(slot->lease_id);
    if (progress_) progress_(-static_cast<int64_t>(size_));
    return committed.status();
  }
  *fall_back = false;
  return committed.status();
}

Status UploadWriter::finish(const std::string& etag) {
  if (done_) return Status(Code::kCancelled, remote_ + ": already closed or aborted");
  Status s = drain();
  if (s.is_ok() && slot_ && size_ > 0) {
    bool fall_back = false;
    s = finish_slot(etag, &fall_back);
    if (!fall_back) {
      done_ = true;
      return s.is_ok() ? s : about_path(remote_, s);
    }
    s = Status::ok();
  }
  if (s.is_ok()) s = ensure_upload();
  if (s.is_ok() && in_memory_ && memory_.size() > chunk_size_) {
    s = unhold();
    if (s.is_ok()) s = drain();
  }
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
        commit_request(upload_id_, size_, {}, etag));
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
  if (part_ != 0 || upload_id_.empty()) return;  // a slot's file never started an upload
  (void)own_->master->call<AbortUploadRequest, OkReply>(AbortUploadRequest{upload_id_, {}});
}

}  // namespace dfs
