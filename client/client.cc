#include "client/client.h"

#include "bus/socket.h"
#include "codec/path.h"

namespace dfs {

Client::Client(ClientOptions options)
    : options_(std::move(options)),
      ctx_(process_context()),
      master_(ctx_, options_.masters, options_.timeout, options_.identity) {}

Client::~Client() = default;

Status about_path(const std::string& path, const Status& s) {
  if (s.is_ok() || s.message().find(path) != std::string::npos) return s;
  return Status(s.code(), path + ": " + s.message());
}

Status Client::mkdir(const std::string& path, bool parents) {
  auto r = master_.call<MkdirRequest, OkReply>(MkdirRequest{path, parents, {}, options_.umask});
  return about_path(path, r.status());
}

Result<StatReply> Client::stat(const std::string& path, bool for_read) {
  auto r = master_.call<StatRequest, StatReply>(StatRequest{path, options_.stale, for_read});
  if (!r.is_ok()) return about_path(path, r.status());
  return r;
}

Status Client::set_attr(const std::string& path, uint32_t mode, const std::string& owner,
                        const std::string& group) {
  auto r = master_.call<SetAttrRequest, OkReply>(SetAttrRequest{path, mode, owner, group, {}});
  return about_path(path, r.status());
}

Result<std::vector<EntryInfo>> Client::list(const std::string& dir, const std::string& prefix) {
  std::vector<EntryInfo> out;
  ListRequest req{dir, prefix, "", 1000, options_.stale};
  while (true) {
    auto page = master_.call<ListRequest, ListReply>(req);
    if (!page.is_ok()) return about_path(dir, page.status());
    for (auto& e : page->entries) out.push_back(std::move(e));
    if (!page->more || out.empty()) break;
    req.start_after = out.back().name;
  }
  return out;
}

Status Client::remove(const std::string& path, bool recursive) {
  auto r = master_.call<DeleteRequest, OkReply>(DeleteRequest{path, recursive, {}});
  return about_path(path, r.status());
}

Status Client::create_file(const std::string& path, bool overwrite) {
  auto r = master_.call<CreateFileRequest, OkReply>(
      CreateFileRequest{path, 0, 0, overwrite, {}, options_.umask});
  return about_path(path, r.status());
}

Status Client::rename(const std::string& src, const std::string& dst, bool replace) {
  auto r = master_.call<RenameRequest, OkReply>(RenameRequest{src, dst, {}, replace});
  return about_path(src, r.status());
}

Result<ClusterStatusReply> Client::cluster_status() {
  return master_.call<ClusterStatusRequest, ClusterStatusReply>(
      ClusterStatusRequest{0, options_.stale});
}

Result<MembersReply> Client::members() {
  return master_.call<MembersRequest, MembersReply>(MembersRequest{0, options_.stale});
}

Result<MemberChangeReply> Client::change_member(const std::string& op, uint64_t id,
                                                const std::string& endpoint) {
  return master_.call<MemberChangeRequest, MemberChangeReply>(
      MemberChangeRequest{op, id, endpoint, {}});
}

Status Client::drain_worker(const std::string& id, bool draining) {
  auto r = master_.call<WorkerDrainRequest, OkReply>(WorkerDrainRequest{id, draining, {}});
  return r.is_ok() ? Status::ok() : r.status();
}

Result<KeysReply> Client::keys() {
  return master_.call<KeysRequest, KeysReply>(KeysRequest{options_.stale});
}

Status Client::add_key(const std::string& line) {
  auto r = master_.call<KeyChangeRequest, OkReply>(KeyChangeRequest{"add", line, "", {}});
  return r.is_ok() ? Status::ok() : r.status();
}

Status Client::revoke_key(const std::string& key) {
  auto r = master_.call<KeyChangeRequest, OkReply>(KeyChangeRequest{"revoke", "", key, {}});
  return r.is_ok() ? Status::ok() : r.status();
}

Result<FsckReply> Client::fsck(const std::string& path) {
  auto r = master_.call<FsckRequest, FsckReply>(FsckRequest{path, options_.stale});
  if (!r.is_ok()) return about_path(path, r.status());
  return r;
}

}  // namespace dfs
