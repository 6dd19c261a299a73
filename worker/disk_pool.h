// The worker's disk threads. The socket thread hands a read to the thread
// chosen by its connection and a chunk write's frames to the thread chosen
// by the chunk, so both stay in order on one thread. Each thread sends read
// replies and write acknowledgements back over inproc PUSH sockets that the
// socket thread drains. Queues are bounded: when any is full the socket
// thread stops reading, and ZeroMQ's HWM pushes back on the senders.
#pragma once

#include <zmq.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bus/bounded_queue.h"
#include "bus/wire.h"
#include "worker/chunk_store.h"
#include "worker/pipeline_tracker.h"

namespace dfs {

class DiskPool {
 public:
  struct Options {
    int threads = 2;
    size_t queue_depth = 16;
    std::chrono::milliseconds idle_timeout{30000};
    // How long the first sealed chunk of a group waits for more (0: until
    // the queue is empty).
    std::chrono::milliseconds group_delay{0};
  };

  // The caller has bound PULL sockets to both inproc endpoints: read
  // replies arrive routed on `reply_endpoint`, ReplicaAcks of local writes
  // plain on `ack_endpoint`.
  DiskPool(zmq::context_t& ctx, std::string worker_id, ChunkStore* store, Options options,
           std::string reply_endpoint, std::string ack_endpoint);
  ~DiskPool();  // stop()

  bool has_room() const;
  // Queues a data-socket request (moving it); false, leaving it untouched,
  // if that thread's queue is full.
  bool submit_request(Envelope& request);
  // Queues one frame of a chunk write; false if that thread's queue is full.
  bool submit_write(LocalWrite&& write);
  // Queues dropping a chunk write, behind its frames already queued. Never
  // refused: there is at most one abort per open write.
  void submit_abort(const std::string& chunk_id);
  // Queues removal of chunks (from a delete job); false if full.
  bool submit_delete(std::vector<std::string> chunk_ids);
  // Finishes queued work, aborts unfinished writes, joins the threads.
  void stop();

 private:
  struct Task {
    enum class Kind { kRequest, kWrite, kAbort, kDelete };
    Kind kind = Kind::kRequest;
    Envelope request;                     // kRequest
    LocalWrite write;                     // kWrite
    std::string chunk_id;                 // kAbort
    std::vector<std::string> delete_ids;  // kDelete
  };
  struct Lane {
    explicit Lane(size_t depth) : queue(depth) {}
    BoundedQueue<Task> queue;
    std::thread thread;
  };

  void run_lane(Lane* lane);
  Lane& lane_of_chunk(const std::string& chunk_id);

  zmq::context_t& ctx_;
  std::string worker_id_;
  ChunkStore* store_;
  Options options_;
  std::string reply_endpoint_;
  std::string ack_endpoint_;
  std::vector<std::unique_ptr<Lane>> lanes_;
  std::atomic<size_t> next_delete_lane_{0};
  bool stopped_ = false;
};

}  // namespace dfs
