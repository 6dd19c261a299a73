// The worker's disk threads. The socket thread hands each request to the
// thread chosen by its connection, so one client's frames stay in order on
// one thread; each thread sends its replies back over an inproc PUSH socket
// that the socket thread drains. Queues are bounded: when any is full the
// socket thread stops reading, and ZeroMQ's HWM pushes back on clients.
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

namespace dfs {

class DiskPool {
 public:
  struct Options {
    int threads = 2;
    size_t queue_depth = 16;
    std::chrono::milliseconds idle_timeout{30000};
  };

  // `reply_endpoint` is an inproc endpoint the caller has bound a PULL to.
  DiskPool(zmq::context_t& ctx, ChunkStore* store, Options options, std::string reply_endpoint);
  ~DiskPool();  // stop()

  bool has_room() const;
  // Queues a data-socket request (moving it); false, leaving it untouched,
  // if that thread's queue is full.
  bool submit_request(Envelope& request);
  // Queues removal of chunks (from a delete job); false if full.
  bool submit_delete(std::vector<std::string> chunk_ids);
  // Finishes queued work, aborts unfinished writes, joins the threads.
  void stop();

 private:
  struct Task {
    Envelope request;                     // a data-socket request, or
    std::vector<std::string> delete_ids;  // chunks to remove
  };
  struct Lane {
    explicit Lane(size_t depth) : queue(depth) {}
    BoundedQueue<Task> queue;
    std::thread thread;
  };

  void run_lane(Lane* lane);

  zmq::context_t& ctx_;
  ChunkStore* store_;
  Options options_;
  std::string reply_endpoint_;
  std::vector<std::unique_ptr<Lane>> lanes_;
  std::atomic<size_t> next_delete_lane_{0};
  bool stopped_ = false;
};

}  // namespace dfs
