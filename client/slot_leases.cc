// SlotLeases: kept slots, and one lease fetched at a time per kind.
#include "client/slot_leases.h"

#include <algorithm>

namespace dfs {

uint64_t SlotLeases::slot_bytes_for(uint64_t size) {
  uint64_t bytes = kMinSlotBytes;
  while (bytes < size && bytes < kMaxSlotBytes) bytes <<= 1;
  return bytes;
}

bool SlotLeases::take_kept(const Kind& kind, Clock::time_point now, Slot* out) {
  std::erase_if(kept_, [&](const Kept& k) { return now - k.leased > kMaxAge; });
  auto it = std::find_if(kept_.begin(), kept_.end(), [&](const Kept& k) { return k.kind == kind; });
  if (it == kept_.end()) return false;
  *out = std::move(it->slot);
  kept_.erase(it);
  return true;
}

Result<SlotLeases::Slot> SlotLeases::take(const Kind& kind, const Fetch& fetch,
                                          Clock::time_point now, std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> lock(mu_);
  Slot slot;
  const auto give_up = Clock::now() + wait;
  for (;;) {
    if (take_kept(kind, now, &slot)) return slot;
    std::erase_if(refused_, [&](const Refused& r) { return now >= r.until; });
    for (const Refused& r : refused_) {
      if (r.kind == kind) return r.status;
    }
    if (std::find(fetching_.begin(), fetching_.end(), kind) == fetching_.end()) break;
    // Another thread is fetching this kind: its lease serves us too. If it
    // fails or is slow, this thread fetches its own.
    if (fetched_.wait_until(lock, give_up) == std::cv_status::timeout) break;
  }
  fetching_.push_back(kind);
  // Cleared however the fetch ends (it may throw), so no taker waits for it in vain.
  struct Fetching {
    SlotLeases* self;
    const Kind& kind;
    std::unique_lock<std::mutex>& lock;
    ~Fetching() {
      if (!lock.owns_lock()) lock.lock();
      auto& f = self->fetching_;
      f.erase(std::find(f.begin(), f.end(), kind));
      self->fetched_.notify_all();
    }
  } fetching{this, kind, lock};
  lock.unlock();
  auto lease = fetch(kind, kSlotsPerLease);
  lock.lock();
  if (!lease.is_ok()) {
    refused_.push_back(Refused{kind, now + kRefusedFor, lease.status()});
    return lease.status();
  }
  if (lease->slots.empty()) return Status(Code::kUnavailable, "a lease came back without slots");
  slot = Slot{lease->upload_id, std::move(lease->slots.front())};
  for (size_t i = 1; i < lease->slots.size(); ++i) {
    kept_.push_back(Kept{kind, now, Slot{lease->upload_id, std::move(lease->slots[i])}});
  }
  return slot;
}

void SlotLeases::forget_workers(const std::vector<WorkerAddr>& workers) {
  std::lock_guard<std::mutex> lock(mu_);
  std::erase_if(kept_, [&](const Kept& k) {
    return std::any_of(k.slot.chunk.pipeline.begin(), k.slot.chunk.pipeline.end(),
                       [&](const WorkerAddr& w) {
                         return std::any_of(workers.begin(), workers.end(),
                                            [&](const WorkerAddr& x) { return x.id == w.id; });
                       });
  });
}

void SlotLeases::forget_lease(const std::string& lease_id) {
  std::lock_guard<std::mutex> lock(mu_);
  std::erase_if(kept_, [&](const Kept& k) { return k.slot.lease_id == lease_id; });
}

size_t SlotLeases::kept() const {
  std::lock_guard<std::mutex> lock(mu_);
  return kept_.size();
}

}  // namespace dfs
