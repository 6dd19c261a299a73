#include "bus/connection_table.h"

#include <sys/socket.h>

namespace dfs {
namespace {

// The far end of socket `fd` as bytes to compare, or "" when `fd` is not a
// connected socket.
std::string peer_of(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  if (fd < 0 || ::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return "";
  return std::string(reinterpret_cast<const char*>(&addr), len);
}

}  // namespace

void ConnectionTable::record(int fd, const std::string& key) {
  if (fd < 0 || key.empty()) return;
  std::string peer = peer_of(fd);
  if (peer.empty()) return;
  std::lock_guard lock(mu_);
  auto [it, added] = by_fd_.try_emplace(fd);
  if (!added && it->second.key == key && it->second.peer == peer) return;  // as it was
  it->second = Connection{key, std::move(peer)};
}

size_t ConnectionTable::cut(const std::set<std::string>& keys) {
  size_t n = 0;
  std::lock_guard lock(mu_);
  for (auto it = by_fd_.begin(); it != by_fd_.end();) {
    if (!keys.count(it->second.key)) {
      ++it;
      continue;
    }
    // A descriptor reused since for another connection is left alone.
    if (peer_of(it->first) == it->second.peer) {
      ::shutdown(it->first, SHUT_RDWR);
      ++n;
    }
    it = by_fd_.erase(it);
  }
  return n;
}

bool ConnectionTable::cut_one(int fd, const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = by_fd_.find(fd);
  if (it == by_fd_.end() || it->second.key != key) return false;
  bool same = peer_of(fd) == it->second.peer;
  if (same) ::shutdown(fd, SHUT_RDWR);
  by_fd_.erase(it);
  return same;
}

}  // namespace dfs
