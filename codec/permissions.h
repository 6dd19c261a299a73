// Users, groups and POSIX permission bits: who a request comes from (Caller)
// and whether a mode lets them read, write or search an entry (may). Pure:
// the namespace applies it to its inodes, the CLI prints modes with it.
//
// A caller's identity is never taken from what a request says: the master
// derives it from the key the request arrived with (bus/security.h) and
// writes it into the log entry, so every replica decides the same.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "codec/map_fields.h"
#include "codec/status.h"

namespace dfs {

// The superuser's name: owner of what existed before files had owners, and
// of the root directory until it is given away.
inline constexpr std::string_view kSuperuser = "admin";

// What an operation needs of one entry, as in a mode's rwx triples.
inline constexpr uint8_t kMayRead = 4;
inline constexpr uint8_t kMayWrite = 2;
inline constexpr uint8_t kMaySearch = 1;  // x: pass through a directory

inline constexpr uint32_t kPermissionBits = 0777;
inline constexpr uint32_t kDefaultUmask = 022;
// An entry stored before modes existed: it reads as its kind's default.
inline constexpr uint32_t kModeUnset = 0xffffffffu;

struct Caller {
  std::string user{kSuperuser};
  std::vector<std::string> groups;
  // Every check passes. The default: commands the leader makes itself, and
  // log entries written before callers were recorded.
  bool superuser = true;
  DFS_MSGPACK_MAP(user, groups, superuser);
  Status validate() const;
  bool in_group(std::string_view group) const;
};

// The caller with no privilege named `user` in `groups`.
Caller user_caller(std::string user, std::vector<std::string> groups);

// An entry's owner, group and mode as stored ("" and kModeUnset: not set).
struct Ownership {
  std::string_view owner;
  std::string_view group;
  uint32_t mode = kModeUnset;
  bool dir = false;
  std::string_view effective_owner() const { return owner.empty() ? kSuperuser : owner; }
  std::string_view effective_group() const { return group.empty() ? kSuperuser : group; }
  uint32_t effective_mode() const {
    if (mode != kModeUnset) return mode & kPermissionBits;
    return dir ? 0755 : 0644;
  }
};

// Whether `caller` has every access in `want` (kMay* bits) on the entry:
// the owner's triple if they own it, else the group's if they are in its
// group, else the others'. The superuser may do anything.
bool may(const Caller& caller, const Ownership& entry, uint8_t want);

// The error for a refused access to `path`, saying who wanted what and why not.
Status permission_denied(const Caller& caller, const Ownership& entry, uint8_t want,
                         std::string_view path);

// The mode of a new entry made under `umask`: 0777 or 0666 without its bits.
uint32_t mode_for_new(bool dir, uint32_t umask);

// "drwxr-x---" as ls -l prints it.
std::string mode_text(bool dir, uint32_t mode);

// Parses an octal mode ("750", "0640"): permission bits only.
Result<uint32_t> parse_mode(std::string_view text);

// A user or group name, as the keyring and chown take it: 1-32 of
// [a-z0-9_.-], starting with a letter or digit.
bool is_user_name(std::string_view name);

}  // namespace dfs
