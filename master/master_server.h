// The dfs-master process's socket loop, on one thread: the api ROUTER
// (clients), the events SUB (heartbeats and reports in), the jobs PUB (jobs
// and events out), and the Raft transport: a peer ROUTER that takes the
// other masters' messages and one DEALER to each of them. Every turn it
// feeds what arrived to the MasterService and the RaftLog, ticks the core
// on time, pumps the log (persist, send, apply) and sends the replies. A
// master alone is a group of one.
#pragma once

#include <zmq.hpp>

#include <atomic>
#include <map>
#include <memory>

#include "bus/endpoints.h"
#include "master/master_service.h"
#include "master/raft_log.h"

namespace dfs {

struct MasterServerConfig {
  HostPort listen;  // api; the next three ports are the peer, events and jobs sockets
  raft::NodeId node_id = 1;
  // Every founding member's api endpoint, this one included; empty means
  // this master alone.
  std::map<raft::NodeId, HostPort> members;
  std::string raft_dir;  // the log store and snapshots
  std::string meta_dir;  // the namespace's directory, replaced when a snapshot installs
  bool join = false;     // this master's storage was lost: see raft::Config::joining
  uint64_t snapshot_entries = 10000;
  uint64_t snapshot_bytes = 64u << 20;
  std::chrono::milliseconds tick{50};
  int election_ticks = 10;  // the election timeout is [this, 2 * this) ticks
  uint64_t seed = 0;        // election jitter; 0 picks one
};

class MasterServer {
 public:
  // Opens the Raft log; fails when it cannot be trusted. `ns` was opened
  // from config.meta_dir.
  static Result<std::unique_ptr<MasterServer>> open(zmq::context_t& ctx, MasterServerConfig config,
                                                    MasterOptions options,
                                                    std::unique_ptr<Namespace> ns);
  // Binds and serves until stop_requested().
  Status run();
  // Makes run() return soon, from any thread (the process-wide stop signal does too).
  void stop() { stop_.store(true); }

 private:
  MasterServer(zmq::context_t& ctx, MasterServerConfig config)
      : ctx_(ctx), config_(std::move(config)) {}

  zmq::context_t& ctx_;
  std::atomic<bool> stop_{false};
  MasterServerConfig config_;
  std::unique_ptr<RaftLog> log_;
  std::unique_ptr<MasterService> service_;
};

}  // namespace dfs
