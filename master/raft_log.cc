#include "master/raft_log.h"

#include <spdlog/spdlog.h>

namespace dfs {

Result<std::unique_ptr<RaftLog>> RaftLog::open(Options options, const std::string& dir,
                                               uint64_t applied_index) {
  auto store = raft::LogStore::open(dir);
  if (!store.is_ok()) return store.status();
  auto persisted = store.value()->load();
  if (!persisted.is_ok()) return persisted.status();
  uint64_t last = persisted->snapshot.meta.index;
  if (!persisted->entries.empty()) last = persisted->entries.back().index;
  if (applied_index > last) {
    return Status(Code::kCorruption,
                  "the metadata has applied entry " + std::to_string(applied_index) +
                      " but the Raft log in " + dir + " ends at " + std::to_string(last) +
                      " (metadata from a master without a log, or a log lost); start on an "
                      "empty --dir and let the group send it");
  }
  return std::unique_ptr<RaftLog>(
      new RaftLog(std::move(options), std::move(store).value(), std::move(persisted).value()));
}

RaftLog::RaftLog(Options options, std::unique_ptr<raft::LogStore> store, raft::Persisted persisted)
    : options_(std::move(options)),
      store_(std::move(store)),
      core_(options_.core, std::move(persisted)) {}

std::string RaftLog::api_of(raft::NodeId id) const {
  auto it = options_.apis.find(id);
  return it == options_.apis.end() ? "" : it->second;
}

Result<LogPosition> RaftLog::propose(std::string data) {
  auto index = core_.propose(std::move(data));
  if (!index.is_ok()) {
    // Leading but handing over (a transfer): busy, not elsewhere.
    Code code = core_.role() == raft::Role::kLeader ? Code::kBusy : Code::kNotLeader;
    return Status(code, index.status().message());
  }
  return LogPosition{index.value(), core_.term()};
}

Status RaftLog::read_index(uint64_t context) {
  Status s = core_.read_index(context);
  if (!s.is_ok() && s.code() != Code::kNotLeader) return Status(Code::kNotLeader, s.message());
  return s;
}

void RaftLog::pump(MasterService& service, const Send& send, Clock::time_point now) {
  while (core_.has_ready()) {
    raft::Ready rd = core_.ready();
    if (rd.snapshot) {
      // Nothing compacts the log yet, so no leader sends one.
      fatal_state("a snapshot arrived at index " + std::to_string(rd.snapshot->meta.index) +
                  ", and installing snapshots is not supported yet");
    }
    Status saved = store_->save(rd);
    if (!saved.is_ok()) fatal_state("cannot persist the Raft log: " + saved.to_string());
    for (auto& m : rd.messages) send(std::move(m));
    for (const auto& e : rd.committed) {
      applied_ = e.index;
      applied_term_ = e.term;
      // Only commands reach the state machine; entries it applied before a
      // restart come back from the log and are skipped.
      if (e.type != static_cast<uint8_t>(raft::EntryType::kNormal)) continue;
      if (e.index <= service.names().applied_index()) continue;
      service.on_applied(e.index, e.term, e.data);
    }
    for (const auto& r : rd.reads) reads_.push_back(r);
    core_.advance(rd);
  }
  for (auto it = reads_.begin(); it != reads_.end();) {
    if (it->index <= applied_) {
      service.on_read_ready(it->context);
      it = reads_.erase(it);
    } else {
      ++it;
    }
  }
  bool leading = core_.role() == raft::Role::kLeader && applied_term_ == core_.term();
  raft::NodeId leader = core_.leader();
  // A leader not yet serving (its own term has not applied here) names no
  // leader: it must not send clients to itself.
  if (!leading && leader == core_.id()) leader = 0;
  if (leading != told_leading_ || (!leading && leader != told_leader_)) {
    service.on_role(leading, leading ? "" : api_of(leader), now);
    told_leading_ = leading;
    told_leader_ = leader;
  }
}

}  // namespace dfs
