// The cluster's allow-list: which CURVE public keys may connect, and as what.
// A text file, one key per line (blank lines and lines starting with '#'
// ignored; a key itself may contain '#'):
//   ROLE NAME PUBLIC-KEY [groups=G1,G2] [endpoint=HOST:PORT]
// ROLE is master, worker, client, admin or ticket. NAME is the worker id for a
// worker, the user name for a client or admin, m<node id> for a master; a
// master also names its api endpoint, which is how processes that know a
// master only by address find the key it must present. One name may have
// several keys (a user's laptop and server); a key appears once.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bus/endpoints.h"
#include "codec/messages.h"
#include "codec/status.h"

namespace dfs {

// kTicket: not a connection key but the public half of a key masters sign
// chunk tickets with (bus/chunk_ticket.h); it may connect nowhere.
enum class Role : uint8_t { kMaster, kWorker, kClient, kAdmin, kTicket };

std::string_view role_name(Role role);
Result<Role> parse_role(std::string_view text);

struct KeyEntry {
  Role role = Role::kClient;
  std::string name;
  std::string key;  // Z85 public key
  std::vector<std::string> groups;
  std::string endpoint;  // masters: the api endpoint, "host:port"

  // One line of the file format.
  std::string to_line() const;
};

// 1-32 of [a-z0-9_.-], starting with a letter or digit: a user name
// (codec/permissions.h), as files are owned by the names keys carry.
bool is_key_name(std::string_view s);

class Keyring {
 public:
  Keyring() = default;
  // `origin` names the source in error messages ("FILE:LINE: ...").
  static Result<Keyring> parse(std::string_view text, const std::string& origin);
  static Result<Keyring> load(const std::string& path);

  // kInvalidArgument when the key is there already.
  Status add(KeyEntry entry);
  // Whether the key was there.
  bool remove(const std::string& key);

  const KeyEntry* find(const std::string& key) const;
  // The key a master at `endpoint` (host:port or tcp://host:port) presents.
  const KeyEntry* master_at(const std::string& endpoint) const;
  const std::vector<KeyEntry>& entries() const { return entries_; }
  std::string to_text() const;

 private:
  std::vector<KeyEntry> entries_;
  std::map<std::string, size_t> by_key_;
};

// One keyring line (a comment or blank line is an error here).
Result<KeyEntry> parse_key_line(std::string_view line);

// The keyring in force: the file's keys less those the log revoked, plus the
// keys the log added. The file is the bootstrap (masters must know each
// other before the log can commit anything); the log is how keys change
// without editing every node's file. A log line whose key the file lists
// already is skipped (the file's line stands), as is one that does not
// parse; each skip is described in `skipped`, if given.
Keyring effective_keyring(const Keyring& file, const KeyringUpdate& log,
                          std::vector<std::string>* skipped = nullptr);

}  // namespace dfs
