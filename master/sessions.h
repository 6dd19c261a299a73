// Exactly-once application of client requests: for each client, the number
// of its newest applied request and the answer it got, kept in the
// `sessions` column family and written in the batch of the command it
// answers. A retry (same client, same number) gets the stored answer
// instead of applying again, so a `mv` retried after a lost reply does not
// fail with "not found" because its first attempt moved the file.
//
// Keys:
//   's' + be64(client)                             SessionRecord
//   'm' + be64(minute of last activity) + client   "" (expiry order, coarse)
//   't' + be64(last active ms) + client            "" (older stores' index, read only)
#pragma once

#include <rocksdb/write_batch.h>

#include <optional>
#include <string>
#include <unordered_map>

#include "codec/messages.h"
#include "master/meta_store.h"

namespace dfs {

struct SessionRecord {
  uint64_t seq = 0;
  uint16_t code = 0;  // the answer: Code
  std::string message;
  uint16_t reply_type = 0;  // MsgType of reply_body when code == 0
  std::string reply_body;
  int64_t last_active_ms = 0;
  // Whose session it is: only that user's requests are matched against it
  // ("": recorded before users were, anyone's).
  std::string user;
  DFS_MSGPACK_MAP(seq, code, message, reply_type, reply_body, last_active_ms, user);
  bool belongs_to(const std::string& who) const { return user.empty() || user == who; }
  Status validate() const { return Status::ok(); }
};

class Sessions {
 public:
  explicit Sessions(MetaStore* store) : store_(store) {}
  Sessions(Sessions&&) = default;

  std::optional<SessionRecord> find(uint64_t client) const;
  // Records `record` as the client's newest answer, replacing `old`.
  void put(rocksdb::WriteBatch* batch, uint64_t client, const SessionRecord& record,
           const std::optional<SessionRecord>& old) const;
  bool any_idle_before(int64_t time_ms) const;
  // Deletes records idle since before `time_ms`, at most `limit`; returns how many.
  size_t expire(rocksdb::WriteBatch* batch, int64_t time_ms, size_t limit) const;

 private:
  void remember(uint64_t client, const SessionRecord& record) const;

  MetaStore* store_;
  // The records of recently active clients as stored (written through by
  // put, dropped by expire): every mutation looks its client up once on
  // the leader and once more as it applies. Forgotten all at once when full.
  static constexpr size_t kMaxRemembered = 4096;
  mutable std::unordered_map<uint64_t, SessionRecord> recent_;
};

}  // namespace dfs
