// What a worker's disk does: open, append to and commit chunk writes, and
// serve reads. No sockets and no threads here: a disk thread owns one
// ChunkService and feeds it work in arrival order. Which frames arrive, and
// who hears about them, is the pipeline tracker's business.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bus/wire.h"
#include "worker/chunk_store.h"

namespace dfs {

class ChunkService {
 public:
  using Clock = std::chrono::steady_clock;

  ChunkService(std::string worker_id, ChunkStore* store, std::chrono::milliseconds idle_timeout);

  // Handles a ReadChunkRequest (anything else is refused) and returns the
  // reply, with the request's routing id and request id. Never throws.
  Envelope handle(Envelope&& request, Clock::time_point now);

  // Appends one frame of a chunk write; the frame with offset 0 opens it and
  // the one with last=true seals it. The answer says how many bytes this
  // worker holds, or why the write failed (it is then dropped). A sealed
  // chunk has no answer here: it waits for commit_sealed().
  std::optional<ReplicaAck> write(const WriteChunkFrame& frame, const zmq::message_t& data,
                                  Clock::time_point now);
  // Makes every sealed chunk durable and visible (group commit, see
  // ChunkStore::publish) and answers each: stored, or why not.
  std::vector<ReplicaAck> commit_sealed();
  size_t sealed() const { return sealed_.size(); }
  // Drops the write of `chunk_id` (its temporary) if it is open or sealed.
  void abort(const std::string& chunk_id);

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

  Result<WriteChunkAck> write_frame(const WriteChunkFrame& frame, const zmq::message_t& data,
                                    Clock::time_point now);
  Envelope read(const ReadChunkRequest& req, const Envelope& request, Clock::time_point now);

  std::string worker_id_;
  ChunkStore* store_;
  std::chrono::milliseconds idle_timeout_;
  std::map<std::string, OpenWrite> writes_;           // by chunk id
  std::vector<std::unique_ptr<ChunkWriter>> sealed_;  // waiting for commit_sealed()
  std::map<std::string, OpenRead> reads_;             // by chunk id, at most kMaxOpenReads
};

}  // namespace dfs
