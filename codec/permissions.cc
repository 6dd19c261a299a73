#include "codec/permissions.h"

#include <algorithm>

namespace dfs {
namespace {

std::string access_words(uint8_t want) {
  std::string out;
  auto add = [&](uint8_t bit, const char* word) {
    if (!(want & bit)) return;
    if (!out.empty()) out += " and ";
    out += word;
  };
  add(kMayRead, "read");
  add(kMayWrite, "write");
  add(kMaySearch, "search");
  return out;
}

std::string octal(uint32_t mode) {
  std::string out = "0000";
  for (int i = 3; i >= 1; --i) {
    out[i] = static_cast<char>('0' + (mode & 7));
    mode >>= 3;
  }
  return out;
}

}  // namespace

Status Caller::validate() const {
  if (!is_user_name(user)) return invalid_argument("caller: not a user name");
  if (groups.size() > 64) return invalid_argument("caller: more than 64 groups");
  for (const auto& g : groups) {
    if (!is_user_name(g)) return invalid_argument("caller: not a group name");
  }
  return Status::ok();
}

bool Caller::in_group(std::string_view group) const {
  return std::find(groups.begin(), groups.end(), group) != groups.end();
}

Caller user_caller(std::string user, std::vector<std::string> groups) {
  Caller c;
  c.user = std::move(user);
  c.groups = std::move(groups);
  c.superuser = false;
  return c;
}

// The rwx triple that applies to `caller` on the entry.
uint32_t granted_to(const Caller& caller, const Ownership& entry) {
  uint32_t mode = entry.effective_mode();
  if (caller.user == entry.effective_owner()) return (mode >> 6) & 7;
  if (caller.in_group(entry.effective_group())) return (mode >> 3) & 7;
  return mode & 7;
}

bool may(const Caller& caller, const Ownership& entry, uint8_t want) {
  if (caller.superuser) return true;
  return (granted_to(caller, entry) & want) == want;
}

Status permission_denied(const Caller& caller, const Ownership& entry, uint8_t want,
                         std::string_view path) {
  // Named: only what is missing, not all that was wanted.
  uint8_t missing = want & ~granted_to(caller, entry);
  if (missing == 0) missing = want;
  return Status(Code::kPermissionDenied, "permission denied: " + caller.user + " may not " +
                                             access_words(missing) + " " + std::string(path) +
                                             " (" + mode_text(entry.dir, entry.effective_mode()) +
                                             " " + std::string(entry.effective_owner()) + " " +
                                             std::string(entry.effective_group()) + ")");
}

uint32_t mode_for_new(bool dir, uint32_t umask) {
  return (dir ? 0777u : 0666u) & ~umask & kPermissionBits;
}

std::string mode_text(bool dir, uint32_t mode) {
  std::string out = dir ? "d" : "-";
  const char* letters = "rwx";
  for (int shift = 6; shift >= 0; shift -= 3) {
    for (int bit = 0; bit < 3; ++bit) {
      out += (mode >> (shift + 2 - bit)) & 1 ? letters[bit] : '-';
    }
  }
  return out;
}

Result<uint32_t> parse_mode(std::string_view text) {
  if (text.empty() || text.size() > 4) {
    return invalid_argument("mode '" + std::string(text) + "' is not 3 or 4 octal digits");
  }
  uint32_t mode = 0;
  for (char c : text) {
    if (c < '0' || c > '7') {
      return invalid_argument("mode '" + std::string(text) + "' is not octal (digits 0-7)");
    }
    mode = mode * 8 + static_cast<uint32_t>(c - '0');
  }
  if (mode & ~kPermissionBits) {
    return invalid_argument("mode " + octal(mode) +
                            ": only the permission bits (0777) are supported");
  }
  return mode;
}

bool is_user_name(std::string_view name) {
  auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (name.empty() || name.size() > 32 || !lower_or_digit(name[0])) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return lower_or_digit(c) || c == '.' || c == '_' || c == '-'; });
}

}  // namespace dfs
