// The dfs-worker process: a socket thread that owns the data ROUTER, the
// heartbeat PUB and the jobs SUB, and hands disk work to the DiskPool.
#pragma once

#include <zmq.hpp>

#include <atomic>
#include <chrono>
#include <stop_token>
#include <string>
#include <vector>

#include "bus/endpoints.h"
#include "worker/chunk_store.h"

namespace dfs {

struct WorkerConfig {
  std::string id;
  HostPort listen;  // data ROUTER
  std::vector<HostPort> masters;
  std::string dir;
  uint64_t capacity = 0;
  std::chrono::milliseconds heartbeat_interval{1000};
  std::chrono::milliseconds idle_timeout{30000};
  std::chrono::milliseconds report_interval{60000};  // full chunk inventory to the masters
  int disk_threads = 2;
};

class WorkerServer {
 public:
  WorkerServer(zmq::context_t& ctx, WorkerConfig config);

  // Opens the store and binds; then run() serves until stop_requested().
  Status start();
  Status run();
  // Makes run() return soon, from any thread (the process-wide stop signal does too).
  void stop() { stop_.store(true); }

 private:
  void publish_heartbeat(zmq::socket_t& pub);
  // Publishes the chunk inventory every report interval until stopped. Runs
  // on its own thread with its own socket: listing a large store is slow.
  void report_inventory(const std::stop_token& stop);

  zmq::context_t& ctx_;
  std::atomic<bool> stop_{false};
  WorkerConfig config_;
  std::unique_ptr<ChunkStore> store_;
  uint64_t heartbeat_seq_ = 0;
};

}  // namespace dfs
