#include "worker/disk_pool.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>

#include "bus/socket.h"
#include "worker/chunk_service.h"

namespace dfs {

DiskPool::DiskPool(zmq::context_t& ctx, std::string worker_id, ChunkStore* store, Options options,
                   std::string reply_endpoint, std::string ack_endpoint)
    : ctx_(ctx),
      worker_id_(std::move(worker_id)),
      store_(store),
      options_(options),
      reply_endpoint_(std::move(reply_endpoint)),
      ack_endpoint_(std::move(ack_endpoint)) {
  for (int i = 0; i < options_.threads; ++i) {
    lanes_.push_back(std::make_unique<Lane>(options_.queue_depth));
  }
  for (auto& lane : lanes_) lane->thread = std::thread([this, l = lane.get()] { run_lane(l); });
}

DiskPool::~DiskPool() { stop(); }

bool DiskPool::has_room() const {
  for (const auto& lane : lanes_) {
    if (lane->queue.full()) return false;
  }
  return true;
}

bool DiskPool::submit_request(Envelope& request) {
  Lane& lane = *lanes_[std::hash<std::string>{}(request.routing_id) % lanes_.size()];
  // Only the socket thread pushes, so a queue with room now still has room below.
  if (lane.queue.full()) return false;
  Task task;
  task.kind = Task::Kind::kRequest;
  task.request = std::move(request);
  return lane.queue.try_push(std::move(task));
}

DiskPool::Lane& DiskPool::lane_of_chunk(const std::string& chunk_id) {
  return *lanes_[std::hash<std::string>{}(chunk_id) % lanes_.size()];
}

bool DiskPool::submit_write(LocalWrite&& write) {
  Task task;
  task.kind = Task::Kind::kWrite;
  task.write = std::move(write);
  return lane_of_chunk(task.write.frame.chunk_id).queue.try_push(std::move(task));
}

void DiskPool::submit_abort(const std::string& chunk_id) {
  Task task;
  task.kind = Task::Kind::kAbort;
  task.chunk_id = chunk_id;
  lane_of_chunk(chunk_id).queue.push_over_bound(std::move(task));
}

bool DiskPool::submit_delete(std::vector<std::string> chunk_ids) {
  size_t i = next_delete_lane_++ % lanes_.size();
  Task task;
  task.kind = Task::Kind::kDelete;
  task.delete_ids = std::move(chunk_ids);
  return lanes_[i]->queue.try_push(std::move(task));
}

void DiskPool::stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& lane : lanes_) lane->queue.close();
  for (auto& lane : lanes_) {
    if (lane->thread.joinable()) lane->thread.join();
  }
}

void DiskPool::run_lane(Lane* lane) {
  SocketOptions opts;
  opts.send_hwm = 0;  // bounded by the lane's queue: every task yields one reply
  zmq::socket_t replies = make_socket(ctx_, zmq::socket_type::push, opts);
  replies.connect(reply_endpoint_);
  zmq::socket_t acks = make_socket(ctx_, zmq::socket_type::push, opts);
  acks.connect(ack_endpoint_);
  ChunkService service(worker_id_, store_, options_.idle_timeout);
  // Blocking sends: the socket thread always drains both sockets, so these
  // wait only for the inproc pipe, never for a network peer.
  auto hand_back = [](zmq::socket_t& socket, Framing framing, Envelope&& env) {
    Status sent = send_envelope(socket, framing, std::move(env), /*dontwait=*/false);
    if (!sent.is_ok()) {
      spdlog::error("cannot hand a result to the socket thread: {}", sent.to_string());
    }
  };
  // Group commit: sealed chunks wait while more work is queued, and for the
  // group delay if one is set, and are made durable together (two syncs for
  // any number) once the queue is empty and the delay is over, or kMaxGroup
  // have gathered, or the first has waited kMaxHold behind a busy queue
  // (a large chunk's frames streaming in must not hold a small one back).
  constexpr size_t kMaxGroup = 32;
  const auto max_hold = std::max(options_.group_delay, std::chrono::milliseconds(2));
  ChunkService::Clock::time_point group_due{};    // the group delay's end
  ChunkService::Clock::time_point group_limit{};  // when the group commits, queue or not
  auto commit_sealed = [&] {
    for (auto& ack : service.commit_sealed()) hand_back(acks, Framing::kPlain, make_envelope(ack));
  };
  auto next_sweep = ChunkService::Clock::now() + std::chrono::seconds(1);
  while (true) {
    auto wait = std::chrono::milliseconds(200);
    if (service.sealed() > 0) {
      wait = std::max(std::chrono::milliseconds(0), std::chrono::ceil<std::chrono::milliseconds>(
                                                        group_due - ChunkService::Clock::now()));
    }
    auto task = lane->queue.pop(wait);
    if (!task && service.sealed() > 0) {
      commit_sealed();
      continue;
    }
    auto now = ChunkService::Clock::now();
    if (now >= next_sweep) {
      service.expire_idle(now);
      next_sweep = now + std::chrono::seconds(1);
    }
    if (!task) {
      if (lane->queue.closed()) break;
      continue;
    }
    switch (task->kind) {
      case Task::Kind::kRequest:
        hand_back(replies, Framing::kRouted, service.handle(std::move(task->request), now));
        break;
      case Task::Kind::kWrite: {
        const size_t before = service.sealed();
        if (auto ack = service.write(task->write.frame, task->write.data, now)) {
          hand_back(acks, Framing::kPlain, make_envelope(*ack));
        }
        if (before == 0 && service.sealed() > 0) {
          group_due = now + options_.group_delay;
          group_limit = now + max_hold;
        }
        break;
      }
      case Task::Kind::kAbort:
        service.abort(task->chunk_id);
        break;
      case Task::Kind::kDelete:
        for (const auto& id : task->delete_ids) {
          Status s = store_->remove(id);
          if (!s.is_ok()) spdlog::warn("cannot remove chunk {}: {}", id, s.to_string());
        }
        break;
    }
    if (service.sealed() >= kMaxGroup ||
        (service.sealed() > 0 && ChunkService::Clock::now() >= group_limit)) {
      commit_sealed();
    }
  }
  service.abort_all();
}

}  // namespace dfs
