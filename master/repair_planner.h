// Re-replication, planned by the leader: which chunk to copy next, from
// which good replica, to which workers; which surplus, corrupt or long-dead
// copy to drop. A pure core: it reads the replicas from the ReplicaMap and
// asks the RepairEnv about workers; no sockets, no clock of its own, no log.
// The leader session publishes the jobs and proposes the commands.
//
// What keeps it safe whatever is lost or repeated:
// - A copy counts only once ReplicaAddedCmd applied; a drop only once
//   ReplicaDroppedCmd did, and the state machine never drops the last good
//   replica. Until the map shows the outcome, a chunk with an action in
//   flight gets no other, so two plans never race on one chunk.
// - A job is re-published until its source reports it, and given up after
//   its deadline (planned again, avoiding the target that failed). A report
//   of a job the planner does not know (an earlier leader's) still counts.
// - Copies that overshoot (a late report after a re-plan, a dead worker
//   back) are surplus and dropped, the copy on the fullest worker first.
// - Chunks down to one good copy are copied before chunks down to two.
// - A draining worker's copy is copied elsewhere like a lost one, but read
//   from while it lasts; it is dropped once the chunk is at its factor
//   without it, so a drained worker holds nothing the cluster needs.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "codec/messages.h"
#include "master/replica_map.h"

namespace dfs {

// What the planner asks of the cluster.
class RepairEnv {
 public:
  virtual ~RepairEnv() = default;
  // A replica on `worker` counts: the worker is live or only briefly silent.
  virtual bool counts(const std::string& worker) const = 0;
  // `worker` can send a copy now (live).
  virtual bool can_send(const std::string& worker) const = 0;
  // `worker` is being decommissioned: its copies are sources, not replicas
  // that count toward a factor, and it takes no new copy.
  virtual bool draining(const std::string& worker) const = 0;
  // `count` targets with room for `size` bytes, none in `exclude`; fewer
  // (at least one) when no more fit, or an error when none does.
  virtual Result<std::vector<WorkerAddr>> place(uint64_t size, uint32_t count,
                                                const std::vector<std::string>& exclude) = 0;
  // Chunk `chunk` on `worker` waits to be deleted there.
  virtual bool garbage_pending(const std::string& worker, const std::string& chunk) const = 0;
  // The chunk as the file at `entry` records it (size, sha256), if it still does.
  virtual std::optional<ChunkInfo> chunk_info(const std::string& entry,
                                              const std::string& chunk) const = 0;
  virtual uint64_t free_bytes(const std::string& worker) const = 0;
  // Every worker the cluster knows of.
  virtual std::vector<std::string> workers() const = 0;
  // A fresh job id.
  virtual std::string new_job_id() = 0;
};

struct RepairOptions {
  size_t copies_per_worker = 2;   // copies at once with a worker as source or target
  uint64_t bytes_per_second = 0;  // copy bytes cluster-wide; 0: no limit
  // A job not reported within base + size / rate is given up.
  std::chrono::milliseconds job_timeout_base{20000};
  uint64_t job_timeout_rate = 20ull << 20;  // bytes/s assumed for the deadline
  std::chrono::milliseconds republish_every{2000};
  // How long an added or dropped replica may take to show in the map
  // before the chunk is planned again.
  std::chrono::milliseconds settle_timeout{10000};
  size_t evaluate_per_tick = 20000;  // chunks looked at per plan()
  // Every chunk is looked at again this often, whatever changed: a safety
  // net under the targeted looks (a worker's change, a map change).
  std::chrono::milliseconds sweep_every{60000};
  size_t max_jobs = 1024;  // jobs in flight cluster-wide
};

struct RepairStats {
  uint64_t queued = 0;   // chunks waiting for a copy
  uint64_t running = 0;  // jobs in flight
  uint64_t lost = 0;     // chunks with no good replica (as last evaluated)
  uint64_t copied = 0;   // jobs reported done
  uint64_t copied_bytes = 0;
  uint64_t failed = 0;            // jobs failed or timed out
  uint64_t dropped = 0;           // drops proposed
  uint64_t bytes_per_second = 0;  // copied over the last 10 s
};

class RepairPlanner {
 public:
  using Clock = std::chrono::steady_clock;

  // A replica to add or drop through the log.
  struct Added {
    std::string entry;
    std::string chunk_id;
    std::vector<std::string> workers;
  };
  struct Drop {
    std::string entry;
    std::string chunk_id;
    std::string worker;
    std::string reason;
  };
  struct Plan {
    std::vector<ReplicateChunkJob> publish;  // new jobs and jobs due again
    std::vector<Drop> drops;
    bool empty() const { return publish.empty() && drops.empty(); }
  };

  // Planning starts at `start` (the leader's grace: one dead-timeout of
  // fresh heartbeats before any worker is judged).
  // The byte throttle starts with one second's worth.
  RepairPlanner(RepairOptions options, Clock::time_point start)
      : options_(options),
        start_(start),
        tokens_(static_cast<double>(options.bytes_per_second)),
        last_refill_(start) {}

  // `worker` went dead, came back or changed otherwise: its chunks are looked
  // at again.
  void on_worker_change(const std::string& worker, const ReplicaMap& map);
  Plan plan(Clock::time_point now, ReplicaMap& map, RepairEnv& env);
  // A source's report; returns the replicas to record when the copy
  // succeeded, and in *bad the source when its own copy failed its checksum.
  std::optional<Added> on_done(const ReplicateChunkDone& done, const ReplicaMap& map,
                               Clock::time_point now, std::string* bad);

  RepairStats stats() const;
  // Whether a copy or a recorded change of the chunk is in flight.
  bool busy(const std::string& chunk) const {
    return busy_.count(chunk) > 0 || settling_.count(chunk) > 0;
  }
  bool started(Clock::time_point now) const { return now >= start_; }

 private:
  struct Job {
    ReplicateChunkJob job;
    Clock::time_point deadline;
    Clock::time_point next_publish;
  };
  // An action whose outcome the map has not shown yet.
  struct Settling {
    Clock::time_point until;
  };

  // A chunk's recorded copies by what they are worth now.
  struct Holders {
    std::vector<std::string> good;     // count toward the factor
    std::vector<std::string> leaving;  // good, on a draining worker
    std::vector<std::string> corrupt;
    std::vector<std::string> gone;  // on a worker not heard from
  };
  static Holders holders(const ReplicaMap::Chunk& c, const RepairEnv& env);
  void evaluate(const std::string& id, const ReplicaMap& map, RepairEnv& env, Clock::time_point now,
                Plan* out);
  bool try_copy(const std::string& id, const ReplicaMap::Chunk& c, const Holders& h, RepairEnv& env,
                Clock::time_point now, Plan* out);
  void unqueue(const std::string& id);
  void end_job(std::map<std::string, Job>::iterator it);
  size_t load(const std::string& worker) const;

  RepairOptions options_;
  Clock::time_point start_;
  bool swept_once_ = false;
  ReplicaMap::SweepPosition sweep_pos_;  // where a sweep resumes
  bool sweeping_ = false;
  bool sweep_again_ = false;  // a worker changed too much during the sweep
  Clock::time_point next_sweep_{};
  std::unordered_set<std::string> dirty_;
  // Chunks below their factor, fewest good copies first.
  std::set<std::pair<size_t, std::string>> queue_;
  std::unordered_map<std::string, size_t> queued_;
  std::unordered_set<std::string> lost_;
  std::map<std::string, Job> jobs_;                     // by job id
  std::unordered_map<std::string, std::string> busy_;   // chunk -> job id
  std::unordered_map<std::string, Settling> settling_;  // chunk -> added or dropped, not yet seen
  std::unordered_map<std::string, size_t> load_;        // worker -> jobs it sends or receives
  std::unordered_map<std::string, std::set<std::string>> avoid_;  // chunk -> targets that failed
  std::deque<std::pair<Clock::time_point, uint64_t>> recent_;     // copies done, for the rate
  Clock::time_point last_now_{};
  double tokens_ = 0;  // bytes that may start now (bytes_per_second > 0)
  Clock::time_point last_refill_;
  RepairStats stats_;
};

}  // namespace dfs
