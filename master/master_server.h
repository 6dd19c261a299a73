// The dfs-master process's socket loop: api ROUTER, events SUB (heartbeats
// in), jobs PUB (jobs and events out), all on one thread that pumps the
// MasterService and its log (a LocalLog: this master runs alone).
#pragma once

#include <zmq.hpp>

#include <atomic>
#include <memory>

#include "bus/endpoints.h"
#include "master/local_log.h"
#include "master/master_service.h"

namespace dfs {

class MasterServer {
 public:
  MasterServer(zmq::context_t& ctx, HostPort listen, MasterOptions options,
               std::unique_ptr<Namespace> ns);
  // Binds and serves until stop_requested().
  Status run();
  // Makes run() return soon, from any thread (the process-wide stop signal does too).
  void stop() { stop_.store(true); }

 private:
  zmq::context_t& ctx_;
  std::atomic<bool> stop_{false};
  HostPort listen_;
  LocalLog log_;
  std::unique_ptr<MasterService> service_;
};

}  // namespace dfs
