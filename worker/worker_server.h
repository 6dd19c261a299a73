// The dfs-worker process: a socket thread that owns the data ROUTER, the
// pipeline PULL and the PUSH sockets to peers, the heartbeat PUB and the
// jobs SUB. It runs the pipeline tracker and hands disk work to the DiskPool.
#pragma once

#include <zmq.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <stop_token>
#include <string>
#include <vector>

#include "bus/bulk_sessions.h"
#include "bus/chunk_ticket.h"
#include "bus/endpoints.h"
#include "bus/push_peers.h"
#include "bus/warn_limiter.h"
#include "worker/chunk_store.h"
#include "worker/disk_pool.h"
#include "worker/pipeline_tracker.h"
#include "worker/scrubber.h"

namespace dfs {

struct WorkerConfig {
  std::string id;
  HostPort listen;    // data ROUTER
  HostPort pipeline;  // pipeline PULL (frames and acks from other workers)
  // The bulk channel's ROUTER (secure mode only; port 0: any free port). Its
  // address reaches clients in each BulkSessionReply.
  HostPort bulk;
  std::vector<HostPort> masters;
  std::string dir;
  uint64_t capacity = 0;
  std::chrono::milliseconds heartbeat_interval{1000};
  std::chrono::milliseconds idle_timeout{30000};
  std::chrono::milliseconds hop_timeout{5000};       // silence allowed per downstream worker
  std::chrono::milliseconds report_interval{60000};  // full chunk inventory to the masters
  int disk_threads = 2;
  // How long a sealed chunk may wait for more to commit with it (0: commit
  // as soon as the disk thread's queue is empty).
  std::chrono::milliseconds group_commit_delay{0};
  // Chunks of at most this many bytes are packed into volume files (0: none).
  uint64_t pack_max_bytes = 0;
  int copy_threads = 2;               // repair copies this worker sends at once
  uint64_t scrub_rate = 20ull << 20;  // bytes/s the scrubber re-reads; 0: no scrubbing
  std::chrono::milliseconds scrub_interval{std::chrono::hours(1)};  // pause between passes
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
  WorkerAddr self() const;
  // `copies`: repair copies queued or running, for the load it reports.
  void publish_heartbeat(zmq::socket_t& pub, size_t copies);
  // Reads what is waiting on each socket and feeds it to the tracker or
  // the disk pool.
  void drain_data(zmq::socket_t& data, DiskPool& pool, PipelineActions* out);
  // Opens what waits on the bulk socket and takes it as drain_data does.
  void drain_bulk(zmq::socket_t& bulk, DiskPool& pool, PipelineActions* out);
  // One request from the data socket or the bulk channel (`s`: how its
  // receipt went).
  void take_data_request(Envelope&& env, Status s, DiskPool& pool,
                         std::chrono::steady_clock::time_point now, PipelineActions* out);
  // Seals `frames` ([bulk route][header][body][data]) for their session
  // and sends them on the bulk socket.
  void send_bulk(std::vector<zmq::message_t>&& frames);
  void drain_pipeline(zmq::socket_t& pull, DiskPool& pool, PipelineActions* out);
  // One message from an upstream worker, by the pipeline socket or the bulk
  // channel: authorized for the pipeline domain, then taken.
  void take_pipeline_message(Envelope&& env, std::chrono::steady_clock::time_point now,
                             PipelineActions* out);
  void drain_acks(zmq::socket_t& acks, PipelineActions* out);
  void forward_replies(zmq::socket_t& replies, zmq::socket_t& data);
  // Carries out the tracker's actions, feeding failed sends back to it.
  void carry_out(PipelineActions&& actions, zmq::socket_t& data, DiskPool& pool);
  // Answers on the socket the request came by: the data socket, or the
  // bulk channel for a route made by bulk_route().
  void reply(zmq::socket_t& data, Envelope&& env);
  void warn_bad(const Envelope& env, const char* where, const Status& s);
  // A client's chunk read or write must carry the masters' ticket for it.
  Status check_ticket_of(const Envelope& env);
  // Publishes the chunk inventory every report interval until stopped. Runs
  // on its own thread with its own socket: listing a large store is slow.
  void report_inventory(const std::stop_token& stop);

  zmq::context_t& ctx_;
  std::atomic<bool> stop_{false};
  WorkerConfig config_;
  std::unique_ptr<ChunkStore> store_;
  std::unique_ptr<PipelineTracker> tracker_;
  std::unique_ptr<PushPeers> peers_;
  std::unique_ptr<Scrubber> scrubber_;
  uint64_t heartbeat_seq_ = 0;
  // The masters heartbeats and reports go to: those configured, and those
  // the leader announced since (event.masters). The reporter thread reads it.
  std::mutex masters_mu_;
  std::vector<HostPort> masters_;
  uint64_t dropped_replies_ = 0;
  WarnLimiter bad_input_;   // warnings about bad input: once a minute per sender
  TicketVerifier tickets_;  // the main thread's: every data request passes it
  BulkSessions bulk_sessions_{std::chrono::minutes(10), &process_bulk_gate()};
  zmq::socket_t* data_ = nullptr;  // while run() runs
  zmq::socket_t* bulk_ = nullptr;  // while run() runs, in secure mode
  std::string bulk_endpoint_;      // where clients reach it
};

}  // namespace dfs
