// Fetching the files of a snapshot from the master that offered it: one
// piece in flight, asked for again after a silence, and every file's size
// and SHA-256 checked as its last piece arrives. No I/O and no clock of its
// own: the log's driver sends the requests, writes the pieces and says what
// time it is.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "codec/raft_messages.h"
#include "codec/sha256.h"

namespace dfs {

class SnapshotFetch {
 public:
  using Clock = std::chrono::steady_clock;
  struct Options {
    uint64_t piece_bytes = 1u << 20;
    Clock::duration retry = std::chrono::seconds(1);     // silence before asking again
    Clock::duration give_up = std::chrono::seconds(10);  // silence before abandoning
  };

  // `offer` is the Raft snapshot message whose data is `manifest`.
  SnapshotFetch(raft::Message offer, raft::SnapshotManifest manifest, Options options,
                Clock::time_point now);

  uint64_t index() const { return manifest_.index; }
  raft::NodeId source() const { return offer_.from; }
  const raft::Message& offer() const { return offer_; }
  // The leader offered the same snapshot again (perhaps in a newer term):
  // that offer is the one to hand to Raft once the files are here.
  void renew(raft::Message offer) { offer_ = std::move(offer); }
  bool done() const { return file_ == manifest_.files.size(); }
  bool stalled(Clock::time_point now) const { return now - progress_ > options_.give_up; }

  // The request to send now, if one is due: the first, the next after an
  // answer, or the same again after `retry` without one.
  std::optional<raft::SnapshotFileRequest> due(Clock::time_point now);

  struct Piece {
    std::string name;
    uint64_t offset = 0;
    std::string_view data;   // into the reply
    bool file_done = false;  // checked: the caller may sync the file
  };
  // nullopt: not the answer awaited (late or repeated), to ignore. An error:
  // this fetch cannot finish (the source dropped the snapshot, a file does
  // not match the manifest).
  Result<std::optional<Piece>> accept(const raft::SnapshotFileReply& reply, Clock::time_point now);

 private:
  raft::Message offer_;
  raft::SnapshotManifest manifest_;
  Options options_;
  size_t file_ = 0;      // the file being fetched
  uint64_t offset_ = 0;  // its next byte
  Sha256 hash_;
  bool asked_ = false;
  Clock::time_point asked_at_;
  Clock::time_point progress_;
};

}  // namespace dfs
