#include "master/pending_requests.h"

namespace dfs {

std::optional<PendingRequests::Waiter> PendingRequests::add(LogPosition pos, Waiter waiter) {
  waiter.term = pos.term;
  std::optional<Waiter> displaced;
  auto [it, inserted] = by_index_.try_emplace(pos.index, waiter);
  if (!inserted) {
    displaced = std::move(it->second);
    it->second = std::move(waiter);
  }
  return displaced;
}

std::optional<PendingRequests::Waiter> PendingRequests::take(uint64_t index, uint64_t term,
                                                             std::vector<Waiter>* lost) {
  std::optional<Waiter> out;
  // Entries apply in order, so anything still waiting below `index` was
  // overwritten by another leader's entries.
  while (!by_index_.empty() && by_index_.begin()->first <= index) {
    auto node = by_index_.extract(by_index_.begin());
    if (node.key() == index && node.mapped().term == term) {
      out = std::move(node.mapped());
    } else {
      lost->push_back(std::move(node.mapped()));
    }
  }
  return out;
}

std::vector<PendingRequests::Waiter> PendingRequests::take_all() {
  std::vector<Waiter> out;
  for (auto& [index, w] : by_index_) out.push_back(std::move(w));
  by_index_.clear();
  return out;
}

std::vector<PendingRequests::Waiter> PendingRequests::take_older_than(Clock::time_point cutoff) {
  std::vector<Waiter> out;
  for (auto it = by_index_.begin(); it != by_index_.end();) {
    if (it->second.since < cutoff) {
      out.push_back(std::move(it->second));
      it = by_index_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

}  // namespace dfs
