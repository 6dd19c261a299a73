#include "worker/pipeline_tracker.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

namespace dfs {

namespace {

constexpr size_t kRememberedFailures = 4096;

std::string ms(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

Envelope client_error(const std::string& client, uint64_t request_id, const Status& s,
                      const std::string& culprit) {
  ErrorReply err{static_cast<uint16_t>(s.code()), s.message(), "", culprit};
  Envelope env = make_envelope(err, request_id);
  env.routing_id = client;
  return env;
}

// The chain after this worker must be distinct workers, none of them this one.
Status check_chain(const std::vector<WorkerAddr>& downstream, const std::string& self) {
  std::set<std::string> seen{self};
  for (const auto& w : downstream) {
    if (!seen.insert(w.id).second) {
      return invalid_argument("pipeline names worker " + w.id + " twice");
    }
  }
  return Status::ok();
}

// Whether worker `name` is before this one in the chain a write came down.
bool is_before(const Upstream& up, const std::string& name) {
  return up.client.empty() &&
         (name == up.worker.id ||
          std::find(up.earlier.begin(), up.earlier.end(), name) != up.earlier.end());
}

}  // namespace

PipelineTracker::PipelineTracker(WorkerAddr self, Options options)
    : self_(std::move(self)), options_(options) {}

void PipelineTracker::refuse(const IncomingFrame& in, const Upstream& from, const Status& s,
                             const std::string& culprit, PipelineActions* out) {
  if (!from.client.empty()) {
    out->replies.push_back(client_error(from.client, in.request_id, s, culprit));
    return;
  }
  ReplicaAck nack{in.frame.chunk_id, culprit, 0, false, static_cast<uint16_t>(s.code()),
                  s.message()};
  out->sends.push_back({from.worker.pipeline, make_envelope(nack), from.worker.key});
}

void PipelineTracker::on_frame(IncomingFrame&& in, const Upstream& from, Clock::time_point now,
                               PipelineActions* out) {
  const WriteChunkFrame& f = in.frame;
  auto it = writes_.find(f.chunk_id);
  if (it == writes_.end()) {
    if (auto failed = failed_.find(f.chunk_id); failed != failed_.end()) {
      const PeerName& aborter = failed->second.aborter;
      if (!aborter || is_before(from, *aborter))
        return refuse(in, from, failed->second.status, failed->second.culprit, out);
      failed_.erase(failed);  // an abort from outside the chain: the write goes on
    }
    if (f.offset != 0) {
      return refuse(in, from,
                    not_found("no write of chunk " + f.chunk_id + " is open on worker " + self_.id +
                              " (it failed or timed out earlier)"),
                    self_.id, out);
    }
    if (writes_.size() >= options_.max_writes) {
      return refuse(in, from,
                    Status(Code::kUnavailable, "worker " + self_.id + " has too many open writes"),
                    self_.id, out);
    }
    Status chain = check_chain(f.downstream, self_.id);
    if (!chain.is_ok()) return refuse(in, from, chain, self_.id, out);
    Write w;
    w.up = from;
    w.downstream = f.downstream;
    w.total_size = f.total_size;
    w.remote_heard = now;
    it = writes_.emplace(f.chunk_id, std::move(w)).first;
  } else if (f.offset == 0) {
    return refuse(in, from,
                  Status(Code::kAlreadyExists, "chunk " + f.chunk_id + " is already being written"),
                  self_.id, out);
  } else if (it->second.up.client != from.client || it->second.up.worker.id != from.worker.id) {
    return refuse(in, from,
                  invalid_argument("chunk " + f.chunk_id + " is being written by someone else"),
                  self_.id, out);
  }
  Write& w = it->second;
  w.last_frame = now;
  // The same rules the disk applies, checked here too so nothing malformed
  // is forwarded down the chain.
  uint64_t end = f.offset + in.data.size();
  if (in.data.size() == 0) {
    return fail(it, protocol_error("a frame of chunk " + f.chunk_id + " carries no data"), self_.id,
                out);
  }
  if (f.offset != w.next_offset || f.total_size != w.total_size || end > w.total_size ||
      f.last != (end == w.total_size)) {
    return fail(
        it,
        invalid_argument("chunk " + f.chunk_id + ": frame at offset " + std::to_string(f.offset) +
                         " does not continue the write at " + std::to_string(w.next_offset) +
                         " of " + std::to_string(w.total_size)),
        self_.id, out);
  }
  if (w.pending.size() >= options_.max_pending) {
    return fail(it,
                Status(Code::kUnavailable, "chunk " + f.chunk_id + ": more than " +
                                               std::to_string(options_.max_pending) +
                                               " frames unacknowledged"),
                self_.id, out);
  }
  if (!waiting_on_downstream(w)) w.remote_heard = now;  // the silence clock starts now
  w.pending.push_back({end, f.last, in.request_id});
  w.next_offset = end;
  if (!w.downstream.empty()) {
    ReplicaFrame fwd{f, self_, {}};
    fwd.frame.downstream.clear();
    if (f.offset == 0) {
      fwd.frame.downstream.assign(w.downstream.begin() + 1, w.downstream.end());
      fwd.earlier = w.up.earlier;
      if (w.up.client.empty()) fwd.earlier.push_back(w.up.worker.id);
    }
    Envelope env = make_envelope(fwd);
    zmq::message_t shared;
    shared.copy(in.data);  // shares the buffer with the local write: no copy of the bytes
    env.data.push_back(std::move(shared));
    out->sends.push_back({w.downstream.front().pipeline, std::move(env), w.downstream.front().key});
  }
  out->writes.push_back({f, std::move(in.data)});
}

bool PipelineTracker::waiting_on_downstream(const Write& w) const {
  if (w.downstream.empty() || w.pending.empty()) return false;
  const Pending& back = w.pending.back();
  return w.remote_received < back.end || (back.last && !w.remote_stored);
}

void PipelineTracker::on_local_ack(const ReplicaAck& ack, PipelineActions* out) {
  auto it = writes_.find(ack.chunk_id);
  if (it == writes_.end()) return;  // failed or aborted meanwhile
  if (ack.failed()) {
    return fail(it, Status(static_cast<Code>(ack.code), ack.message), self_.id, out);
  }
  it->second.local_received = std::max(it->second.local_received, ack.received);
  it->second.local_stored = it->second.local_stored || ack.stored;
  flush(it, out);
}

Status PipelineTracker::on_remote_ack(const ReplicaAck& ack, const PeerName& sender,
                                      Clock::time_point now, PipelineActions* out) {
  auto it = writes_.find(ack.chunk_id);
  if (it == writes_.end()) return Status::ok();  // a late answer about a write already settled
  Write& w = it->second;
  // Only the next hop answers; a failure it reports may name a worker after it.
  if (w.downstream.empty() || (sender && *sender != w.downstream.front().id)) {
    return Status(Code::kPermissionDenied, "an acknowledgement of chunk " + ack.chunk_id +
                                               " from " + sender.value_or("a worker") +
                                               ", which is not the next in its chain");
  }
  bool from_chain = std::any_of(w.downstream.begin(), w.downstream.end(),
                                [&](const WorkerAddr& d) { return d.id == ack.worker_id; });
  if (!from_chain) {
    return Status(Code::kPermissionDenied, "an acknowledgement of chunk " + ack.chunk_id +
                                               " naming " + ack.worker_id +
                                               ", which is not downstream");
  }
  if (ack.failed()) {
    fail(it, Status(static_cast<Code>(ack.code), ack.message), ack.worker_id, out);
    return Status::ok();
  }
  w.remote_received = std::max(w.remote_received, ack.received);
  w.remote_stored = w.remote_stored || ack.stored;
  w.remote_heard = now;
  flush(it, out);
  return Status::ok();
}

void PipelineTracker::flush(Writes::iterator it, PipelineActions* out) {
  Write& w = it->second;
  bool chain = !w.downstream.empty();
  while (!w.pending.empty()) {
    const Pending& p = w.pending.front();
    bool done = w.local_received >= p.end && (!chain || w.remote_received >= p.end);
    if (p.last) done = done && w.local_stored && (!chain || w.remote_stored);
    if (!done) return;
    if (!w.up.client.empty()) {
      Envelope env = make_envelope(WriteChunkAck{it->first, p.end, p.last}, p.request_id);
      env.routing_id = w.up.client;
      out->replies.push_back(std::move(env));
    } else {
      ReplicaAck ack{it->first, self_.id, p.end, p.last, 0, ""};
      out->sends.push_back({w.up.worker.pipeline, make_envelope(ack), w.up.worker.key});
    }
    bool finished = p.last;
    w.pending.pop_front();
    if (finished) {
      writes_.erase(it);
      return;
    }
  }
}

void PipelineTracker::fail(Writes::iterator it, const Status& s, const std::string& culprit,
                           PipelineActions* out) {
  Write& w = it->second;
  spdlog::warn("write of chunk {} failed at {}: {}", it->first, culprit, s.to_string());
  if (!w.up.client.empty()) {
    // The oldest unanswered frame carries the error; with none unanswered,
    // the client's next frame gets it from failed_.
    if (!w.pending.empty()) {
      out->replies.push_back(client_error(w.up.client, w.pending.front().request_id, s, culprit));
    }
  } else {
    ReplicaAck nack{it->first, culprit, 0, false, static_cast<uint16_t>(s.code()), s.message()};
    out->sends.push_back({w.up.worker.pipeline, make_envelope(nack), w.up.worker.key});
  }
  remember_failure(it->first, s, culprit);
  drop(it, s.message(), out);
}

void PipelineTracker::drop(Writes::iterator it, const std::string& reason, PipelineActions* out) {
  // Every worker after this one hears directly, in case the next hop is the
  // one that is gone.
  for (const auto& d : it->second.downstream) {
    out->sends.push_back({d.pipeline, make_envelope(ReplicaAbort{it->first, reason}), d.key});
  }
  out->aborts.push_back(it->first);
  writes_.erase(it);
}

void PipelineTracker::remember_failure(const std::string& chunk_id, const Status& s,
                                       const std::string& culprit, const PeerName& aborter) {
  if (failed_.count(chunk_id)) return;
  failed_[chunk_id] = Failure{s, culprit, aborter};
  failed_order_.push_back(chunk_id);
  if (failed_order_.size() > kRememberedFailures) {
    failed_.erase(failed_order_.front());
    failed_order_.pop_front();
  }
}

Status PipelineTracker::on_abort(const ReplicaAbort& abort, const PeerName& sender,
                                 PipelineActions* out) {
  auto it = writes_.find(abort.chunk_id);
  if (it != writes_.end() && sender) {
    if (!is_before(it->second.up, *sender)) {
      return Status(Code::kPermissionDenied, "an abort of chunk " + abort.chunk_id + " from " +
                                                 *sender + ", which is not before " + self_.id +
                                                 " in its chain");
    }
  }
  Status s(Code::kCancelled,
           "the write of chunk " + abort.chunk_id + " was aborted upstream: " + abort.reason);
  if (it == writes_.end()) {
    remember_failure(abort.chunk_id, s, self_.id, sender);
    return Status::ok();
  }
  remember_failure(abort.chunk_id, s, self_.id);
  drop(it, abort.reason, out);
  return Status::ok();
}

void PipelineTracker::on_peer_unreachable(const std::string& endpoint, const std::string& key,
                                          const std::string& why, PipelineActions* out) {
  for (auto it = writes_.begin(); it != writes_.end();) {
    auto next = std::next(it);
    const Write& w = it->second;
    if (!w.downstream.empty() && w.downstream.front().pipeline == endpoint &&
        w.downstream.front().key == key) {
      std::string culprit = w.downstream.front().id;
      fail(it, Status(Code::kUnavailable, "cannot send to worker " + culprit + ": " + why), culprit,
           out);
    } else if (w.up.client.empty() && w.up.worker.pipeline == endpoint && w.up.worker.key == key) {
      remember_failure(it->first, Status(Code::kCancelled, "upstream unreachable"), self_.id);
      std::string reason = "upstream worker " + w.up.worker.id;
      reason += " unreachable";
      drop(it, reason, out);
    }
    it = next;
  }
}

void PipelineTracker::tick(Clock::time_point now, PipelineActions* out) {
  for (auto it = writes_.begin(); it != writes_.end();) {
    auto next = std::next(it);
    const Write& w = it->second;
    auto limit = options_.hop_timeout * static_cast<int64_t>(w.downstream.size());
    if (waiting_on_downstream(w) && now - w.remote_heard > limit) {
      const std::string& culprit = w.downstream.front().id;
      fail(it,
           Status(Code::kTimeout, "worker " + culprit + " acknowledged nothing for " + ms(limit)),
           culprit, out);
    } else if (w.pending.empty() && now - w.last_frame > options_.idle_timeout) {
      fail(it,
           Status(Code::kTimeout, "no frame of chunk " + it->first + " for " +
                                      ms(options_.idle_timeout) + "; write abandoned"),
           self_.id, out);
    }
    it = next;
  }
}

}  // namespace dfs
