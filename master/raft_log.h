// The replicated log of a master in a Raft group: the consensus core
// (master/raft) with its RocksDB log store and its snapshots, behind
// ReplicatedLog. No socket, no thread, no clock: the server hands it what
// arrived on the peer socket and ticks and pumps it, and it sends through
// the function it is given. Each pump, for every Ready of the core: the
// state and entries are persisted in one synced batch (and a snapshot
// received is installed as the namespace), then its messages leave, then
// its committed entries go to the service in order, then the reads they
// confirmed are released.
//
// The service is told it leads only once an entry of the leader's own term
// has applied here: before that, its state may lack entries that earlier
// leaders committed, and a leader must not plan (or refuse) from that.
//
// Snapshots. Once enough has applied since the last snapshot, the namespace
// is checkpointed; once more has applied after that, the log is compacted to
// the checkpoint, so a follower a little behind still catches up from
// entries. Raft carries only the checkpoint's manifest: a follower offered
// one fetches its files from the sender (master/snapshot_fetch.h), checks
// them, and only then hands the offer to the core, which installs it.
#pragma once

#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "master/master_service.h"
#include "master/raft/log_store.h"
#include "master/raft/raft.h"
#include "master/replicated_log.h"
#include "master/snapshot_fetch.h"
#include "master/snapshot_store.h"

namespace dfs {

class RaftLog : public ReplicatedLog {
 public:
  using Clock = std::chrono::steady_clock;
  // Sends a message to another master's peer socket; may drop it.
  using Send = std::function<void(raft::NodeId to, Envelope&&)>;

  struct Options {
    raft::Config core;
    // Every member's api endpoint ("tcp://host:port"), for NOT_LEADER hints.
    std::map<raft::NodeId, std::string> apis;
    // A checkpoint is taken once this many entries, or this many bytes of
    // them, have applied since the last one; the log is compacted to it once
    // a quarter as many more have. 0 entries: never.
    uint64_t snapshot_entries = 10000;
    uint64_t snapshot_bytes = 64u << 20;
    SnapshotFetch::Options fetch;
    // How often a follower asks its leader for a read index, to learn that
    // its state is current (since_current).
    std::chrono::milliseconds currency_probe{1000};
  };

  // Opens the log store in `raft_dir` and starts the core from it. When the
  // log's snapshot is newer than *ns (a crash while installing one, or a
  // namespace that lost unsynced writes behind a compacted log), the snapshot
  // is installed over `meta_dir` and *ns replaced. A namespace with entries
  // applied but no log to match them is refused: its history would be
  // replayed over it.
  static Result<std::unique_ptr<RaftLog>> open(Options options, const std::string& raft_dir,
                                               const std::string& meta_dir,
                                               std::unique_ptr<Namespace>* ns);

  Result<LogPosition> propose(std::string data) override;
  Status read_index(uint64_t context) override;
  uint64_t id() const override { return core_.id(); }
  std::vector<MemberInfo> members(Clock::time_point now) const override;
  Status transfer(uint64_t id) override;
  std::optional<Clock::duration> since_current(Clock::time_point now) const override;

  void tick() { core_.tick(); }
  // A message from the peer socket, sent by the DEALER named `peer`
  // ("m<node id>", which must agree with the message). A bad message is
  // refused with an error and changes nothing.
  Status receive(const std::string& peer, const Envelope& env, Clock::time_point now);
  void pump(MasterService& service, const Send& send, Clock::time_point now);

  const raft::Raft& core() const { return core_; }
  uint64_t applied() const { return applied_; }
  std::string api_of(raft::NodeId id) const;

 private:
  RaftLog(Options options, std::unique_ptr<raft::LogStore> store, raft::Persisted persisted,
          SnapshotStore snapshots);

  void offer(raft::Message&& m, Clock::time_point now);
  void serve_file(const raft::SnapshotFileRequest& req);
  void take_piece(const raft::SnapshotFileReply& reply, Clock::time_point now);
  void advance_fetch(Clock::time_point now);
  void install(MasterService& service, const raft::Snapshot& snapshot);
  void maybe_snapshot(MasterService& service);
  // On the leader: one Raft membership change toward what the namespace's
  // member records want (add as learner, promote once caught up, remove).
  void follow_member_records(const Namespace& names);
  void queue(raft::NodeId to, Envelope&& env);
  // On a leader: when a majority, this master included, last sent word.
  std::optional<Clock::time_point> majority_heard(Clock::time_point now) const;

  Options options_;
  std::unique_ptr<raft::LogStore> store_;
  raft::Raft core_;
  SnapshotStore snapshots_;
  uint64_t applied_ = 0;               // the newest entry handed out (any type)
  uint64_t applied_term_ = 0;          // its term
  std::deque<raft::ReadState> reads_;  // confirmed, waiting for `applied_` to reach them
  bool told_leading_ = false;
  raft::NodeId told_leader_ = 0;
  // Snapshots: a checkpoint taken and not yet compacted to, the bytes of
  // entries applied since the last checkpoint, and a fetch under way.
  std::optional<raft::SnapshotManifest> checkpoint_;
  // A checkpoint taken whose files are being hashed on another thread (a big
  // namespace takes seconds, longer than an election timeout).
  std::future<Result<raft::SnapshotManifest>> describing_;
  uint64_t bytes_since_checkpoint_ = 0;
  uint64_t no_checkpoint_before_ = 0;  // applied index; after a failure, wait for more
  std::optional<SnapshotFetch> fetch_;
  // Peer messages produced outside a pump (file pieces, fetch requests).
  std::vector<std::pair<raft::NodeId, Envelope>> outbox_;
  // Api endpoints of members added at run time (host:port), from the namespace.
  std::map<raft::NodeId, std::string> added_apis_;
  std::map<raft::NodeId, Clock::time_point> last_heard_;
  // When this master's state was last known current (since_current), and
  // the read indexes a follower asked to learn it: context to when asked.
  // Their contexts have kProbe set, which the service's never have.
  static constexpr uint64_t kProbe = 1ull << 63;
  // More than the default limit's 30 s of probes: a follower lagging by less
  // than the limit must keep the probe it will reach.
  static constexpr size_t kMaxProbes = 64;
  void probe_currency(Clock::time_point now);
  std::optional<Clock::time_point> current_at_;
  std::map<uint64_t, Clock::time_point> probes_;
  // Random at start, so that a late answer to a probe of a previous run is
  // not taken for one of this run's.
  uint64_t probe_seq_ = uint64_t{std::random_device{}()} << 20;
  Clock::time_point last_probe_{};
};

}  // namespace dfs
