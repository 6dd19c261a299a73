#include "master/snapshot_fetch.h"

namespace dfs {

SnapshotFetch::SnapshotFetch(raft::Message offer, raft::SnapshotManifest manifest, Options options,
                             Clock::time_point now)
    : offer_(std::move(offer)), manifest_(std::move(manifest)), options_(options), progress_(now) {}

std::optional<raft::SnapshotFileRequest> SnapshotFetch::due(Clock::time_point now) {
  if (done()) return std::nullopt;
  if (asked_ && now - asked_at_ < options_.retry) return std::nullopt;
  asked_ = true;
  asked_at_ = now;
  raft::SnapshotFileRequest req;
  req.from = offer_.to;
  req.to = offer_.from;
  req.index = manifest_.index;
  req.name = manifest_.files[file_].name;
  req.offset = offset_;
  req.max = options_.piece_bytes;
  return req;
}

Result<std::optional<SnapshotFetch::Piece>> SnapshotFetch::accept(
    const raft::SnapshotFileReply& reply, Clock::time_point now) {
  if (done() || reply.from != source() || reply.index != manifest_.index)
    return std::optional<Piece>();
  const raft::SnapshotFile& file = manifest_.files[file_];
  if (reply.name != file.name || reply.offset != offset_) return std::optional<Piece>();
  if (!reply.error.empty()) {
    return Status(Code::kUnavailable, "master " + std::to_string(source()) +
                                          " cannot send snapshot " +
                                          std::to_string(manifest_.index) + ": " + reply.error);
  }
  if (reply.data.size() > file.size - offset_ ||
      (reply.eof && offset_ + reply.data.size() != file.size) ||
      (!reply.eof && offset_ + reply.data.size() == file.size && !reply.data.empty())) {
    return Status(Code::kCorruption, "snapshot file " + file.name + " does not have the " +
                                         std::to_string(file.size) + " bytes its manifest says");
  }
  if (reply.data.empty() && !reply.eof) {
    return Status(Code::kCorruption, "an empty piece of snapshot file " + file.name);
  }
  hash_.update(reply.data.data(), reply.data.size());
  Piece piece{file.name, offset_, reply.data, reply.eof};
  offset_ += reply.data.size();
  asked_ = false;
  progress_ = now;
  if (reply.eof) {
    if (hash_.finish_hex() != file.sha256) {
      return Status(Code::kChecksumMismatch, "snapshot file " + file.name + " from master " +
                                                 std::to_string(source()) +
                                                 " does not match its SHA-256");
    }
    ++file_;
    offset_ = 0;
  }
  return std::optional<Piece>(piece);
}

}  // namespace dfs
