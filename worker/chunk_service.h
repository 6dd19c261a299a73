// What a worker does with one request from its data socket: open, append to
// and commit chunk writes, and serve reads. No sockets and no threads here:
// a disk thread owns one ChunkService and feeds it requests in arrival order.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "bus/wire.h"
#include "worker/chunk_store.h"

namespace dfs {

class ChunkService {
 public:
  using Clock = std::chrono::steady_clock;

  ChunkService(ChunkStore* store, std::chrono::milliseconds idle_timeout);

  // Handles a WriteChunkFrame or ReadChunkRequest and returns the reply, with
  // the request's routing id and request id. Never throws.
  Envelope handle(Envelope&& request, Clock::time_point now);

  // Aborts writes that have seen no frame for longer than the idle timeout
  // (their client died or gave up), and closes readers unused for a few
  // seconds; returns how many writes were aborted.
  size_t expire_idle(Clock::time_point now);
  // Aborts every open write (shutdown).
  void abort_all();
  size_t open_writes() const { return writes_.size(); }

 private:
  struct OpenRead {
    std::unique_ptr<ChunkReader> reader;
    Clock::time_point last_used;
  };
  // The reader of `chunk_id`, opened on first use and kept while frames come.
  Result<ChunkReader*> reader(const std::string& chunk_id, Clock::time_point now);

  struct OpenWrite {
    std::unique_ptr<ChunkWriter> writer;
    Clock::time_point last_frame;
  };

  Result<WriteChunkAck> write_frame(const WriteChunkFrame& frame, Envelope& request,
                                    Clock::time_point now);
  Envelope read(const ReadChunkRequest& req, const Envelope& request, Clock::time_point now);

  ChunkStore* store_;
  std::chrono::milliseconds idle_timeout_;
  std::map<std::string, OpenWrite> writes_;  // by chunk id
  std::map<std::string, OpenRead> reads_;    // by chunk id, at most kMaxOpenReads
};

}  // namespace dfs
