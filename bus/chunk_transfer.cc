#include "bus/chunk_transfer.h"

#include "codec/sha256.h"

namespace dfs {

Result<std::string> write_chunk(RpcClient& worker, const std::string& chunk_id, uint64_t size,
                                const std::vector<WorkerAddr>& downstream,
                                const ChunkSource& source, const TransferOptions& options,
                                const std::function<void(uint64_t)>& progress,
                                std::string* culprit) {
  culprit->clear();
  Sha256 hash;
  std::string digest;
  uint64_t sent = 0;
  uint64_t acked = 0;
  size_t in_flight = 0;
  while (true) {
    while (in_flight < options.window && sent < size) {
      size_t len = static_cast<size_t>(std::min<uint64_t>(options.frame_size, size - sent));
      zmq::message_t data(len);
      DFS_RETURN_IF_ERROR(source(sent, static_cast<char*>(data.data()), len));
      hash.update(data.data(), len);
      WriteChunkFrame frame;
      frame.chunk_id = chunk_id;
      frame.offset = sent;
      frame.total_size = size;
      frame.last = sent + len == size;
      frame.ticket = options.ticket;
      if (frame.last) {
        digest = hash.finish_hex();
        if (!options.expect_sha256.empty() && digest != options.expect_sha256) {
          worker.reset();  // the worker drops the unfinished write when it goes idle
          return Status(Code::kChecksumMismatch,
                        "the source's copy of chunk " + chunk_id + " does not match its SHA-256");
        }
        frame.sha256 = digest;
      }
      if (sent == 0) frame.downstream = downstream;
      Envelope env = make_envelope(frame);
      env.data.push_back(std::move(data));
      auto id = worker.send(std::move(env));
      if (!id.is_ok()) return id.status();
      sent += len;
      ++in_flight;
    }
    if (in_flight == 0) break;
    auto reply = worker.recv(options.timeout);
    if (!reply.is_ok()) {
      worker.reset();
      return Status(reply.status().code(), "writing chunk " + chunk_id + " to " +
                                               worker.endpoint() + ": " + reply.status().message());
    }
    if (reply->header.type == MsgType::kErrorReply) {
      auto err = decode<ErrorReply>(reply->body);
      if (err.is_ok()) *culprit = err->worker;
    }
    auto ack = decode_reply<WriteChunkAck>(reply.value());
    if (!ack.is_ok()) {
      worker.reset();  // drop acks still queued for frames we no longer care about
      return ack.status();
    }
    if (ack->chunk_id != chunk_id) continue;  // a late ack of an earlier transfer
    --in_flight;
    if (progress) progress(ack->received - acked);
    acked = ack->received;
    if (ack->stored) {
      if (acked != size) return protocol_error("worker stored chunk " + chunk_id + " short");
      return digest;
    }
  }
  return protocol_error("worker never confirmed chunk " + chunk_id + " stored");
}

Status read_chunk(RpcClient& worker, const std::string& chunk_id, uint64_t size,
                  const std::string& sha256, const ChunkSink& sink, const TransferOptions& options,
                  const std::function<void(uint64_t)>& progress) {
  Sha256 hash;
  uint64_t requested = 0;
  uint64_t received = 0;
  size_t in_flight = 0;
  auto fail = [&](const Status& s) {
    worker.reset();
    return Status(s.code(),
                  "reading chunk " + chunk_id + " from " + worker.endpoint() + ": " + s.message());
  };
  while (received < size) {
    while (in_flight < options.window && requested < size) {
      uint64_t len = std::min<uint64_t>(options.frame_size, size - requested);
      auto id =
          worker.send(make_envelope(ReadChunkRequest{chunk_id, requested, len, options.ticket}));
      if (!id.is_ok()) return fail(id.status());
      requested += len;
      ++in_flight;
    }
    auto reply = worker.recv(options.timeout);
    if (!reply.is_ok()) return fail(reply.status());
    auto rep = decode_reply<ReadChunkReply>(reply.value());
    if (!rep.is_ok()) return fail(rep.status());
    if (rep->chunk_id != chunk_id) continue;
    --in_flight;
    // One connection's requests are served in order, so replies arrive in order.
    if (rep->offset != received || reply->data.size() != 1) {
      return fail(protocol_error("reply out of order or without data"));
    }
    if (rep->total_size != size) {
      return fail(Status(Code::kCorruption, "worker holds " + std::to_string(rep->total_size) +
                                                " bytes, expected " + std::to_string(size)));
    }
    const auto& data = reply->data[0];
    uint64_t want = std::min<uint64_t>(options.frame_size, size - received);
    if (data.size() != want) return fail(protocol_error("short read reply"));
    hash.update(data.data(), data.size());
    DFS_RETURN_IF_ERROR(sink(received, static_cast<const char*>(data.data()), data.size()));
    received += data.size();
    if (progress) progress(data.size());
  }
  if (hash.finish_hex() != sha256) {
    return Status(Code::kChecksumMismatch, "chunk " + chunk_id + " from " + worker.endpoint() +
                                               " does not match its SHA-256");
  }
  return Status::ok();
}

}  // namespace dfs
