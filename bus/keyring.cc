#include "bus/keyring.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "bus/curve_keys.h"
#include "codec/permissions.h"

namespace dfs {
namespace {

std::string normal_endpoint(const std::string& text) {
  auto hp = parse_endpoint(text);
  return hp.is_ok() ? hp->host + ":" + std::to_string(hp->port) : "";
}

}  // namespace

std::string_view role_name(Role role) {
  switch (role) {
    case Role::kMaster:
      return "master";
    case Role::kWorker:
      return "worker";
    case Role::kClient:
      return "client";
    case Role::kAdmin:
      return "admin";
    case Role::kTicket:
      return "ticket";
  }
  return "unknown";
}

Result<Role> parse_role(std::string_view text) {
  for (Role r : {Role::kMaster, Role::kWorker, Role::kClient, Role::kAdmin, Role::kTicket}) {
    if (role_name(r) == text) return r;
  }
  return invalid_argument("unknown role '" + std::string(text) +
                          "' (master, worker, client, admin or ticket)");
}

bool is_key_name(std::string_view s) { return is_user_name(s); }

std::string KeyEntry::to_line() const {
  std::string line = std::string(role_name(role)) + " " + name + " " + key;
  if (!groups.empty()) {
    line += " groups=";
    for (size_t i = 0; i < groups.size(); ++i) line += (i ? "," : "") + groups[i];
  }
  if (!endpoint.empty()) line += " endpoint=" + endpoint;
  return line;
}

Result<Keyring> Keyring::parse(std::string_view text, const std::string& origin) {
  Keyring ring;
  std::istringstream in{std::string(text)};
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    std::string where = origin + ":" + std::to_string(line_no) + ": ";
    // Comments are whole lines: Z85 keys may contain '#'.
    size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string word; words >> word;) w.push_back(word);
    if (w.empty()) continue;
    if (w.size() < 3) return invalid_argument(where + "expected ROLE NAME PUBLIC-KEY [...]");
    KeyEntry e;
    auto role = parse_role(w[0]);
    if (!role.is_ok()) return invalid_argument(where + role.status().message());
    e.role = role.value();
    if (!is_key_name(w[1])) return invalid_argument(where + "'" + w[1] + "' is not a valid name");
    e.name = w[1];
    if (!is_z85_key(w[2])) return invalid_argument(where + "the key is not 40 characters of Z85");
    e.key = w[2];
    for (size_t i = 3; i < w.size(); ++i) {
      if (w[i].rfind("groups=", 0) == 0) {
        std::istringstream g(w[i].substr(7));
        for (std::string group; std::getline(g, group, ',');) {
          if (!is_key_name(group))
            return invalid_argument(where + "bad group name '" + group + "'");
          e.groups.push_back(group);
        }
      } else if (w[i].rfind("endpoint=", 0) == 0) {
        e.endpoint = normal_endpoint(w[i].substr(9));
        if (e.endpoint.empty()) return invalid_argument(where + "bad endpoint '" + w[i] + "'");
      } else {
        return invalid_argument(where + "unknown attribute '" + w[i] + "'");
      }
    }
    // Entries stored before owners existed, and the root, are admin's: a key
    // of another role may not pass for admin by name or group.
    if (e.role != Role::kAdmin && (e.name == "admin" || std::find(e.groups.begin(), e.groups.end(),
                                                                  "admin") != e.groups.end())) {
      return invalid_argument(where + "the name and group 'admin' are for admin keys only");
    }
    if (e.groups.size() > 64) return invalid_argument(where + "more than 64 groups");
    if (e.role == Role::kMaster && e.endpoint.empty()) {
      return invalid_argument(where + "a master's line needs endpoint=HOST:PORT (its api)");
    }
    Status s = ring.add(std::move(e));
    if (!s.is_ok()) return invalid_argument(where + s.message());
  }
  return ring;
}

Result<Keyring> Keyring::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return invalid_argument("cannot read keyring " + path);
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().size() > (64u << 20)) return invalid_argument("keyring " + path + " is too big");
  return parse(text.str(), path);
}

Status Keyring::add(KeyEntry entry) {
  if (by_key_.count(entry.key)) {
    return invalid_argument("key " + entry.key.substr(0, 8) + "... is listed already");
  }
  by_key_[entry.key] = entries_.size();
  entries_.push_back(std::move(entry));
  return Status::ok();
}

bool Keyring::remove(const std::string& key) {
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return false;
  entries_.erase(entries_.begin() + static_cast<ptrdiff_t>(it->second));
  by_key_.clear();
  for (size_t i = 0; i < entries_.size(); ++i) by_key_[entries_[i].key] = i;
  return true;
}

const KeyEntry* Keyring::find(const std::string& key) const {
  auto it = by_key_.find(key);
  return it == by_key_.end() ? nullptr : &entries_[it->second];
}

const KeyEntry* Keyring::master_at(const std::string& endpoint) const {
  std::string want = normal_endpoint(endpoint);
  for (const auto& e : entries_) {
    if (e.role == Role::kMaster && e.endpoint == want) return &e;
  }
  return nullptr;
}

std::string Keyring::to_text() const {
  std::string out = "# ROLE NAME PUBLIC-KEY [groups=...] [endpoint=HOST:PORT]\n";
  for (const auto& e : entries_) out += e.to_line() + "\n";
  return out;
}

Result<KeyEntry> parse_key_line(std::string_view line) {
  auto ring = Keyring::parse(line, "keyring line");
  if (!ring.is_ok()) return ring.status();
  if (ring->entries().size() != 1) {
    return invalid_argument("expected one line: ROLE NAME PUBLIC-KEY [groups=..] [endpoint=..]");
  }
  return ring->entries().front();
}

Keyring effective_keyring(const Keyring& file, const KeyringUpdate& log,
                          std::vector<std::string>* skipped) {
  std::set<std::string> revoked(log.revoked.begin(), log.revoked.end());
  Keyring out;
  for (const auto& e : file.entries()) {
    if (!revoked.count(e.key)) (void)out.add(e);
  }
  for (const auto& line : log.added) {
    auto e = parse_key_line(line);
    Status s = e.status();
    if (s.is_ok() && revoked.count(e->key)) continue;
    if (const KeyEntry* had = s.is_ok() ? file.find(e->key) : nullptr) {
      // A file key revoked and admitted again: the same line, nothing to say.
      if (had->to_line() == e->to_line()) continue;
      s = invalid_argument("the keyring file lists its key, as " +
                           std::string(role_name(had->role)) + " " + had->name);
    }
    if (s.is_ok()) s = out.add(std::move(e).value());
    if (!s.is_ok() && skipped) skipped->push_back("'" + line + "': " + s.message());
  }
  return out;
}

}  // namespace dfs
