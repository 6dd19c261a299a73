#include "master/master_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <set>

#include "bus/security.h"
#include "codec/path.h"
#include "master/faults.h"
#include "master/key_changes.h"

namespace dfs {
namespace {

// Half a message body: one entry, with its Raft message around it, always
// decodes at a peer.
constexpr size_t kMaxEntryBytes = kMaxBodyBytes / 2;

bool is_read(MsgType type) {
  switch (type) {
    case MsgType::kStatRequest:
    case MsgType::kListRequest:
    case MsgType::kFsckRequest:
    case MsgType::kClusterStatusRequest:
    case MsgType::kMembersRequest:
    case MsgType::kKeysRequest:
    case MsgType::kUploadsRequest:
      return true;
    default:
      return false;
  }
}

bool is_mutation(MsgType type) {
  switch (type) {
    case MsgType::kMkdirRequest:
    case MsgType::kDeleteRequest:
    case MsgType::kRenameRequest:
    case MsgType::kCreateUploadRequest:
    case MsgType::kCreateFileRequest:
    case MsgType::kAllocateChunkRequest:
    case MsgType::kCommitUploadRequest:
    case MsgType::kAbortUploadRequest:
    case MsgType::kChunkWrittenRequest:
    case MsgType::kPartWrittenRequest:
    case MsgType::kReportBadReplicaRequest:
    case MsgType::kMemberChangeRequest:
    case MsgType::kWorkerDrainRequest:
    case MsgType::kSetAttrRequest:
    case MsgType::kKeyChangeRequest:
      return true;
    default:
      return false;
  }
}

// The session of a mutation request, without decoding the rest of it
// (every mutation carries it as `session`).
struct SessionOnly {
  RequestSession session;
  DFS_MSGPACK_MAP(session);
  Status validate() const { return Status::ok(); }
};
RequestSession session_of(const std::string& body) {
  auto only = decode<SessionOnly>(body);
  return only.is_ok() ? only->session : RequestSession{};
}

struct StaleOnly {
  bool stale = false;
  DFS_MSGPACK_MAP(stale);
  Status validate() const { return Status::ok(); }
};
bool is_stale(const std::string& body) {
  auto only = decode<StaleOnly>(body);
  return only.is_ok() && only->stale;
}

// Reads whose answer a permission or key taken away changes: files and
// keys. Not a master's own view of the cluster (df, members), which
// an operator needs most from a master that is cut off.
bool reads_files_or_keys(MsgType type) {
  return type != MsgType::kClusterStatusRequest && type != MsgType::kMembersRequest;
}

std::string seconds_text(std::chrono::steady_clock::duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", std::chrono::duration<double>(d).count());
  return buf;
}

// A placement failure that heartbeats arriving soon may cure.
bool may_wait_for_workers(const Status& s) {
  return s.code() == Code::kUnavailable || s.code() == Code::kDiskFull;
}

// Decodes a Req and runs `fn` on it; a Result<Rep> becomes the reply.
template <typename Req, typename Fn>
Result<Envelope> serve(const std::string& body, Fn&& fn) {
  auto req = decode<Req>(body);
  if (!req.is_ok()) return req.status();
  auto out = fn(req.value());
  if (!out.is_ok()) return out.status();
  return make_envelope(out.value());
}

}  // namespace

MasterService::MasterService(MasterOptions options, std::unique_ptr<Namespace> ns,
                             ReplicatedLog* log)
    : options_(std::move(options)),
      ns_(std::move(ns)),
      log_(log),
      registry_(options_.registry),
      pending_(options_.max_pending) {
  take_in_keys(Clock::now());  // a key the log revoked is refused from the start
}

MasterService::Held MasterService::hold(const Envelope& request, Clock::time_point now) {
  return Held{request.routing_id, request.header, request.body, now,
              process_security().caller(request)};
}

void MasterService::reply(const Held& to, Envelope env) {
  env.routing_id = to.routing_id;
  env.header.request_id = to.header.request_id;
  replies_.push_back(std::move(env));
}

void MasterService::reply_error(const Held& to, const Status& status) {
  Envelope request;
  request.routing_id = to.routing_id;
  request.header = to.header;
  replies_.push_back(make_error_reply(request, status));
}

void MasterService::reply_not_leader(const Held& to) {
  ErrorReply err;
  err.code = static_cast<uint16_t>(Code::kNotLeader);
  err.message =
      "master " + options_.id + " is not the leader" +
      (leader_api_.empty() ? " (none known yet; retry)" : " (the leader is " + leader_api_ + ")");
  err.leader = leader_api_;
  reply(to, make_envelope(err));
}

bool MasterService::in_touch(Clock::time_point now) const {
  if (options_.stale_read_limit.count() == 0) return true;  // no limit
  auto since = log_->since_current(now);
  return since && *since <= options_.stale_read_limit;
}

void MasterService::reply_out_of_touch(const Held& to, Clock::time_point now) {
  // Not NOT_LEADER: a client would follow a hint, or go on to the next
  // master, and answer with another master's state where its user asked for
  // this one's. The reason comes back at once.
  auto since = log_->since_current(now);
  reply_error(to, Status(Code::kUnavailable,
                         "master " + options_.id + " is out of touch with its group: " +
                             (since ? "last current " + seconds_text(*since) + " ago"
                                    : "not current since it started") +
                             ", past its " + seconds_text(options_.stale_read_limit) +
                             " limit for stale reads, so its files and keys may be out of date; "
                             "read without --stale, or from another master"));
}

void MasterService::handle(const Envelope& request, Clock::time_point now) {
  Held held = hold(request, now);
  MsgType type = request.header.type;
  if (!is_read(type) && !is_mutation(type)) {
    reply_error(held,
                protocol_error("the master api does not take " + std::string(msg_type_name(type))));
    return;
  }
  const bool stale = is_read(type) && is_stale(request.body);
  if (stale && reads_files_or_keys(type) && !in_touch(now)) {
    reply_out_of_touch(held, now);
    return;
  }
  if (stale || (master_fault(MasterFault::kStaleFollowerRead) && is_read(type) && !session_)) {
    serve_read(held, now);  // this master's state, whatever its role
    return;
  }
  if (!session_) {
    reply_not_leader(held);
    return;
  }
  if (type == MsgType::kMembersRequest) {
    serve_read(held, now);  // the log's own state, current on the leader
    return;
  }
  if (type == MsgType::kMemberChangeRequest) {
    auto req = decode<MemberChangeRequest>(request.body);
    if (req.is_ok() && req->op == "transfer") {
      Status s = log_->transfer(req->id);
      if (s.is_ok()) {
        spdlog::info("master {} hands the leadership to master {}", options_.id, req->id);
        reply(held, make_envelope(MemberChangeReply{req->id}));
      } else {
        reply_error(held, s);
      }
      return;
    }
  }
  if (is_mutation(type)) {
    mutate(held, now);
    return;
  }
  if (reads_.size() >= options_.max_pending) {
    reply_error(held, Status(Code::kBusy, "too many reads waiting; retry"));
    return;
  }
  uint64_t context = next_read_++;
  Status s = log_->read_index(context);
  if (!s.is_ok()) {
    if (s.code() == Code::kNotLeader) {
      reply_not_leader(held);
    } else {
      reply_error(held, s);
    }
    return;
  }
  reads_.emplace(context, std::move(held));
}

void MasterService::mutate(const Held& request, Clock::time_point now) {
  // A retry of a request that already applied is answered from its record,
  // not planned again: planning anew (placement, say) could fail where the
  // original succeeded. The record is committed state, so the answer is too.
  if (auto answered = ns_->answered(session_of(request.body), request.caller)) {
    answer(request, std::move(*answered));
    return;
  }
  if (pending_.full()) {
    reply_error(request, Status(Code::kBusy, "too many requests waiting to commit (" +
                                                 std::to_string(pending_.size()) + "); retry"));
    return;
  }
  // Key changes are checked against the keyring as applied: two in flight
  // could each pass (two admins revoking each other, the last two).
  const bool key_change = request.header.type == MsgType::kKeyChangeRequest;
  if (key_change && key_change_index_ > ns_->applied_index()) {
    reply_error(request, Status(Code::kBusy, "another key change is being applied; retry"));
    return;
  }
  Envelope env;
  env.header = request.header;
  env.body = request.body;
  auto cmd = request.header.type == MsgType::kMemberChangeRequest ? plan_member_change(request.body)
             : request.header.type == MsgType::kKeyChangeRequest  ? plan_key_change(request.body)
                                                                  : session_->plan(env, now);
  if (cmd.is_ok()) cmd->caller = request.caller;
  if (!cmd.is_ok()) {
    if ((request.header.type == MsgType::kAllocateChunkRequest ||
         request.header.type == MsgType::kCreateUploadRequest) &&
        may_wait_for_workers(cmd.status()) && session_->in_startup_grace(now) &&
        parked_.size() < options_.max_pending) {
      parked_.push_back(request);  // the workers' first heartbeats may be on their way
      return;
    }
    reply_error(request, cmd.status());
    return;
  }
  std::string entry = encode(cmd.value());
  if (entry.size() > kMaxEntryBytes) {
    // Every replica must be able to take the entry in one message.
    reply_error(request,
                invalid_argument("the request makes a log entry of " +
                                 std::to_string(entry.size() >> 20) + " MiB, more than the " +
                                 std::to_string(kMaxEntryBytes >> 20) + " MiB limit"));
    return;
  }
  auto pos = log_->propose(std::move(entry));
  if (!pos.is_ok()) {
    if (pos.status().code() == Code::kNotLeader) {
      reply_not_leader(request);
    } else {
      reply_error(request, pos.status());
    }
    return;
  }
  if (key_change) key_change_index_ = pos->index;
  if (master_fault(MasterFault::kAnswerBeforeCommit)) {
    answer(request, Outcome{});
    return;
  }
  auto displaced =
      pending_.add(pos.value(), {0, request.routing_id, request.header.request_id, now});
  if (displaced) {
    reply_error(Held{displaced->routing_id, Header{MsgType::kErrorReply, displaced->request_id}, "",
                     displaced->since},
                Status(Code::kNotLeader, "the request was lost in a change of leader; retry"));
  }
}

Result<Command> MasterService::plan_member_change(const std::string& body) {
  auto req = decode<MemberChangeRequest>(body);
  if (!req.is_ok()) return req.status();
  auto members = log_->members(Clock::now());
  auto is_member = [&](uint64_t id) {
    return std::any_of(members.begin(), members.end(), [&](const auto& m) { return m.id == id; });
  };
  MemberChangeCmd cmd{req->op, req->id, req->endpoint};
  if (req->op == "add") {
    if (cmd.id == 0) {
      // The next id after every one the group has used.
      uint64_t top = 0;
      for (const auto& m : members) top = std::max(top, m.id);
      for (const auto& [id, rec] : ns_->members()) top = std::max(top, id);
      cmd.id = top + 1;
    } else if (is_member(cmd.id)) {
      return Status(Code::kAlreadyExists, "master " + std::to_string(cmd.id) + " is a member");
    }
  } else {
    if (!is_member(cmd.id))
      return not_found("master " + std::to_string(cmd.id) + " is not a member");
    size_t voters = std::count_if(members.begin(), members.end(),
                                  [](const auto& m) { return m.role != "learner"; });
    if (voters == 1) return invalid_argument("cannot remove the last master");
  }
  return make_command(cmd, wall_clock_ms(), req->session);
}

Result<Command> MasterService::plan_key_change(const std::string& body) {
  auto req = decode<KeyChangeRequest>(body);
  if (!req.is_ok()) return req.status();
  const Security& security = process_security();
  if (!security.secure()) {
    return invalid_argument("this cluster runs with --insecure: it has no keyring to change");
  }
  std::set<std::string> members;
  for (const auto& m : log_->members(Clock::now())) members.insert("m" + std::to_string(m.id));
  auto ring = security.keyring();
  auto file = security.file_keyring();
  return dfs::plan_key_change(req.value(), ring ? *ring : Keyring{}, file ? *file : Keyring{},
                              members, wall_clock_ms());
}

Result<KeysReply> MasterService::keys() const {
  const Security& security = process_security();
  if (!security.secure()) {
    return invalid_argument("this cluster runs with --insecure: it has no keyring");
  }
  const KeyringUpdate& log = ns_->log_keys();
  std::set<std::string> revoked(log.revoked.begin(), log.revoked.end());
  KeysReply rep;
  rep.version = log.version;
  if (auto file = security.file_keyring()) {
    for (const auto& e : file->entries()) {
      rep.keys.push_back(KeyListing{e.to_line(), "file", revoked.count(e.key) > 0});
    }
  }
  for (const auto& line : log.added) rep.keys.push_back(KeyListing{line, "log", false});
  return rep;
}

void MasterService::take_in_keys(Clock::time_point now) {
  const KeyringUpdate& keys = ns_->log_keys();
  bool changed = keys.version != keys_taken_in_;
  if (changed) {
    process_security().set_log_keys(keys);
    keys_taken_in_ = keys.version;
  }
  // Workers that missed a change (or started since) have it within 30 s.
  if (session_ && (changed || now >= next_keys_publish_)) {
    session_->publish_keys(keys);
    next_keys_publish_ = now + std::chrono::seconds(30);
  }
}

void MasterService::answer(const Held& to, Outcome out) {
  if (!out.status.is_ok()) {
    reply_error(to, out.status);
    return;
  }
  // Write tickets are signed as they leave, never stored: a replayed answer
  // gets a fresh one.
  if (out.reply_type == MsgType::kAllocateChunkReply && options_.tickets) {
    auto rep = decode<AllocateChunkReply>(out.reply_body);
    if (rep.is_ok()) {
      rep->ticket = ticket(rep->chunk_id, to.caller.user, "write");
      out.reply_body = encode(rep.value());
    }
  }
  if (out.reply_type == MsgType::kCreateUploadReply && options_.tickets) {
    auto rep = decode<CreateUploadReply>(out.reply_body);
    if (rep.is_ok() && (!rep->first_chunk.empty() || !rep->slots.empty())) {
      for (auto& c : rep->first_chunk) c.ticket = ticket(c.chunk_id, to.caller.user, "write");
      for (auto& c : rep->slots) c.ticket = ticket(c.chunk_id, to.caller.user, "write");
      out.reply_body = encode(rep.value());
    }
  }
  Envelope env;
  env.header.type = out.reply_type;
  env.body = out.reply_body.empty() ? encode(OkReply{}) : std::move(out.reply_body);
  reply(to, std::move(env));
}

void MasterService::propose_own(const Command& cmd) {
  auto pos = log_->propose(encode(cmd));
  if (!pos.is_ok()) {
    spdlog::debug("cannot propose {}: {}", msg_type_name(cmd.msg_type()), pos.status().to_string());
  }
}

void MasterService::retry_parked(Clock::time_point now) {
  for (size_t n = parked_.size(); n > 0 && session_; --n) {
    Held request = std::move(parked_.front());
    parked_.pop_front();
    mutate(request, now);  // parks it again while the grace lasts
  }
}

void MasterService::restore(const std::function<std::unique_ptr<Namespace>()>& reopen) {
  // Only a follower is sent a snapshot; a leader deposed by the sender and
  // not yet told lets go of everything waiting on it first.
  if (session_) on_role(false, leader_api_, Clock::now());
  ns_.reset();
  ns_ = reopen();
  take_in_keys(Clock::now());
}

void MasterService::on_applied(uint64_t index, uint64_t term, std::string_view data) {
  Outcome out = ns_->apply_entry(index, data);
  // Before the change is answered: a key added is admitted from the moment
  // its admin hears so.
  take_in_keys(Clock::now());
  if (session_) session_->on_applied(out);
  std::vector<PendingRequests::Waiter> lost;
  auto waiter = pending_.take(index, term, &lost);
  for (const auto& w : lost) {
    reply_error(Held{w.routing_id, Header{MsgType::kErrorReply, w.request_id}, "", w.since, {}},
                Status(Code::kNotLeader, "the request was lost in a change of leader; retry"));
  }
  if (!waiter) return;
  Held to{
      waiter->routing_id, Header{MsgType::kErrorReply, waiter->request_id}, "", waiter->since, {}};
  if (out.reply_type == MsgType::kAllocateChunkReply ||
      out.reply_type == MsgType::kCreateUploadReply) {
    auto cmd = decode<Command>(data);  // whose ticket it is
    if (cmd.is_ok()) to.caller = cmd->caller;
  }
  answer(to, std::move(out));
}

void MasterService::on_read_ready(uint64_t context) {
  auto it = reads_.find(context);
  if (it == reads_.end()) return;  // answered already (timed out, or leadership lost)
  Held request = std::move(it->second);
  reads_.erase(it);
  serve_read(request, Clock::now());
}

void MasterService::on_role(bool leader, const std::string& leader_api, Clock::time_point now) {
  leader_api_ = leader_api;
  if (leader && !session_) {
    spdlog::info("master {} leads", options_.id);
    announced_masters_.clear();
    session_ = std::make_unique<LeaderSession>(options_, *ns_, registry_, now);
    session_->publish(ClusterEvent{"leader.elected", options_.id, "", 0, 0});
    next_keys_publish_ = now;  // workers hear the keyring from the new leader at once
    return;
  }
  if (leader || !session_) return;
  spdlog::info("master {} no longer leads{}", options_.id,
               leader_api.empty() ? "" : " (the leader is " + leader_api + ")");
  session_.reset();
  key_change_index_ = 0;
  // Whatever waited here may or may not commit under the new leader; the
  // client retries there and exactly-once gives it the one true outcome.
  for (const auto& w : pending_.take_all()) {
    reply_not_leader(
        Held{w.routing_id, Header{MsgType::kErrorReply, w.request_id}, "", w.since, {}});
  }
  for (auto& [context, held] : reads_) reply_not_leader(held);
  reads_.clear();
  for (const auto& held : parked_) reply_not_leader(held);
  parked_.clear();
}

void MasterService::on_heartbeat(const Heartbeat& hb, Clock::time_point now) {
  std::string change = registry_.on_heartbeat(hb, now);
  if (!session_) return;
  if (!change.empty()) {
    spdlog::info("worker {} is live at {}", hb.worker_id, hb.endpoint);
    session_->publish(ClusterEvent{change, hb.worker_id, hb.endpoint, 0, 0});
    session_->on_worker_live(hb.worker_id);
  }
  for (const auto& cmd : session_->on_heartbeat(hb, now)) propose_own(cmd);
  if (!parked_.empty()) retry_parked(now);
  // A worker behind on the keyring (restarted, or it missed a publication)
  // is sent it again, at most once a second.
  if (hb.keys_version < ns_->log_keys().version && now >= next_keys_resend_) {
    session_->publish_keys(ns_->log_keys());
    next_keys_resend_ = now + std::chrono::seconds(1);
  }
}

void MasterService::on_chunk_report(const ChunkReport& report, Clock::time_point now) {
  if (!session_) return;
  for (const auto& cmd : session_->on_chunk_report(report, now)) propose_own(cmd);
}

void MasterService::on_copy_done(const ReplicateChunkDone& done, Clock::time_point now) {
  if (!session_) return;
  for (const auto& cmd : session_->on_copy_done(done, now)) propose_own(cmd);
}

void MasterService::tick(Clock::time_point now) {
  if (session_) {
    // Workers heartbeat the masters they know of: tell them of every member
    // (at once when the membership changed, else every few seconds), so a
    // master added at run time hears them before it may lead.
    std::string list;
    for (const auto& m : log_->members(now)) {
      if (m.api.empty()) continue;
      list += (list.empty() ? "" : ",") + (m.api.rfind("tcp://", 0) == 0 ? m.api.substr(6) : m.api);
    }
    if (!list.empty() && (list != announced_masters_ || now >= next_masters_event_)) {
      session_->publish(ClusterEvent{"masters", options_.id, list, 0, 0});
      announced_masters_ = list;
      next_masters_event_ = now + std::chrono::seconds(5);
    }
  }
  take_in_keys(now);
  if (session_) {
    for (const auto& cmd : session_->tick(now)) propose_own(cmd);
  } else {
    registry_.tick(now);  // keeps this master's view current for when it leads
  }
  if (!parked_.empty()) retry_parked(now);
  auto cutoff = now - options_.commit_timeout;
  for (const auto& w : pending_.take_older_than(cutoff)) {
    reply_error(Held{w.routing_id, Header{MsgType::kErrorReply, w.request_id}, "", w.since, {}},
                Status(Code::kTimeout, "not committed within " +
                                           std::to_string(options_.commit_timeout.count()) +
                                           " ms (it may still be; retry to learn the outcome)"));
  }
  for (auto it = reads_.begin(); it != reads_.end();) {
    if (it->second.since < cutoff) {
      reply_error(it->second, Status(Code::kTimeout, "the read was not confirmed in time; retry"));
      it = reads_.erase(it);
    } else {
      ++it;
    }
  }
}

std::vector<Envelope> MasterService::take_outbox() {
  return session_ ? session_->take_outbox() : std::vector<Envelope>{};
}

void MasterService::serve_read(const Held& request, Clock::time_point now) {
  Result<Envelope> out = protocol_error("not a read");
  switch (request.header.type) {
    case MsgType::kStatRequest:
      out = serve<StatRequest>(request.body,
                               [&](const StatRequest& r) { return stat(r, request.caller); });
      break;
    case MsgType::kListRequest:
      out = serve<ListRequest>(request.body,
                               [&](const ListRequest& r) { return list(r, request.caller); });
      break;
    case MsgType::kFsckRequest:
      out = serve<FsckRequest>(request.body, [&](const FsckRequest& r) { return fsck(r); });
      break;
    case MsgType::kClusterStatusRequest:
      out = serve<ClusterStatusRequest>(request.body, [&](const ClusterStatusRequest&) {
        return Result<ClusterStatusReply>(cluster_status(now));
      });
      break;
    case MsgType::kKeysRequest:
      out = serve<KeysRequest>(request.body, [&](const KeysRequest&) { return keys(); });
      break;
    case MsgType::kUploadsRequest:
      out = serve<UploadsRequest>(request.body, [&](const UploadsRequest& r) {
        return ns_->list_uploads(request.caller, r);
      });
      break;
    case MsgType::kMembersRequest:
      out = serve<MembersRequest>(request.body, [&](const MembersRequest&) {
        MembersReply rep;
        ClusterStatusReply st;
        if (log_status_) log_status_(&st);
        rep.term = st.term;
        rep.commit_index = st.commit_index;
        rep.applied_index = ns_->applied_index();
        rep.members = log_->members(now);
        rep.self = log_->id();
        return Result<MembersReply>(std::move(rep));
      });
      break;
    default:
      break;
  }
  if (!out.is_ok()) {
    reply_error(request, out.status());
  } else {
    reply(request, std::move(out).value());
  }
}

Result<StatReply> MasterService::stat(const StatRequest& req, const Caller& who) {
  auto inode = ns_->accessible(who, req.path, req.read ? kMayRead : 0);
  if (!inode.is_ok()) return inode.status();
  StatReply rep;
  rep.entry = Namespace::entry_info(req.path == "/" ? "/" : base_name(req.path), inode.value());
  // Where a file's data is only for those who may read it.
  if (!may(who, inode->ownership(), kMayRead)) inode->chunks.clear();
  ns_->fill_corrupt(&inode.value());
  if (options_.tickets) {
    for (const auto& c : inode->chunks) rep.tickets.push_back(ticket(c.id, who.user, "read"));
  }
  rep.chunks = std::move(inode->chunks);
  std::map<std::string, WorkerAddr> where;
  for (const auto& c : rep.chunks) {
    for (const auto& w : c.replicas) {
      if (where.count(w)) continue;
      auto addr = registry_.address(w);
      if (!addr) addr = ns_->worker(w);
      if (addr) where[w] = WorkerAddr{w, addr->endpoint, "", addr->key};
      if (!registry_.is_heard(w)) rep.down.push_back(w);
    }
  }
  for (auto& [id, addr] : where) rep.workers.push_back(std::move(addr));
  return rep;
}

ChunkTicket MasterService::ticket(const std::string& chunk_id, const std::string& user,
                                  const char* op) const {
  return options_.tickets->issue(chunk_id, user, op, wall_clock_ms());
}

Result<ListReply> MasterService::list(const ListRequest& req, const Caller& who) {
  DFS_RETURN_IF_ERROR(ns_->accessible(who, req.path, kMayRead).status());
  ListReply rep;
  auto entries = ns_->list(req.path, req.prefix, req.start_after, req.limit, &rep.more);
  if (!entries.is_ok()) return entries.status();
  rep.entries = std::move(entries).value();
  return rep;
}

Result<FsckReply> MasterService::fsck(const FsckRequest& req) {
  FsckReply rep;
  Status walked = ns_->for_each_file(req.path, [&](const std::string& path, const Inode& file) {
    ++rep.files;
    Inode checked = file;
    ns_->fill_corrupt(&checked);
    for (auto& c : checked.chunks) {
      ++rep.chunks;
      FsckProblem p;
      for (const auto& w : c.replicas) {
        bool corrupt = std::find(c.corrupt.begin(), c.corrupt.end(), w) != c.corrupt.end();
        if (corrupt) continue;
        (registry_.is_heard(w) ? p.good : p.down).push_back(w);
      }
      if (p.good.size() >= file.replication) continue;
      ++rep.under_replicated;
      if (p.good.empty()) ++rep.lost;
      if (rep.problems.size() < kMaxFsckProblems) {
        p.path = path;
        p.replication = file.replication;
        p.chunk = std::move(c);
        rep.problems.push_back(std::move(p));
      }
    }
    return true;
  });
  if (!walked.is_ok()) return walked;
  return rep;
}

ClusterStatusReply MasterService::cluster_status(Clock::time_point now) {
  ClusterStatusReply rep;
  rep.master_id = options_.id;
  rep.role = session_ ? "leader" : "follower";
  rep.leader = leader_api_;
  rep.applied_index = ns_->applied_index();
  if (log_status_) log_status_(&rep);
  rep.workers = registry_.snapshot(now);
  for (auto& w : rep.workers) {
    w.draining = ns_->is_draining(w.id);
    if (session_) w.recorded_chunks = session_->recorded_chunks(w.id);
  }
  rep.files = ns_->file_count();
  rep.directories = ns_->directory_count();
  rep.garbage_chunks = ns_->garbage_count();
  if (session_) {
    rep.repair = session_->repair_status();
    rep.event_epoch = session_->event_epoch();
    rep.event_sequence = session_->event_sequence();
  }
  return rep;
}

}  // namespace dfs
