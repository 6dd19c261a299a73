#include "master/local_log.h"

namespace dfs {

Result<LogPosition> LocalLog::propose(std::string data) {
  entries_.emplace_back(++last_, std::move(data));
  return LogPosition{last_, kTerm};
}

Status LocalLog::read_index(uint64_t context) {
  reads_.push_back(context);
  return Status::ok();
}

void LocalLog::deliver(MasterService& service) {
  while (!idle()) {
    while (!entries_.empty()) {
      auto [index, data] = std::move(entries_.front());
      entries_.pop_front();
      service.on_applied(index, kTerm, data);
    }
    for (uint64_t context : std::exchange(reads_, {})) service.on_read_ready(context);
  }
}

}  // namespace dfs
