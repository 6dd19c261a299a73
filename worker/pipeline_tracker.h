// The replication pipeline as one worker sees it: for every chunk being
// written through this worker, where its frames came from (a client on the
// data socket or the previous worker in the chain), where they go next, and
// which frames are not yet acknowledged by this worker's disk and by the
// rest of the chain.
//
// A frame is acknowledged upstream only once this worker and every worker
// after it have it, and the last frame only once every one of them has
// committed the chunk. The client's window of unacknowledged frames is
// therefore a credit that the tail hands back: a slow replica slows the
// writer instead of growing queues. Any failure -- a local error, an error
// from downstream, a silent or unreachable next hop -- fails the chunk once,
// upstream with the name of the worker at fault, downstream with an abort,
// and locally by dropping the temporary.
//
// No sockets, no threads, no clock: the worker's socket thread feeds it
// events and carries out the actions it returns.
#pragma once

#include <zmq.hpp>

#include <chrono>
#include <deque>
#include <list>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "bus/wire.h"

namespace dfs {

// Where a chunk's acknowledgements go.
struct Upstream {
  std::string client;                // the client's routing id on the data socket, or ""
  WorkerAddr worker;                 // otherwise the previous worker in the chain
  std::vector<std::string> earlier;  // and the ids of the workers before it
};

// Who sent a message from a peer: the name its key has in the keyring, or
// nullopt where keys are not checked (--insecure), when anyone may.
using PeerName = std::optional<std::string>;

// A frame of a chunk as it arrives, from a client or from the previous
// worker. `frame.downstream` is the chain after this worker (offset 0 only).
struct IncomingFrame {
  WriteChunkFrame frame;
  zmq::message_t data;
  uint64_t request_id = 0;  // a client's frame is answered under this id
};

struct PeerMessage {
  std::string endpoint;  // a peer's pipeline PULL
  Envelope envelope;
  std::string key;  // the CURVE key that peer presents
};

struct LocalWrite {
  WriteChunkFrame frame;
  zmq::message_t data;
};

// What the socket thread must do after an event, in this order: queue the
// local writes, send to peers, answer clients, drop local temporaries.
struct PipelineActions {
  std::vector<LocalWrite> writes;
  std::vector<PeerMessage> sends;
  std::vector<Envelope> replies;    // to clients on the data socket (routed)
  std::vector<std::string> aborts;  // chunk ids whose local write must go
  bool empty() const {
    return writes.empty() && sends.empty() && replies.empty() && aborts.empty();
  }
};

class PipelineTracker {
 public:
  using Clock = std::chrono::steady_clock;

  struct Options {
    // Silence allowed from the next hop per worker left in the chain, so the
    // worker nearest a stalled replica notices first and names it.
    std::chrono::milliseconds hop_timeout{5000};
    // A write whose upstream sends nothing for this long is dropped.
    std::chrono::milliseconds idle_timeout{30000};
    size_t max_pending = 64;   // unacknowledged frames per chunk
    size_t max_writes = 1024;  // chunk writes open at once
  };

  PipelineTracker(WorkerAddr self, Options options);

  void on_frame(IncomingFrame&& in, const Upstream& from, Clock::time_point now,
                PipelineActions* out);
  // Progress (or failure) of this worker's own disk write.
  void on_local_ack(const ReplicaAck& ack, PipelineActions* out);
  // Progress (or failure) reported by the next worker in the chain. Refused
  // (and the write left as it was) unless `sender` is that worker.
  Status on_remote_ack(const ReplicaAck& ack, const PeerName& sender, Clock::time_point now,
                       PipelineActions* out);
  // Refused unless `sender` is a worker before this one in the chain. An
  // abort for a write not yet open here (it overtook the first frame) is
  // remembered with its sender, and keeps the write from opening only if
  // the first frame puts that sender before this worker in the chain.
  Status on_abort(const ReplicaAbort& abort, const PeerName& sender, PipelineActions* out);
  // A message for `endpoint` (a peer presenting `key`) could not be queued:
  // the writes that depend on that peer, as named with that key, fail. (A
  // writer that named a wrong key for a peer fails only its own writes.)
  void on_peer_unreachable(const std::string& endpoint, const std::string& key,
                           const std::string& why, PipelineActions* out);
  // Fails writes whose next hop went silent and drops idle ones.
  void tick(Clock::time_point now, PipelineActions* out);

  size_t open_writes() const { return writes_.size(); }

 private:
  struct Pending {
    uint64_t end = 0;  // offset just past the frame
    bool last = false;
    uint64_t request_id = 0;
  };
  struct Write {
    Upstream up;
    std::vector<WorkerAddr> downstream;
    uint64_t total_size = 0;
    uint64_t next_offset = 0;
    std::deque<Pending> pending;
    uint64_t local_received = 0;
    bool local_stored = false;
    uint64_t remote_received = 0;
    bool remote_stored = false;
    Clock::time_point last_frame;
    Clock::time_point remote_heard;  // last progress from downstream
  };
  using Writes = std::map<std::string, Write>;

  // Refuses one frame without touching any open write.
  void refuse(const IncomingFrame& in, const Upstream& from, const Status& s,
              const std::string& culprit, PipelineActions* out);
  // Sends upstream every acknowledgement that is now complete.
  void flush(Writes::iterator it, PipelineActions* out);
  // Fails the write once, everywhere: upstream hears `s` and `culprit`.
  void fail(Writes::iterator it, const Status& s, const std::string& culprit, PipelineActions* out);
  // Drops the write here and downstream without telling upstream.
  void drop(Writes::iterator it, const std::string& reason, PipelineActions* out);
  // `aborter`: the worker whose abort came before the write opened, to be
  // checked against the chain once its first frame names it.
  void remember_failure(const std::string& chunk_id, const Status& s, const std::string& culprit,
                        const PeerName& aborter = std::nullopt);
  bool waiting_on_downstream(const Write& w) const;

  WorkerAddr self_;
  Options options_;
  Writes writes_;
  // Recently failed or aborted chunks, so that frames still in flight get
  // the original error and a late first frame does not reopen the write.
  struct Failure {
    Status status;
    std::string culprit;
    PeerName aborter;
  };
  std::unordered_map<std::string, Failure> failed_;
  std::list<std::string> failed_order_;  // oldest first, bounded
};

}  // namespace dfs
