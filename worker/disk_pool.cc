#include "worker/disk_pool.h"

#include <spdlog/spdlog.h>

#include <functional>

#include "bus/socket.h"
#include "worker/chunk_service.h"

namespace dfs {

DiskPool::DiskPool(zmq::context_t& ctx, ChunkStore* store, Options options,
                   std::string reply_endpoint)
    : ctx_(ctx), store_(store), options_(options), reply_endpoint_(std::move(reply_endpoint)) {
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
  return lane.queue.try_push(Task{std::move(request), {}});
}

bool DiskPool::submit_delete(std::vector<std::string> chunk_ids) {
  size_t i = next_delete_lane_++ % lanes_.size();
  return lanes_[i]->queue.try_push(Task{{}, std::move(chunk_ids)});
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
  ChunkService service(store_, options_.idle_timeout);
  auto next_sweep = ChunkService::Clock::now() + std::chrono::seconds(1);
  while (true) {
    auto task = lane->queue.pop(std::chrono::milliseconds(200));
    auto now = ChunkService::Clock::now();
    if (now >= next_sweep) {
      service.expire_idle(now);
      next_sweep = now + std::chrono::seconds(1);
    }
    if (!task) {
      if (lane->queue.closed()) break;
      continue;
    }
    if (!task->delete_ids.empty()) {
      for (const auto& id : task->delete_ids) {
        Status s = store_->remove(id);
        if (!s.is_ok()) spdlog::warn("cannot remove chunk {}: {}", id, s.to_string());
      }
      continue;
    }
    Envelope reply = service.handle(std::move(task->request), now);
    // Blocking send: the socket thread always drains replies, so this waits
    // only for the inproc pipe, never for a network peer.
    Status sent = send_envelope(replies, Framing::kRouted, std::move(reply), /*dontwait=*/false);
    if (!sent.is_ok())
      spdlog::error("cannot hand a reply to the socket thread: {}", sent.to_string());
  }
  service.abort_all();
}

}  // namespace dfs
