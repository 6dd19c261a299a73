#include "bus/chunk_transfer.h"

#include "codec/crc32c.h"
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
      // Each block's CRC, for each worker to check what it received: far
      // cheaper than every worker hashing the chunk again.
      if (options.frame_size % kCrcBlockSize == 0) {
        const auto* bytes = static_cast<const char*>(data.data());
        for (size_t at = 0; at < len; at += kCrcBlockSize) {
          frame.block_crcs.push_back(crc32c(bytes + at, std::min<size_t>(kCrcBlockSize, len - at)));
        }
      }
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

Status check_blocks(const ReadChunkReply& reply, const char* data, size_t size) {
  if (reply.block_crcs.empty()) return Status::ok();  // a chunk stored without them
  const uint64_t bs = reply.block_size;
  if ((size + bs - 1) / bs != reply.block_crcs.size()) {
    return protocol_error("a read reply with " + std::to_string(reply.block_crcs.size()) +
                          " block CRCs for " + std::to_string(size) + " bytes");
  }
  for (size_t i = 0; i < reply.block_crcs.size(); ++i) {
    uint64_t at = i * bs;
    size_t n = static_cast<size_t>(std::min<uint64_t>(bs, size - at));
    if (crc32c(data + at, n) != reply.block_crcs[i]) {
      return Status(Code::kChecksumMismatch,
                    "block at " + std::to_string(reply.offset + at) + " does not match its CRC");
    }
  }
  return Status::ok();
}

namespace {

// read_chunk and read_chunk_range. With `verified_only`, no byte reaches
// the sink unchecked: a chunk without block CRCs is read again with `hold`,
// which reads every block and keeps [from, to) back until the whole chunk
// matched its SHA-256.
Status read_blocks(RpcClient& worker, const std::string& chunk_id, uint64_t size,
                   const std::string& sha256, uint64_t from, uint64_t to, bool verified_only,
                   bool hold, const ChunkSink& sink, const TransferOptions& options,
                   const std::function<void(uint64_t)>& progress) {
  bool whole = hold;
  std::string held;
  // Whole blocks are read, so that each can be checked; only [from, to)
  // reaches the sink. A whole chunk is checked against its SHA-256 too.
  const uint64_t first = whole ? 0 : from - from % kCrcBlockSize;
  const uint64_t last =
      whole ? size : std::min(size, (to + kCrcBlockSize - 1) / kCrcBlockSize * kCrcBlockSize);
  whole = first == 0 && last == size;
  Sha256 hash;
  uint64_t requested = first;
  uint64_t received = first;
  size_t in_flight = 0;
  auto fail = [&](const Status& s) {
    worker.reset();
    return Status(s.code(),
                  "reading chunk " + chunk_id + " from " + worker.endpoint() + ": " + s.message());
  };
  while (received < last) {
    while (in_flight < options.window && requested < last) {
      uint64_t len = std::min<uint64_t>(options.frame_size, last - requested);
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
    const auto* bytes = static_cast<const char*>(data.data());
    uint64_t want = std::min<uint64_t>(options.frame_size, last - received);
    if (data.size() != want) return fail(protocol_error("short read reply"));
    // Damage is found frame by frame, before any of it reaches the sink.
    if (rep->block_crcs.empty() && verified_only && !hold) {
      // Stored without block CRCs (by an older worker): only the chunk's
      // SHA-256 can vouch for its bytes, so all of them are read, and the
      // part asked for is given only once they matched.
      worker.reset();
      return read_blocks(worker, chunk_id, size, sha256, from, to, true, true, sink, options,
                         progress);
    }
    Status blocks = check_blocks(*rep, bytes, data.size());
    if (!blocks.is_ok()) return fail(blocks);
    if (whole) hash.update(bytes, data.size());
    uint64_t lo = std::max(received, from);
    uint64_t hi = std::min(received + data.size(), to);
    if (lo < hi && hold) {
      held.append(bytes + (lo - received), static_cast<size_t>(hi - lo));
    } else if (lo < hi) {
      Status taken = sink(lo, bytes + (lo - received), static_cast<size_t>(hi - lo));
      if (!taken.is_ok()) {
        worker.reset();  // replies still in flight are of no use now
        return taken;
      }
    }
    received += data.size();
    if (progress) progress(data.size());
  }
  if (whole && hash.finish_hex() != sha256) {
    return Status(Code::kChecksumMismatch, "chunk " + chunk_id + " from " + worker.endpoint() +
                                               " does not match its SHA-256");
  }
  if (hold && !held.empty()) return sink(from, held.data(), held.size());
  return Status::ok();
}

}  // namespace

Status read_chunk(RpcClient& worker, const std::string& chunk_id, uint64_t size,
                  const std::string& sha256, const ChunkSink& sink, const TransferOptions& options,
                  const std::function<void(uint64_t)>& progress) {
  if (size == 0) return Status::ok();
  return read_blocks(worker, chunk_id, size, sha256, 0, size, false, false, sink, options,
                     progress);
}

Status read_chunk_range(RpcClient& worker, const std::string& chunk_id, uint64_t size,
                        const std::string& sha256, uint64_t from, uint64_t to,
                        const ChunkSink& sink, const TransferOptions& options,
                        const std::function<void(uint64_t)>& progress) {
  to = std::min(to, size);
  if (from >= to) return Status::ok();
  return read_blocks(worker, chunk_id, size, sha256, from, to, true, false, sink, options,
                     progress);
}

}  // namespace dfs
