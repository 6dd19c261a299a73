// What the mount knows of paths it looked at lately: a directory listing
// fills it, so `ls -l` of a big directory asks the masters once, not once
// per name. Entries live for a short, fixed time (--attr-ttl-ms) and the
// cache holds a bounded number of them; a change made through this mount
// drops what it makes stale. Changes made elsewhere show after the TTL.
//
// A pure core: time is passed in, so tests drive it.
#pragma once

#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "codec/messages.h"

namespace dfs {

class MetaCache {
 public:
  MetaCache(int64_t ttl_ms, size_t capacity) : ttl_ms_(ttl_ms), capacity_(capacity) {}

  // A path's entry, or a remembered absence ("no such file"); nullopt if
  // unknown or expired.
  struct Hit {
    bool exists = false;
    EntryInfo entry;
  };
  std::optional<Hit> find(const std::string& path, int64_t now_ms);

  void put(const std::string& path, const EntryInfo& entry, int64_t now_ms);
  void put_missing(const std::string& path, int64_t now_ms);
  // Forgets `path`, and with `subtree` every path under it (a rename or a
  // removal of a directory).
  void forget(const std::string& path, bool subtree = false);
  size_t size() const;

 private:
  struct Slot {
    Hit hit;
    int64_t expires_ms = 0;
    std::list<std::string>::iterator age;  // in order_, oldest first
  };
  void store(const std::string& path, Hit hit, int64_t now_ms);
  void erase(std::unordered_map<std::string, Slot>::iterator it);

  const int64_t ttl_ms_;
  const size_t capacity_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Slot> slots_;
  std::list<std::string> order_;  // by insertion: the oldest is dropped first
};

}  // namespace dfs
