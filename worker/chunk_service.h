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
  // (their client died or gave up); returns how many.
  size_t expire_idle(Clock::time_point now);
  // Aborts every open write (shutdown).
  void abort_all();
  size_t open_writes() const { return writes_.size(); }

 private:
  struct OpenWrite {
    std::unique_ptr<ChunkWriter> writer;
    Clock::time_point last_frame;
  };

  Result<WriteChunkAck> write_frame(const WriteChunkFrame& frame, Envelope& request,
                                    Clock::time_point now);
  Envelope read(const ReadChunkRequest& req, const Envelope& request);

  ChunkStore* store_;
  std::chrono::milliseconds idle_timeout_;
  std::map<std::string, OpenWrite> writes_;  // by chunk id
};

}  // namespace dfs
