// The replicated log of a master in a Raft group: the consensus core
// (master/raft) with its RocksDB log store, behind ReplicatedLog. No socket,
// no thread, no clock: the server feeds it the peers' messages and ticks and
// pumps it, and it sends through the function it is given. Each pump, for
// every Ready of the core: the state and entries are persisted in one synced
// batch, then its messages leave, then its committed entries go to the
// service in order, then the reads they confirmed are released.
//
// The service is told it leads only once an entry of the leader's own term
// has applied here: before that, its state may lack entries that earlier
// leaders committed, and a leader must not plan (or refuse) from that.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "master/master_service.h"
#include "master/raft/log_store.h"
#include "master/raft/raft.h"
#include "master/replicated_log.h"

namespace dfs {

class RaftLog : public ReplicatedLog {
 public:
  using Clock = std::chrono::steady_clock;
  using Send = std::function<void(raft::Message&&)>;

  struct Options {
    raft::Config core;
    // Every member's api endpoint ("tcp://host:port"), for NOT_LEADER hints.
    std::map<raft::NodeId, std::string> apis;
  };

  // Opens the log store in `dir` and starts the core from it. A namespace
  // with entries applied but no log to match them is refused: its history
  // would be replayed over it.
  static Result<std::unique_ptr<RaftLog>> open(Options options, const std::string& dir,
                                               uint64_t applied_index);

  Result<LogPosition> propose(std::string data) override;
  Status read_index(uint64_t context) override;

  void tick() { core_.tick(); }
  void step(const raft::Message& m) { core_.step(m); }
  void pump(MasterService& service, const Send& send, Clock::time_point now);

  const raft::Raft& core() const { return core_; }
  uint64_t applied() const { return applied_; }
  std::string api_of(raft::NodeId id) const;

 private:
  RaftLog(Options options, std::unique_ptr<raft::LogStore> store, raft::Persisted persisted);

  Options options_;
  std::unique_ptr<raft::LogStore> store_;
  raft::Raft core_;
  uint64_t applied_ = 0;               // the newest entry handed out (any type)
  uint64_t applied_term_ = 0;          // its term
  std::deque<raft::ReadState> reads_;  // confirmed, waiting for `applied_` to reach them
  bool told_leading_ = false;
  raft::NodeId told_leader_ = 0;
};

}  // namespace dfs
