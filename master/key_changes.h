// What `dfs admin keys add|revoke` becomes in the log, decided by the leader
// against the keyring in force. Pure: the caller passes the keyring and the
// group's members.
#pragma once

#include <set>
#include <string>

#include "bus/keyring.h"
#include "codec/commands.h"
#include "codec/messages.h"

namespace dfs {

// A KeyAddCmd or KeyRevokeCmd, or why not:
// - add: the line must parse, and its key must not be in force already;
// - revoke: the key must be in force; the last admin key, and the key of a
//   master that is a member of the group, may not be revoked (the one locks
//   every operator out, the other cuts the group apart: remove the master
//   from the group first);
// - ticket keys are not changed this way: they go with the masters'
//   --ticket-key files, and adding or revoking one alone would make workers
//   demand tickets nobody signs, or stop checking them.
// `file` is the leader's keyring file; `members` are the group's masters by
// keyring name (m<id>).
Result<Command> plan_key_change(const KeyChangeRequest& req, const Keyring& in_force,
                                const Keyring& file, const std::set<std::string>& members,
                                int64_t time_ms);

}  // namespace dfs
