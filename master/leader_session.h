// What only the leader does: turns client mutations into log commands
// (choosing ids, placement and timestamps), judges worker liveness, plans
// garbage collection and expiry, and publishes events. It proposes and
// reacts to what applied; it decides nothing the state machine must agree
// on, and it is created when this master becomes leader and dropped when it
// stops, so a follower does none of it. No sockets, no clock of its own.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include "bus/chunk_ticket.h"
#include "bus/wire.h"
#include "master/namespace.h"
#include "master/repair_planner.h"
#include "master/replica_map.h"
#include "master/worker_registry.h"

namespace dfs {

struct MasterOptions {
  std::string id = "m1";
  uint64_t default_chunk_size = 64ull << 20;
  uint32_t default_replication = 3;
  WorkerRegistry::Options registry;
  std::chrono::milliseconds upload_ttl{std::chrono::hours(24)};
  // A lease of slots for small files idle this long expires (or upload_ttl,
  // if shorter): past the client's 10 minutes of keeping a slot.
  static constexpr std::chrono::milliseconds kLeaseIdle{std::chrono::minutes(15)};
  // How long an exactly-once answer is kept for a client that went quiet;
  // longer than any client keeps retrying.
  std::chrono::milliseconds session_ttl{std::chrono::minutes(10)};
  std::chrono::milliseconds gc_interval{2000};
  std::chrono::milliseconds expire_interval{5000};
  // A request whose entry has not applied after this is answered kTimeout
  // (it may still apply; a retry learns the outcome).
  std::chrono::milliseconds commit_timeout{10000};
  // A stale read of files or keys is refused by a master whose state has
  // not been known current with its group (ReplicatedLog::since_current)
  // for longer than this, so a master cut off from its group stops honouring
  // a permission or key taken away within this bound. 0: no limit.
  std::chrono::milliseconds stale_read_limit{30000};
  size_t max_uploads = 10000;  // uploads in progress at once; more are refused
  size_t max_pending = 4096;   // requests waiting for their entry; more get kBusy
  RepairOptions repair;
  uint64_t seed = 0;  // for ids; 0 picks a random seed
  // Signs the chunk tickets workers serve clients against (--ticket-key);
  // null: this master issues none.
  std::shared_ptr<const TicketSigner> tickets;
};

int64_t wall_clock_ms();

class LeaderSession {
 public:
  using Clock = std::chrono::steady_clock;

  // Follows every change `ns` applies (for the replica map) until destroyed.
  LeaderSession(const MasterOptions& options, Namespace& ns, WorkerRegistry& registry,
                Clock::time_point since);
  ~LeaderSession();
  LeaderSession(const LeaderSession&) = delete;
  LeaderSession& operator=(const LeaderSession&) = delete;

  // The command for a client's mutation, or why there is none (placement
  // failed, bad arguments). `request` is a decoded mutation request.
  Result<Command> plan(const Envelope& request, Clock::time_point now);

  // Commands that follow from a heartbeat (a new address, deletions done,
  // chunks its scrubber found bad).
  std::vector<Command> on_heartbeat(const Heartbeat& hb, Clock::time_point now);
  // Commands that follow from an inventory page: orphans collected, and once
  // the whole report is in, recorded replicas it lacks marked lost and copies
  // it holds that nothing records deleted.
  std::vector<Command> on_chunk_report(const ChunkReport& report, Clock::time_point now);
  // A worker that came back (its replicas count again).
  void on_worker_live(const std::string& worker);
  // A source's report on a repair copy: the commands that record it.
  std::vector<Command> on_copy_done(const ReplicateChunkDone& done, Clock::time_point now);
  // Periodic work: liveness events, delete and repair jobs, expiry.
  std::vector<Command> tick(Clock::time_point now);
  RepairStatus repair_status() const;
  // Chunks the replica map records on `worker` (or, when none, those open
  // uploads placed there), or -1 before the map is loaded.
  int64_t recorded_chunks(const std::string& worker) const;
  // What an applied entry means for the leader: events, freed placements.
  void on_applied(const Outcome& outcome);

  // Whether placement failures should wait: just after taking over, the
  // workers' first heartbeats may not have arrived yet.
  bool in_startup_grace(Clock::time_point now) const {
    return now < since_ + options_.registry.suspect_after;
  }
  // Queues an event for the bus (time, epoch and sequence filled in here).
  void publish(ClusterEvent event);
  uint64_t event_epoch() const { return epoch_; }
  uint64_t event_sequence() const { return event_seq_; }
  // Queues the keyring's log changes for workers (topic "keys.ring").
  void publish_keys(const KeyringUpdate& keys);
  // Messages to publish on the jobs PUB since the last call (topic set).
  std::vector<Envelope> take_outbox() { return std::exchange(outbox_, {}); }

 private:
  Result<Command> plan_allocation(const AllocateChunkRequest& req, Clock::time_point now);
  // The registry's placement, never on a draining worker.
  Result<std::vector<WorkerAddr>> place(uint64_t size, uint32_t count, uint32_t min_count,
                                        const std::vector<std::string>& exclude,
                                        Clock::time_point now);
  // Publishes worker.drained once for each draining worker no record names.
  void announce_drained(Clock::time_point now);
  std::string new_id();
  // Walks more of the namespace into the replica map, then plans repairs.
  void plan_repairs(Clock::time_point now, std::vector<Command>* out);
  class Env;
  // A worker's inventory report, assembled page by page.
  struct Inventory {
    uint64_t report = 0;
    uint32_t pages = 0;
    std::set<uint32_t> got;
    // The recorded chunks it listed, as the replica map's entries (compared,
    // never followed: one may be gone by the last page).
    std::unordered_set<const ReplicaMap::Chunk*> held;
    std::vector<std::string> strays;  // listed, recorded only on other workers
    Clock::time_point listed;         // the earliest the listing may have begun
  };
  // Once a whole report is in: marks recorded replicas it lacks and drops
  // copies nothing records, at most `max` of each.
  void reconcile(const std::string& worker, const Inventory& inv, size_t max,
                 std::vector<Command>* out);
  // Proposes MarkReplicaBadCmd for the copy on `worker` unless it is not
  // recorded there, already marked, or proposed moments ago. Logs it unless
  // `quiet` (the caller logs one line for many).
  void mark_bad(const std::string& chunk, const std::string& worker, const std::string& why,
                Clock::time_point now, std::vector<Command>* out, bool quiet = false);

  const MasterOptions& options_;
  Namespace& ns_;
  WorkerRegistry& registry_;
  Clock::time_point since_;
  std::mt19937_64 rng_;
  std::map<std::string, WorkerAddr> registered_;  // worker addresses proposed or in the log
  std::vector<Envelope> outbox_;
  uint64_t epoch_ = 0;  // this session's events' epoch: random, never 0
  uint64_t event_seq_ = 0;
  bool repairing_ = false;  // repair.started published, repair.finished not yet
  // Publishes repair.started when chunks fall below their factor and
  // repair.finished when none is left.
  void announce_repair();
  Clock::time_point next_gc_{};
  Clock::time_point next_expire_{};
  std::map<std::string, Inventory> inventories_;
  std::map<std::pair<std::string, std::string>, Clock::time_point> marked_;  // (worker, chunk)
  std::set<std::string> drained_;  // draining workers announced drained
  Clock::time_point next_drain_check_{};
  ReplicaMap replicas_;
  RepairPlanner planner_;
  std::unique_ptr<Env> env_;
};

}  // namespace dfs
