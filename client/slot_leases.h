// Chunk slots leased ahead for small files (CreateUploadRequest.slots).
//
// A file of one small chunk takes a slot, writes its chunk down the slot's
// pipeline and commits at its path in one request: one round trip to the
// masters and one log entry per file, not two of each, plus one entry per
// lease of kSlotsPerLease files. The slots are kept per process and
// identity (a TransferPool's) and shared by its threads; a slot unused for
// kMaxAge is dropped, and the masters collect it when its lease expires.
//
// The core is the bookkeeping: the lease itself is asked for through a
// function the caller gives, so the rules are tested without a cluster.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "codec/messages.h"

namespace dfs {

class SlotLeases {
 public:
  using Clock = std::chrono::steady_clock;
  // What a lease was asked for; only a slot of the same kind serves a file.
  struct Kind {
    uint64_t slot_bytes = 0;   // each slot's room (slot_bytes_for)
    uint64_t chunk_size = 0;   // as PutOptions: 0 is the cluster default
    uint32_t replication = 0;  // likewise
    uint32_t min_replication = 0;
    bool operator==(const Kind&) const = default;
  };
  struct Slot {
    std::string lease_id;
    AllocateChunkReply chunk;  // id, pipeline and write ticket
  };
  // Asks the masters for a lease of `count` slots of `kind`.
  using Fetch = std::function<Result<CreateUploadReply>(const Kind& kind, uint32_t count)>;

  static constexpr uint32_t kSlotsPerLease = 32;
  // The largest file a slot takes, and the smallest slot: a lease reserves
  // its slots' room on their workers until they are used.
  static constexpr uint64_t kMaxSlotBytes = dfs::kMaxSlotBytes;
  static constexpr uint64_t kMinSlotBytes = 64 << 10;
  // Well inside a write ticket's lifetime, and short enough that a slot's
  // placement still reflects the workers.
  static constexpr std::chrono::minutes kMaxAge{10};
  // After a lease of a kind is refused, takers of that kind get the same
  // error at once, without asking, for this long. A cluster that will not
  // lease a kind (say its chunks are smaller than the slot, or its masters
  // predate leases) would otherwise cost every small file a refused request
  // before it goes the ordinary way.
  static constexpr std::chrono::seconds kRefusedFor{30};

  // The slot size for a file of `size` bytes (0 < size <= kMaxSlotBytes): a
  // power of two, so files of like sizes share leases.
  static uint64_t slot_bytes_for(uint64_t size);

  // A slot of `kind`: a kept one, else one of a new lease from `fetch`.
  // While one thread fetches a lease of a kind, others wanting that kind
  // wait for it (at most `wait`) rather than each fetching their own. A
  // refused lease is remembered for kRefusedFor.
  Result<Slot> take(const Kind& kind, const Fetch& fetch, Clock::time_point now = Clock::now(),
                    std::chrono::milliseconds wait = std::chrono::seconds(10));
  // Drops kept slots whose pipeline has any of `workers` (one of them
  // failed a write: a new lease places around it).
  void forget_workers(const std::vector<WorkerAddr>& workers);
  // Drops kept slots of lease `lease_id` (the masters no longer know it).
  void forget_lease(const std::string& lease_id);
  size_t kept() const;

 private:
  struct Kept {
    Kind kind;
    Clock::time_point leased;
    Slot slot;
  };
  // Takes a kept slot of `kind` into *out, dropping stale ones. Under mu_.
  bool take_kept(const Kind& kind, Clock::time_point now, Slot* out);

  mutable std::mutex mu_;
  std::condition_variable fetched_;
  std::deque<Kept> kept_;
  std::vector<Kind> fetching_;  // kinds a thread is fetching a lease of
  struct Refused {
    Kind kind;
    Clock::time_point until;
    Status status;
  };
  std::vector<Refused> refused_;  // those not yet past
};

}  // namespace dfs
