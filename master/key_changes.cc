#include "master/key_changes.h"

#include <algorithm>

namespace dfs {

namespace {
Status refuse_ticket_key() {
  return invalid_argument(
      "ticket keys change with the masters' --ticket-key files, not through the log: list the "
      "public key in every keyring file and restart the masters with the secret one");
}
}  // namespace

Result<Command> plan_key_change(const KeyChangeRequest& req, const Keyring& in_force,
                                const Keyring& file, const std::set<std::string>& members,
                                int64_t time_ms) {
  if (req.op == "add") {
    auto entry = parse_key_line(req.line);
    if (!entry.is_ok()) return entry.status();
    if (entry->role == Role::kTicket) return refuse_ticket_key();
    if (const KeyEntry* had = in_force.find(entry->key)) {
      return Status(Code::kAlreadyExists, "the key is in the keyring already, as " +
                                              std::string(role_name(had->role)) + " " + had->name);
    }
    return make_command(KeyAddCmd{entry->to_line()}, time_ms, req.session);
  }
  if (req.op != "revoke")
    return invalid_argument("key change '" + req.op + "' is not add or revoke");
  const KeyEntry* e = in_force.find(req.key);
  if (!e) return not_found("key " + req.key + " is not in the keyring");
  if (e->role == Role::kTicket) return refuse_ticket_key();
  if (e->role == Role::kAdmin) {
    size_t admins = std::count_if(in_force.entries().begin(), in_force.entries().end(),
                                  [](const KeyEntry& k) { return k.role == Role::kAdmin; });
    if (admins == 1) {
      return invalid_argument("that is the last admin key: add another before revoking it");
    }
  }
  if (e->role == Role::kMaster && members.count(e->name)) {
    return invalid_argument("master " + e->name.substr(1) +
                            " is a member of the group and uses that key: remove it from the "
                            "group first (dfs admin members remove " +
                            e->name.substr(1) + ")");
  }
  return make_command(KeyRevokeCmd{req.key, file.find(req.key) != nullptr}, time_ms, req.session);
}

}  // namespace dfs
