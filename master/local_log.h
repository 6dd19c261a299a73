// The log of a master that runs alone: an entry commits as soon as it is
// appended and a read is confirmed at once (there is nobody to outvote this
// master). Still asynchronous, like the Raft driver it stands in for:
// deliver() hands the entries and reads to the service later, in order.
// Durability comes from the namespace, which syncs every entry it applies.
#pragma once

#include <deque>
#include <string>
#include <vector>

#include "master/master_service.h"
#include "master/replicated_log.h"

namespace dfs {

class LocalLog : public ReplicatedLog {
 public:
  // `last_index`: the last entry already applied (the namespace's index).
  explicit LocalLog(uint64_t last_index) : last_(last_index) {}

  Result<LogPosition> propose(std::string data) override;
  Status read_index(uint64_t context) override;

  // Applies every queued entry, then releases every queued read, until
  // nothing is left (applying may propose more).
  void deliver(MasterService& service);
  bool idle() const { return entries_.empty() && reads_.empty(); }

  static constexpr uint64_t kTerm = 1;

 private:
  uint64_t last_;
  std::deque<std::pair<uint64_t, std::string>> entries_;
  std::vector<uint64_t> reads_;
};

}  // namespace dfs
