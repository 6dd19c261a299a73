// The master's request handling, between the api socket, the log and the
// state machine. A mutation becomes a command that the leader session plans
// and the log carries; its client is answered when the entry applies, from
// the Outcome every replica computes alike. A read is served from the
// applied state once the log confirms this master still leads (ReadIndex).
// Followers answer NOT_LEADER with the leader's endpoint when they know it.
// No sockets and no thread: master_server.cc pumps it.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bus/wire.h"
#include "master/leader_session.h"
#include "master/namespace.h"
#include "master/pending_requests.h"
#include "master/replicated_log.h"
#include "master/worker_registry.h"

namespace dfs {

class MasterService {
 public:
  using Clock = std::chrono::steady_clock;

  // `log` outlives the service.
  MasterService(MasterOptions options, std::unique_ptr<Namespace> ns, ReplicatedLog* log);

  // An api request (routing id and request id are carried to its reply).
  // The reply comes out of take_replies(): at once for a refusal, once its
  // entry applies or its read is confirmed otherwise.
  void handle(const Envelope& request, Clock::time_point now);
  void on_heartbeat(const Heartbeat& hb, Clock::time_point now);
  void on_chunk_report(const ChunkReport& report, Clock::time_point now);
  // A worker's report on a repair copy it was asked to make.
  void on_copy_done(const ReplicateChunkDone& done, Clock::time_point now);
  // Periodic work: liveness, expiry, delete jobs, requests waiting too long.
  void tick(Clock::time_point now);

  // From the log's driver: entry `index` of `term` committed (every replica,
  // in order); read `context` may be served; this master now leads, or
  // follows the master whose api is `leader_api` ("" when unknown).
  void on_applied(uint64_t index, uint64_t term, std::string_view data);
  void on_read_ready(uint64_t context);
  void on_role(bool leader, const std::string& leader_api, Clock::time_point now);

  // Replies for the api ROUTER since the last call.
  std::vector<Envelope> take_replies() { return std::exchange(replies_, {}); }
  // Messages to publish on the jobs PUB since the last call (topic set).
  std::vector<Envelope> take_outbox();

  const Namespace& names() const { return *ns_; }
  // For the log's driver: the namespace to checkpoint into a snapshot, and
  // its replacement by an installed snapshot (on a follower): the old one is
  // closed before `reopen` runs, since the new one takes its directory.
  Namespace& state() { return *ns_; }
  void restore(const std::function<std::unique_ptr<Namespace>()>& reopen);
  bool is_leader() const { return session_ != nullptr; }
  // Lets the log's driver add what it knows (term, commit index) to status.
  void set_log_status(std::function<void(ClusterStatusReply*)> fn) { log_status_ = std::move(fn); }

 private:
  // What a request needs to be answered or served later.
  struct Held {
    std::string routing_id;
    Header header;
    std::string body;
    Clock::time_point since;
    Caller caller;  // who sent it, from its key
  };
  static Held hold(const Envelope& request, Clock::time_point now);

  void reply(const Held& to, Envelope env);
  void reply_error(const Held& to, const Status& status);
  void reply_not_leader(const Held& to);
  void answer(const Held& to, Outcome out);
  void mutate(const Held& request, Clock::time_point now);
  void propose_own(const Command& cmd);
  void retry_parked(Clock::time_point now);
  void serve_read(const Held& request, Clock::time_point now);
  // Whether this master's state was known current recently enough to serve
  // a stale read of files or keys (--stale-read-limit-ms), and the refusal.
  bool in_touch(Clock::time_point now) const;
  void reply_out_of_touch(const Held& to, Clock::time_point now);
  // A membership add or remove as a command: the leader's RaftLog makes the
  // Raft membership follow what the namespace records.
  Result<Command> plan_member_change(const std::string& body);
  Result<Command> plan_key_change(const std::string& body);
  Result<KeysReply> keys() const;
  // Hands the log's keyring changes to this process's security when they
  // changed, and (leading) publishes them to workers, then and every 30 s.
  void take_in_keys(Clock::time_point now);

  Result<StatReply> stat(const StatRequest& req, const Caller& who);
  Result<ListReply> list(const ListRequest& req, const Caller& who);
  Result<FsckReply> fsck(const FsckRequest& req);
  // A ticket to `op` ("read" or "write") chunk `chunk_id`, for `user`.
  ChunkTicket ticket(const std::string& chunk_id, const std::string& user, const char* op) const;
  ClusterStatusReply cluster_status(Clock::time_point now);

  MasterOptions options_;
  std::unique_ptr<Namespace> ns_;
  ReplicatedLog* log_;
  WorkerRegistry registry_;  // fed by heartbeats on every master; judged by the leader
  std::unique_ptr<LeaderSession> session_;
  std::string leader_api_;
  PendingRequests pending_;
  std::map<uint64_t, Held> reads_;  // by read context
  uint64_t next_read_ = 1;
  // Allocations that found no workers just after this master took over:
  // retried as heartbeats arrive, until the startup grace ends.
  std::deque<Held> parked_;
  std::vector<Envelope> replies_;
  std::function<void(ClusterStatusReply*)> log_status_;
  std::string announced_masters_;  // the member list last published on event.masters
  Clock::time_point next_masters_event_{};
  uint64_t keys_taken_in_ = 0;  // the log keys' version last handed to security
  Clock::time_point next_keys_publish_{};
  Clock::time_point next_keys_resend_{};
  uint64_t key_change_index_ = 0;  // the log index of the key change last proposed
};

}  // namespace dfs
