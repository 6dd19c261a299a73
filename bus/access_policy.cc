#include "bus/access_policy.h"

#include <array>

namespace dfs {
namespace {

constexpr std::array<std::pair<Domain, std::string_view>, 6> kDomains = {{
    {Domain::kMasterApi, "master.api"},
    {Domain::kMasterPeer, "master.peer"},
    {Domain::kMasterEvents, "master.events"},
    {Domain::kMasterJobs, "master.jobs"},
    {Domain::kWorkerData, "worker.data"},
    {Domain::kWorkerPipeline, "worker.pipeline"},
}};

// Requests that change the cluster rather than files: admin only.
bool admin_only(MsgType type) {
  // fsck walks any tree and names where every chunk is: an operator's tool.
  // The keyring, even read, is who may reach the cluster and as what.
  return type == MsgType::kMemberChangeRequest || type == MsgType::kWorkerDrainRequest ||
         type == MsgType::kFsckRequest || type == MsgType::kKeyChangeRequest ||
         type == MsgType::kKeysRequest;
}

}  // namespace

std::string_view domain_name(Domain domain) {
  for (const auto& [d, name] : kDomains) {
    if (d == domain) return name;
  }
  return "unknown";
}

std::optional<Domain> parse_domain(std::string_view text) {
  for (const auto& [d, name] : kDomains) {
    if (name == text) return d;
  }
  return std::nullopt;
}

bool may_connect(Role role, Domain domain) {
  switch (domain) {
    case Domain::kMasterApi:
      return role == Role::kClient || role == Role::kAdmin || role == Role::kMaster;
    case Domain::kMasterPeer:
      return role == Role::kMaster;
    case Domain::kMasterEvents:
      return role == Role::kWorker;
    case Domain::kMasterJobs:
      return role == Role::kWorker || role == Role::kAdmin;
    case Domain::kWorkerData:
      return role == Role::kClient || role == Role::kAdmin || role == Role::kWorker;
    case Domain::kWorkerPipeline:
      return role == Role::kWorker;
  }
  return false;
}

Status may_send(const KeyEntry& sender, Domain domain, MsgType type) {
  auto refuse = [&] {
    return Status(Code::kPermissionDenied, std::string(role_name(sender.role)) + " " + sender.name +
                                               " may not send " + std::string(msg_type_name(type)) +
                                               " to " + std::string(domain_name(domain)));
  };
  if (!may_connect(sender.role, domain)) return refuse();
  switch (domain) {
    case Domain::kMasterApi:
      if (admin_only(type) && sender.role != Role::kAdmin) return refuse();
      return Status::ok();
    case Domain::kMasterEvents:
      if (type != MsgType::kHeartbeat && type != MsgType::kChunkReport &&
          type != MsgType::kReplicateChunkDone) {
        return refuse();
      }
      return Status::ok();
    case Domain::kWorkerPipeline:
      if (type != MsgType::kReplicaFrame && type != MsgType::kReplicaAck &&
          type != MsgType::kReplicaAbort && type != MsgType::kBulkSessionRequest &&
          type != MsgType::kBulkSessionReply) {
        return refuse();
      }
      return Status::ok();
    case Domain::kWorkerData:
      if (type != MsgType::kWriteChunkFrame && type != MsgType::kReadChunkRequest &&
          type != MsgType::kBulkSessionRequest) {
        return refuse();
      }
      return Status::ok();
    case Domain::kMasterPeer:
    case Domain::kMasterJobs:
      return Status::ok();
  }
  return refuse();
}

}  // namespace dfs
