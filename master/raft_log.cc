#include "master/raft_log.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace dfs {

namespace {
// Messages queued outside a pump beyond this are dropped: the peer asks again.
constexpr size_t kMaxOutbox = 256;

std::string peer_name(raft::NodeId id) { return "m" + std::to_string(id); }
}  // namespace

Result<std::unique_ptr<RaftLog>> RaftLog::open(Options options, const std::string& raft_dir,
                                               const std::string& meta_dir,
                                               std::unique_ptr<Namespace>* ns) {
  auto store = raft::LogStore::open(raft_dir);
  if (!store.is_ok()) return store.status();
  auto persisted = store.value()->load();
  if (!persisted.is_ok()) return persisted.status();
  SnapshotStore snapshots(raft_dir, meta_dir);
  if (Status s = snapshots.open(); !s.is_ok()) return s;
  const raft::SnapshotMeta& snap = persisted->snapshot.meta;
  if (snap.index > (*ns)->applied_index()) {
    spdlog::warn(
        "the namespace is at index {} but the log was compacted to {}: installing "
        "snapshot {}",
        (*ns)->applied_index(), snap.index, snap.index);
    ns->reset();  // closes the directory the snapshot replaces
    auto installed = snapshots.install(snap.index);
    if (!installed.is_ok()) return installed.status();
    *ns = std::move(installed).value();
  }
  uint64_t last = snap.index;
  if (!persisted->entries.empty()) last = persisted->entries.back().index;
  if ((*ns)->applied_index() > last) {
    return Status(Code::kCorruption,
                  "the metadata has applied entry " + std::to_string((*ns)->applied_index()) +
                      " but the Raft log in " + raft_dir + " ends at " + std::to_string(last) +
                      " (metadata from a master without a log, or a log lost); start on an "
                      "empty --dir with --join and let the group send it");
  }
  snapshots.retain({snap.index});
  return std::unique_ptr<RaftLog>(new RaftLog(std::move(options), std::move(store).value(),
                                              std::move(persisted).value(), std::move(snapshots)));
}

RaftLog::RaftLog(Options options, std::unique_ptr<raft::LogStore> store, raft::Persisted persisted,
                 SnapshotStore snapshots)
    : options_(std::move(options)),
      store_(std::move(store)),
      core_(options_.core, std::move(persisted)),
      snapshots_(std::move(snapshots)) {}

std::string RaftLog::api_of(raft::NodeId id) const {
  if (auto it = added_apis_.find(id); it != added_apis_.end() && !it->second.empty()) {
    return "tcp://" + it->second;
  }
  auto it = options_.apis.find(id);
  return it == options_.apis.end() ? "" : it->second;
}

std::vector<MemberInfo> RaftLog::members(Clock::time_point now) const {
  std::vector<MemberInfo> out;
  const raft::Membership& m = core_.membership();
  auto add = [&](raft::NodeId id, const char* role) {
    MemberInfo info;
    info.id = id;
    info.api = api_of(id);
    info.role = id == core_.leader() ? "leader" : role;
    info.match = core_.match_of(id).value_or(id == core_.id() ? core_.last_index() : 0);
    if (auto it = last_heard_.find(id); it != last_heard_.end() && id != core_.id()) {
      info.last_contact_ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(now - it->second).count();
    }
    out.push_back(std::move(info));
  };
  for (raft::NodeId id : m.voters) add(id, "voter");
  for (raft::NodeId id : m.learners) add(id, "learner");
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

std::optional<RaftLog::Clock::time_point> RaftLog::majority_heard(Clock::time_point now) const {
  // The newest word that a majority, this master included, has sent since.
  const auto& voters = core_.membership().voters;
  std::vector<Clock::time_point> heard;
  for (raft::NodeId id : voters) {
    if (id == core_.id()) {
      heard.push_back(now);
    } else if (auto it = last_heard_.find(id); it != last_heard_.end()) {
      heard.push_back(it->second);
    }
  }
  const size_t quorum = voters.size() / 2 + 1;
  if (heard.size() < quorum) return std::nullopt;
  std::nth_element(heard.begin(), heard.begin() + (quorum - 1), heard.end(), std::greater<>());
  return heard[quorum - 1];
}

void RaftLog::probe_currency(Clock::time_point now) {
  if (core_.role() == raft::Role::kLeader) {
    // Kept while leading, so that a leader that steps down knows when it
    // last had a majority.
    if (auto heard = majority_heard(now)) current_at_ = *heard;
    return;
  }
  // A follower's word from its leader says nothing of its own state (a link
  // broken one way, a snapshot that never lands): it learns that it is
  // current by asking for a read index and applying up to it.
  if (core_.leader() == 0 || now - last_probe_ < options_.currency_probe) return;
  last_probe_ = now;
  const uint64_t context = kProbe | (++probe_seq_ & ~kProbe);
  if (!core_.read_index(context).is_ok()) return;
  probes_[context] = now;
  if (probes_.size() > kMaxProbes) probes_.erase(probes_.begin());
}

std::optional<RaftLog::Clock::duration> RaftLog::since_current(Clock::time_point now) const {
  auto at = core_.role() == raft::Role::kLeader ? majority_heard(now) : current_at_;
  if (!at) return std::nullopt;
  return now - *at;
}

Status RaftLog::transfer(uint64_t id) {
  // Asking for what already holds succeeds: the operator wanted `id` to
  // lead, and a failover may have made it so before the request arrived.
  if (id == core_.id() && core_.role() == raft::Role::kLeader) return Status::ok();
  Status s = core_.transfer_leadership(id);
  if (!s.is_ok() && core_.role() != raft::Role::kLeader)
    return Status(Code::kNotLeader, s.message());
  return s;
}

void RaftLog::follow_member_records(const Namespace& names) {
  const raft::Membership& m = core_.membership();
  // Removals first, so a stuck addition never holds one up.
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& [id, record] : names.members()) {
      raft::ConfChange change;
      change.node = id;
      if (pass == 0 && record.wanted == "removed" && m.is_member(id)) {
        change.kind = static_cast<uint8_t>(raft::ConfChangeKind::kRemove);
      } else if (pass == 1 && record.wanted == "voter" && !m.is_member(id)) {
        change.kind = static_cast<uint8_t>(raft::ConfChangeKind::kAddLearner);
      } else if (pass == 1 && record.wanted == "voter" && m.is_learner(id)) {
        change.kind = static_cast<uint8_t>(raft::ConfChangeKind::kPromote);
      } else {
        continue;
      }
      auto index = core_.propose_conf_change(change);
      if (index.is_ok()) {
        spdlog::info("membership: {} master {} (entry {})",
                     change.change_kind() == raft::ConfChangeKind::kAddLearner ? "adding"
                     : change.change_kind() == raft::ConfChangeKind::kPromote  ? "promoting"
                                                                               : "removing",
                     id, index.value());
        return;  // one change at a time
      }
      // Another change still commits, or this leader has not committed in its
      // term yet: everything waits. Otherwise (a learner not caught up, the
      // last voter) this record waits and the next may go.
      if (index.status().code() == Code::kUnavailable &&
          index.status().message().find("has not caught up") == std::string::npos) {
        return;
      }
    }
  }
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

void RaftLog::queue(raft::NodeId to, Envelope&& env) {
  if (outbox_.size() < kMaxOutbox) outbox_.emplace_back(to, std::move(env));
}

Status RaftLog::receive(const std::string& peer, const Envelope& env, Clock::time_point now) {
  // Every peer message says who sent it and to whom; both must be right.
  auto check = [&](raft::NodeId from, raft::NodeId to) -> Status {
    if (to != core_.id() || peer != peer_name(from)) {
      return protocol_error("a message for node " + std::to_string(to) + " from " +
                            std::to_string(from) + " arrived from '" + peer + "'");
    }
    last_heard_[from] = now;
    return Status::ok();
  };
  switch (env.header.type) {
    case MsgType::kRaftMessage: {
      auto m = decode<raft::Message>(env.body);
      if (!m.is_ok()) return m.status();
      if (Status s = check(m->from, m->to); !s.is_ok()) return s;
      if (m->msg_kind() == raft::MsgKind::kSnapshot) {
        offer(std::move(m).value(), now);
      } else {
        core_.step(m.value());
      }
      return Status::ok();
    }
    case MsgType::kSnapshotFileRequest: {
      auto req = decode<raft::SnapshotFileRequest>(env.body);
      if (!req.is_ok()) return req.status();
      if (Status s = check(req->from, req->to); !s.is_ok()) return s;
      serve_file(req.value());
      return Status::ok();
    }
    case MsgType::kSnapshotFileReply: {
      auto rep = decode<raft::SnapshotFileReply>(env.body);
      if (!rep.is_ok()) return rep.status();
      if (Status s = check(rep->from, rep->to); !s.is_ok()) return s;
      take_piece(rep.value(), now);
      return Status::ok();
    }
    default:
      return protocol_error("unexpected " + std::string(msg_type_name(env.header.type)) +
                            " on the peer socket");
  }
}

void RaftLog::offer(raft::Message&& m, Clock::time_point now) {
  // Offers the core answers without installing anything (stale terms,
  // snapshots our log already covers) go straight to it.
  if (m.term < core_.term() || m.snapshot.index <= core_.commit_index()) {
    core_.step(m);
    return;
  }
  if (fetch_ && fetch_->index() == m.snapshot.index && fetch_->source() == m.from) {
    fetch_->renew(std::move(m));  // the leader resends its offer until we answer
    return;
  }
  if (m.offset != 0 || !m.done) {
    spdlog::warn("master {} offered snapshot {} in pieces; a manifest fits in one", m.from,
                 m.snapshot.index);
    return;
  }
  auto manifest = decode<raft::SnapshotManifest>(m.data);
  if (manifest.is_ok() && manifest->index != m.snapshot.index) {
    manifest = protocol_error("its manifest is for index " + std::to_string(manifest->index));
  }
  if (!manifest.is_ok()) {
    spdlog::warn("master {} offered snapshot {} with a bad manifest: {}", m.from, m.snapshot.index,
                 manifest.status().to_string());
    return;
  }
  if (Status s = snapshots_.begin_incoming(); !s.is_ok()) {
    spdlog::error("cannot receive snapshot {}: {}", m.snapshot.index, s.to_string());
    return;
  }
  spdlog::info("fetching snapshot {} ({} files) from master {}", m.snapshot.index,
               manifest->files.size(), m.from);
  fetch_.emplace(std::move(m), std::move(manifest).value(), options_.fetch, now);
  advance_fetch(now);
}

void RaftLog::serve_file(const raft::SnapshotFileRequest& req) {
  raft::SnapshotFileReply rep;
  rep.from = core_.id();
  rep.to = req.from;
  rep.index = req.index;
  rep.name = req.name;
  rep.offset = req.offset;
  auto data = snapshots_.read(req.index, req.name, req.offset, req.max, &rep.eof);
  if (data.is_ok()) {
    rep.data = std::move(data).value();
  } else {
    rep.error = data.status().to_string();
  }
  queue(req.from, make_envelope(rep));
}

void RaftLog::take_piece(const raft::SnapshotFileReply& reply, Clock::time_point now) {
  if (!fetch_) return;
  auto piece = fetch_->accept(reply, now);
  Status s = piece.status();
  if (piece.is_ok() && piece.value()) {
    const SnapshotFetch::Piece& p = *piece.value();
    s = snapshots_.write_incoming(p.name, p.offset, p.data);
    if (s.is_ok() && p.file_done) s = snapshots_.sync_incoming(p.name);
  }
  if (!s.is_ok()) {
    spdlog::warn("giving up snapshot {}: {}", fetch_->index(), s.to_string());
    fetch_.reset();
    return;
  }
  advance_fetch(now);
}

void RaftLog::advance_fetch(Clock::time_point now) {
  if (!fetch_) return;
  if (fetch_->done()) {
    // Every file is here and checked: now Raft may install it.
    uint64_t index = fetch_->index();
    Status s = snapshots_.seal_incoming(index);
    raft::Message offer = fetch_->offer();
    fetch_.reset();
    if (!s.is_ok()) {
      spdlog::error("cannot keep snapshot {}: {}", index, s.to_string());
      return;
    }
    spdlog::info("snapshot {} fetched", index);
    core_.step(offer);
    return;
  }
  if (fetch_->stalled(now)) {
    spdlog::warn("giving up snapshot {}: master {} stopped answering", fetch_->index(),
                 fetch_->source());
    fetch_.reset();
    return;
  }
  if (auto req = fetch_->due(now)) queue(req->to, make_envelope(*req));
}

void RaftLog::install(MasterService& service, const raft::Snapshot& snapshot) {
  uint64_t index = snapshot.meta.index;
  if (describing_.valid()) (void)describing_.get();  // its checkpoint is older: dropped below
  service.restore([&] {
    auto ns = snapshots_.install(index);
    if (!ns.is_ok())
      fatal_state("cannot install snapshot " + std::to_string(index) + ": " +
                  ns.status().to_string());
    return std::move(ns).value();
  });
  snapshots_.retain({index});
  checkpoint_.reset();
  bytes_since_checkpoint_ = 0;
  applied_ = index;
  applied_term_ = snapshot.meta.term;
  spdlog::info("installed snapshot {} (term {}): {} files, {} directories", index,
               snapshot.meta.term, service.names().file_count(), service.names().directory_count());
}

void RaftLog::maybe_snapshot(MasterService& service) {
  if (options_.snapshot_entries == 0) return;
  const uint64_t applied = service.names().applied_index();
  const uint64_t tail = std::max<uint64_t>(1, options_.snapshot_entries / 4);
  if (describing_.valid()) {
    if (describing_.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return;
    auto manifest = describing_.get();
    if (!manifest.is_ok()) {
      spdlog::error("cannot describe the namespace checkpoint: {}", manifest.status().to_string());
      no_checkpoint_before_ = applied + tail;
      return;
    }
    checkpoint_ = std::move(manifest).value();
    return;
  }
  if (checkpoint_) {
    // Compact once followers a little behind at the checkpoint have had the
    // chance to catch up from entries.
    if (applied < checkpoint_->index + tail &&
        bytes_since_checkpoint_ < options_.snapshot_bytes / 4) {
      return;
    }
    uint64_t previous = core_.snapshot_meta().index;
    auto snap = core_.compact(checkpoint_->index, encode(*checkpoint_));
    if (!snap.is_ok()) {
      spdlog::warn("cannot compact the log to {}: {}", checkpoint_->index,
                   snap.status().to_string());
      checkpoint_.reset();
      return;
    }
    Status s = store_->save_snapshot(snap.value());
    if (!s.is_ok()) fatal_state("cannot persist snapshot: " + s.to_string());
    // The previous snapshot stays one round more: a follower may be fetching it.
    snapshots_.retain({checkpoint_->index, previous});
    spdlog::info("log compacted to snapshot {} ({} files)", checkpoint_->index,
                 checkpoint_->files.size());
    checkpoint_.reset();
    return;
  }
  uint64_t base = core_.snapshot_meta().index;
  if (applied <= base || applied < no_checkpoint_before_) return;
  if (applied - base < options_.snapshot_entries &&
      bytes_since_checkpoint_ < options_.snapshot_bytes) {
    return;
  }
  bytes_since_checkpoint_ = 0;
  auto index = snapshots_.checkpoint(service.state());
  if (!index.is_ok()) {
    spdlog::error("cannot checkpoint the namespace at {}: {}", applied, index.status().to_string());
    no_checkpoint_before_ = applied + tail;
    return;
  }
  describing_ =
      std::async(std::launch::async, [this, i = index.value()] { return snapshots_.describe(i); });
}

void RaftLog::pump(MasterService& service, const Send& send, Clock::time_point now) {
  probe_currency(now);
  advance_fetch(now);
  while (core_.has_ready()) {
    raft::Ready rd = core_.ready();
    // A leader's appends of new entries leave before its own fsync, so its
    // disk and its followers' disks work at once (Raft thesis 10.2.1). It
    // commits only on answers, which this thread reads after save()
    // returned. Not when it is the only voter: it commits its entries at
    // once, and an early append would tell a learner so before they are on
    // its disk. Everything else (votes, answers to the leader, what a
    // follower installs) waits for the disk.
    const bool early = core_.role() == raft::Role::kLeader && core_.membership().voters.size() > 1;
    auto leader_kind = [early](const raft::Message& m) {
      return early && m.msg_kind() == raft::MsgKind::kAppend && !m.entries.empty();
    };
    for (auto& m : rd.messages) {
      if (leader_kind(m)) send(m.to, make_envelope(m));
    }
    Status saved = store_->save(rd);
    if (!saved.is_ok()) fatal_state("cannot persist the Raft log: " + saved.to_string());
    // The snapshot is part of what must be durable before anything leaves.
    if (rd.snapshot) install(service, *rd.snapshot);
    for (auto& m : rd.messages) {
      if (!leader_kind(m)) send(m.to, make_envelope(m));
    }
    for (const auto& e : rd.committed) {
      applied_ = e.index;
      applied_term_ = e.term;
      // Only commands reach the state machine; entries it applied before a
      // restart come back from the log and are skipped.
      if (e.type != static_cast<uint8_t>(raft::EntryType::kNormal)) continue;
      if (e.index <= service.names().applied_index()) continue;
      bytes_since_checkpoint_ += e.data.size();
      service.on_applied(e.index, e.term, e.data);
    }
    for (const auto& r : rd.reads) reads_.push_back(r);
    core_.advance(rd);
  }
  maybe_snapshot(service);
  const auto& records = service.names().members();
  bool same = records.size() == added_apis_.size() &&
              std::all_of(records.begin(), records.end(), [&](const auto& r) {
                auto it = added_apis_.find(r.first);
                return it != added_apis_.end() && it->second == r.second.api;
              });
  if (!same) {
    added_apis_.clear();
    for (const auto& [id, record] : records) added_apis_[id] = record.api;
  }
  if (told_leading_) follow_member_records(service.names());
  for (auto& [to, env] : std::exchange(outbox_, {})) send(to, std::move(env));
  for (auto it = reads_.begin(); it != reads_.end();) {
    if ((it->context & kProbe) != 0) {
      // A currency probe: current as of when it was asked, once applied up
      // to the index it got. One no longer kept is dropped.
      auto probe = probes_.find(it->context);
      if (probe == probes_.end()) {
        it = reads_.erase(it);
        continue;
      }
      if (it->index <= applied_) {
        current_at_ = std::max(current_at_.value_or(probe->second), probe->second);
        probes_.erase(probe);
        it = reads_.erase(it);
        continue;
      }
    } else if (it->index <= applied_) {
      service.on_read_ready(it->context);
      it = reads_.erase(it);
      continue;
    }
    ++it;
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
