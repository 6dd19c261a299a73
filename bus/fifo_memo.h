// A bounded map that forgets its oldest entries first: for remembering work
// already done (a verified signature, a signed ticket) without letting the
// memory grow with the traffic. Not thread-safe.
#pragma once

#include <cstddef>
#include <deque>
#include <unordered_map>
#include <utility>

namespace dfs {

template <typename Key, typename Value>
class FifoMemo {
 public:
  explicit FifoMemo(size_t capacity) : capacity_(capacity) {}

  const Value* find(const Key& key) const {
    auto it = map_.find(key);
    return it == map_.end() ? nullptr : &it->second;
  }

  // Adds or replaces; past the capacity, the oldest key added goes.
  void put(const Key& key, Value value) {
    auto [it, fresh] = map_.insert_or_assign(key, std::move(value));
    if (!fresh) return;
    order_.push_back(key);
    if (order_.size() > capacity_) {
      map_.erase(order_.front());
      order_.pop_front();
    }
  }

  void clear() {
    map_.clear();
    order_.clear();
  }
  size_t size() const { return map_.size(); }

 private:
  size_t capacity_;
  std::unordered_map<Key, Value> map_;
  std::deque<Key> order_;
};

}  // namespace dfs
