// Repair copies made by this worker as the source: a ReplicateChunkJob from
// the master names a chunk this worker holds and the workers to copy it to.
// Each copy runs on one of a few threads of its own, reading the chunk from
// the store and writing it to the first target exactly as a client writes a
// chunk (the target forwards along the rest over the PUSH/PULL pipeline,
// verifies the SHA-256 and renames into place), so a repaired replica is made
// by the same code as a written one. Before the last frame the bytes read are
// checked against the chunk's recorded SHA-256: a bad source copy is reported,
// never copied.
//
// Jobs are idempotent: the master re-publishes a job until it hears how it
// ended, so a job already queued or running is not started again, and one
// that ended recently is answered with its result again. A target that
// already holds the chunk (a copy whose report was lost) counts as done.
#pragma once

#include <zmq.hpp>

#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bus/bounded_queue.h"
#include "codec/messages.h"
#include "worker/chunk_store.h"

namespace dfs {

class RepairCopier {
 public:
  struct Options {
    int threads = 2;          // copies at once
    size_t queue_depth = 64;  // jobs waiting; more are left for the master to re-send
    std::chrono::milliseconds timeout{10000};  // silence from a target before giving up
  };

  RepairCopier(zmq::context_t& ctx, std::string worker_id, ChunkStore* store, Options options);
  ~RepairCopier();  // stop()

  // Takes a job for this worker (from the socket thread).
  void submit(const ReplicateChunkJob& job);
  // Reports of jobs that ended since the last call (for the socket thread to
  // publish), including repeats for jobs submitted again after they ended.
  std::vector<ReplicateChunkDone> take_done();
  // Jobs queued or running.
  size_t in_progress();
  // Lets running copies finish, drops queued ones, joins the threads.
  void stop();

 private:
  ReplicateChunkDone copy(const ReplicateChunkJob& job);
  void run();
  void finish(ReplicateChunkDone done);

  zmq::context_t& ctx_;
  std::string worker_id_;
  ChunkStore* store_;
  Options options_;
  // A job and when the leader stops waiting for it (its expires_in_ms from
  // when it arrived here): one still queued then is dropped unrun.
  struct Queued {
    ReplicateChunkJob job;
    std::chrono::steady_clock::time_point expires;
  };
  BoundedQueue<Queued> queue_;
  std::vector<std::thread> threads_;

  std::mutex mu_;
  // Jobs queued or running (by id), and recent results (bounded, oldest
  // forgotten first).
  std::map<std::string, bool> active_;
  std::map<std::string, ReplicateChunkDone> ended_;
  std::deque<std::string> ended_order_;
  std::vector<ReplicateChunkDone> done_;
  bool stopped_ = false;
};

}  // namespace dfs
