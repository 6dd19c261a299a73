// The master's logic: answers api requests, takes heartbeats, and decides
// what to publish (delete jobs, cluster events). Every namespace change goes
// through propose(), the one place where the Raft log will slot in. No
// sockets here: master_server.cc pumps it.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bus/wire.h"
#include "master/namespace.h"
#include "master/uploads.h"
#include "master/worker_registry.h"

namespace dfs {

struct MasterOptions {
  std::string id = "m1";
  uint64_t default_chunk_size = 64ull << 20;
  uint32_t default_replication = 3;
  WorkerRegistry::Options registry;
  std::chrono::milliseconds upload_ttl{std::chrono::hours(1)};
  std::chrono::milliseconds gc_interval{2000};
  size_t max_uploads = 10000;  // uploads in progress at once; more are refused
  uint64_t seed = 0;           // for ids; 0 picks a random seed
};

class MasterService {
 public:
  using Clock = std::chrono::steady_clock;

  MasterService(MasterOptions options, std::unique_ptr<Namespace> ns);

  // Answers one api request (routing id and request id carried over).
  Envelope handle(const Envelope& request, Clock::time_point now);
  void on_heartbeat(const Heartbeat& hb, Clock::time_point now);
  // Marks chunks the worker holds that no file references and no upload in
  // progress was allocated as garbage, so they are deleted.
  void on_chunk_report(const ChunkReport& report);
  // Periodic work: liveness, expired uploads, delete jobs.
  void tick(Clock::time_point now);
  // Messages to publish on the jobs PUB since the last call (topic set).
  std::vector<Envelope> take_outbox();

  const Namespace& names() const { return *ns_; }

 private:
  template <typename Cmd>
  Status propose(const Cmd& cmd) {
    return ns_->apply(ns_->applied_index() + 1, Cmd::kType, encode(cmd));
  }
  void publish_event(const std::string& kind, const std::string& subject,
                     const std::string& detail);
  void discard_upload(const Upload& upload, const std::vector<ChunkInfo>& keep);

  Result<Envelope> dispatch(const Envelope& request, Clock::time_point now);
  Result<StatReply> stat(const StatRequest& req);
  Result<CreateUploadReply> create_upload(const CreateUploadRequest& req, Clock::time_point now);
  Result<AllocateChunkReply> allocate(const AllocateChunkRequest& req, Clock::time_point now);
  Status commit(const CommitUploadRequest& req, Clock::time_point now);
  Status report_bad_replica(const ReportBadReplicaRequest& req);
  Result<FsckReply> fsck(const FsckRequest& req);
  ClusterStatusReply cluster_status(Clock::time_point now);

  MasterOptions options_;
  std::unique_ptr<Namespace> ns_;
  WorkerRegistry registry_;
  Uploads uploads_;
  std::map<std::string, WorkerAddr> registered_;  // worker id -> address in the namespace
  std::vector<Envelope> outbox_;
  uint64_t event_seq_ = 0;
  Clock::time_point next_gc_{};
};

int64_t wall_clock_ms();

}  // namespace dfs
