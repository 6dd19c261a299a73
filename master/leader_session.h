// What only the leader does: turns client mutations into log commands
// (choosing ids, placement and timestamps), judges worker liveness, plans
// garbage collection and expiry, and publishes events. It proposes and
// reacts to what applied; it decides nothing the state machine must agree
// on, and it is created when this master becomes leader and dropped when it
// stops, so a follower does none of it. No sockets, no clock of its own.
#pragma once

#include <chrono>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "bus/wire.h"
#include "master/namespace.h"
#include "master/worker_registry.h"

namespace dfs {

struct MasterOptions {
  std::string id = "m1";
  uint64_t default_chunk_size = 64ull << 20;
  uint32_t default_replication = 3;
  WorkerRegistry::Options registry;
  std::chrono::milliseconds upload_ttl{std::chrono::hours(1)};
  // How long an exactly-once answer is kept for a client that went quiet;
  // longer than any client keeps retrying.
  std::chrono::milliseconds session_ttl{std::chrono::minutes(10)};
  std::chrono::milliseconds gc_interval{2000};
  std::chrono::milliseconds expire_interval{5000};
  // A request whose entry has not applied after this is answered kTimeout
  // (it may still apply; a retry learns the outcome).
  std::chrono::milliseconds commit_timeout{10000};
  size_t max_uploads = 10000;  // uploads in progress at once; more are refused
  size_t max_pending = 4096;   // requests waiting for their entry; more get kBusy
  uint64_t seed = 0;           // for ids; 0 picks a random seed
};

int64_t wall_clock_ms();

class LeaderSession {
 public:
  using Clock = std::chrono::steady_clock;

  LeaderSession(const MasterOptions& options, const Namespace& ns, WorkerRegistry& registry,
                Clock::time_point since);

  // The command for a client's mutation, or why there is none (placement
  // failed, bad arguments). `request` is a decoded mutation request.
  Result<Command> plan(const Envelope& request, Clock::time_point now);

  // Commands that follow from a heartbeat (a new address, deletions done).
  std::vector<Command> on_heartbeat(const Heartbeat& hb);
  // The command that collects what the report lists but nothing wants.
  std::optional<Command> on_chunk_report(const ChunkReport& report);
  // Periodic work: liveness events, delete jobs, expiry.
  std::vector<Command> tick(Clock::time_point now);
  // What an applied entry means for the leader: events, freed placements.
  void on_applied(const Outcome& outcome);

  // Whether placement failures should wait: just after taking over, the
  // workers' first heartbeats may not have arrived yet.
  bool in_startup_grace(Clock::time_point now) const {
    return now < since_ + options_.registry.suspect_after;
  }
  // Queues an event for the bus (time and sequence filled in here).
  void publish(ClusterEvent event);
  // Messages to publish on the jobs PUB since the last call (topic set).
  std::vector<Envelope> take_outbox() { return std::exchange(outbox_, {}); }

 private:
  Result<Command> plan_allocation(const AllocateChunkRequest& req, Clock::time_point now);
  std::string new_id();

  const MasterOptions& options_;
  const Namespace& ns_;
  WorkerRegistry& registry_;
  Clock::time_point since_;
  std::mt19937_64 rng_;
  std::map<std::string, WorkerAddr> registered_;  // worker addresses proposed or in the log
  std::vector<Envelope> outbox_;
  uint64_t event_seq_ = 0;
  Clock::time_point next_gc_{};
  Clock::time_point next_expire_{};
};

}  // namespace dfs
