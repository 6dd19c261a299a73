#include "worker/chunk_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace dfs {

ChunkService::ChunkService(std::string worker_id, ChunkStore* store,
                           std::chrono::milliseconds idle_timeout)
    : worker_id_(std::move(worker_id)), store_(store), idle_timeout_(idle_timeout) {}

Envelope ChunkService::handle(Envelope&& request, Clock::time_point now) {
  switch (request.header.type) {
    case MsgType::kReadChunkRequest: {
      auto req = decode<ReadChunkRequest>(request.body);
      if (!req.is_ok()) return make_error_reply(request, req.status());
      return read(req.value(), request, now);
    }
    default:
      return make_error_reply(request,
                              protocol_error("a worker's data socket does not take " +
                                             std::string(msg_type_name(request.header.type))));
  }
}

namespace {
ReplicaAck failed_ack(const std::string& chunk_id, const std::string& worker, const Status& s) {
  return ReplicaAck{chunk_id,
                    worker,
                    0,
                    false,
                    static_cast<uint16_t>(s.code()),
                    "worker " + worker + ": " + s.message()};
}
}  // namespace

std::optional<ReplicaAck> ChunkService::write(const WriteChunkFrame& frame,
                                              const zmq::message_t& data, Clock::time_point now) {
  auto done = write_frame(frame, data, now);
  if (!done.is_ok()) return failed_ack(frame.chunk_id, worker_id_, done.status());
  if (frame.last) return std::nullopt;  // sealed: answered by commit_sealed()
  return ReplicaAck{frame.chunk_id, worker_id_, done->received, false, 0, ""};
}

std::vector<ReplicaAck> ChunkService::commit_sealed() {
  std::vector<ChunkWriter*> writers;
  for (const auto& w : sealed_) writers.push_back(w.get());
  const std::vector<Status> done = store_->publish(writers);
  std::vector<ReplicaAck> acks;
  for (size_t i = 0; i < sealed_.size(); ++i) {
    const ChunkWriter& w = *sealed_[i];
    if (done[i].is_ok()) {
      spdlog::debug("stored chunk {} ({} bytes)", w.id(), w.total_size());
      acks.push_back(ReplicaAck{w.id(), worker_id_, w.total_size(), true, 0, ""});
    } else {
      acks.push_back(failed_ack(w.id(), worker_id_, done[i]));
    }
  }
  sealed_.clear();
  return acks;
}

void ChunkService::abort(const std::string& chunk_id) {
  size_t dropped = writes_.erase(chunk_id);
  dropped += std::erase_if(sealed_, [&](const auto& w) { return w->id() == chunk_id; });
  if (dropped > 0) spdlog::debug("dropped the write of chunk {}", chunk_id);
}

Result<WriteChunkAck> ChunkService::write_frame(const WriteChunkFrame& frame,
                                                const zmq::message_t& data, Clock::time_point now) {
  if (data.size() == 0) return protocol_error("a chunk frame carries no data");
  auto it = writes_.find(frame.chunk_id);
  if (frame.offset == 0) {
    if (it != writes_.end()) {
      return Status(Code::kAlreadyExists, "chunk " + frame.chunk_id + " is already being written");
    }
    auto writer = store_->create(frame.chunk_id, frame.total_size);
    if (!writer.is_ok()) return writer.status();
    it = writes_.emplace(frame.chunk_id, OpenWrite{std::move(writer).value(), now}).first;
  } else if (it == writes_.end()) {
    return not_found("no write of chunk " + frame.chunk_id +
                     " is open here (it failed or timed out earlier)");
  }
  ChunkWriter& w = *it->second.writer;
  it->second.last_frame = now;
  auto fail = [&](Status s) {
    writes_.erase(it);  // the writer's destructor removes the temporary
    return s;
  };
  if (frame.total_size != w.total_size())
    return fail(invalid_argument("chunk size changed mid-write"));
  if (frame.offset != w.written()) {
    return fail(invalid_argument("chunk " + frame.chunk_id + ": frame at offset " +
                                 std::to_string(frame.offset) + ", expected " +
                                 std::to_string(w.written())));
  }
  Status s = w.append(data.data(), data.size(), frame.block_crcs);
  if (!s.is_ok()) return fail(s);
  WriteChunkAck ack;
  ack.chunk_id = frame.chunk_id;
  ack.received = w.written();
  if (frame.last) {
    s = w.seal(frame.sha256);
    if (!s.is_ok()) return fail(s);
    sealed_.push_back(std::move(it->second.writer));
    writes_.erase(it);
  } else if (w.written() == w.total_size()) {
    return fail(invalid_argument("chunk " + frame.chunk_id + ": all bytes sent but no last frame"));
  }
  return ack;
}

namespace {
constexpr size_t kMaxOpenReads = 16;
constexpr auto kReaderIdle = std::chrono::seconds(5);
}  // namespace

Result<ChunkReader*> ChunkService::reader(const std::string& chunk_id, Clock::time_point now) {
  auto it = reads_.find(chunk_id);
  if (it == reads_.end()) {
    if (reads_.size() >= kMaxOpenReads) {
      auto oldest = std::min_element(
          reads_.begin(), reads_.end(),
          [](const auto& a, const auto& b) { return a.second.last_used < b.second.last_used; });
      reads_.erase(oldest);
    }
    auto opened = store_->open_reader(chunk_id);
    if (!opened.is_ok()) return opened.status();
    it = reads_.emplace(chunk_id, OpenRead{std::move(opened).value(), now}).first;
  }
  it->second.last_used = now;
  return it->second.reader.get();
}

Envelope ChunkService::read(const ReadChunkRequest& req, const Envelope& request,
                            Clock::time_point now) {
  auto r = reader(req.chunk_id, now);
  if (!r.is_ok()) return make_error_reply(request, r.status());
  zmq::message_t data(req.length);
  auto n = r.value()->read(req.offset, req.length, static_cast<char*>(data.data()));
  if (!n.is_ok()) {
    reads_.erase(req.chunk_id);
    return make_error_reply(request, n.status());
  }
  ReadChunkReply reply{req.chunk_id, req.offset, r.value()->header().size,
                       r.value()->header().block_size,
                       r.value()->block_crcs(req.offset, n.value())};
  Envelope env = make_envelope(reply, request.header.request_id);
  env.routing_id = request.routing_id;
  if (n.value() < req.length) {
    zmq::message_t exact(data.data(), n.value());
    env.data.push_back(std::move(exact));
  } else {
    env.data.push_back(std::move(data));
  }
  return env;
}

size_t ChunkService::expire_idle(Clock::time_point now) {
  // Closed readers release the space of chunks deleted while they were open.
  std::erase_if(reads_, [&](const auto& r) { return now - r.second.last_used > kReaderIdle; });
  size_t n = 0;
  for (auto it = writes_.begin(); it != writes_.end();) {
    if (now - it->second.last_frame > idle_timeout_) {
      spdlog::warn("abandoning write of chunk {}: no frame for {} ms", it->first,
                   idle_timeout_.count());
      it = writes_.erase(it);
      ++n;
    } else {
      ++it;
    }
  }
  return n;
}

void ChunkService::abort_all() {
  if (!writes_.empty()) spdlog::info("aborting {} unfinished chunk writes", writes_.size());
  writes_.clear();
  sealed_.clear();
}

}  // namespace dfs
