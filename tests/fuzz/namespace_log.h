// The log fuzz_namespace applies, as bytes: records of a 4-byte head and a
// body. Head: the command type (its place in kLogCommands, modulo their
// count); who (bits 0-1: the caller, from log_caller; bits 2-3: the client
// session, 0 for none; bit 4: a retry, repeating that client's last
// sequence number; bit 5: the second replica restarts before this entry);
// and the body's length (2 bytes, little-endian). An entry's time and
// sequence follow from its place in the log, so the fuzzer spends its
// mutations on bodies. Shared with make_seeds, which writes real logs in
// this form.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "codec/commands.h"
#include "codec/permissions.h"

namespace dfs::fuzz {

// Appended to, never reordered: the kept corpus keeps its meaning.
inline constexpr std::array kLogCommands = {
    MsgType::kMkdirCmd,        MsgType::kCommitFileCmd,     MsgType::kDeleteCmd,
    MsgType::kRenameCmd,       MsgType::kRegisterWorkerCmd, MsgType::kMemberChangeCmd,
    MsgType::kGcDoneCmd,       MsgType::kAddGarbageCmd,     MsgType::kMarkReplicaBadCmd,
    MsgType::kCreateUploadCmd, MsgType::kAllocateChunkCmd,  MsgType::kCommitUploadCmd,
    MsgType::kAbortUploadCmd,  MsgType::kExpireCmd,         MsgType::kCollectOrphansCmd,
    MsgType::kReplicaAddedCmd, MsgType::kReplicaDroppedCmd, MsgType::kWorkerDrainCmd,
    MsgType::kSetAttrCmd,      MsgType::kKeyAddCmd,         MsgType::kKeyRevokeCmd,
    MsgType::kChunkWrittenCmd, MsgType::kPartWrittenCmd,
};

inline constexpr size_t kLogMaxEntries = 1024;
inline constexpr size_t kLogEntrySpacingMs = 60'000;

// 0: the superuser (admin, and what the leader itself logs); then users.
inline Caller log_caller(uint8_t pick) {
  switch (pick & 3) {
    case 0:
      return Caller{};
    case 1:
      return user_caller("alice", {"staff"});
    case 2:
      return user_caller("bob", {"staff"});
    default:
      return user_caller("carol", {});
  }
}

struct LogEntry {
  Command cmd;
  bool restart_before = false;  // of the second replica
};

inline std::vector<LogEntry> parse_namespace_log(std::string_view in) {
  std::vector<LogEntry> log;
  std::array<uint64_t, 4> last_seq{};
  while (in.size() >= 4 && log.size() < kLogMaxEntries) {
    auto byte = [&](size_t i) { return static_cast<uint8_t>(in[i]); };
    size_t len = byte(2) | (size_t{byte(3)} << 8);
    uint8_t who = byte(1);
    LogEntry e;
    Command& cmd = e.cmd;
    cmd.type = static_cast<uint16_t>(kLogCommands[byte(0) % kLogCommands.size()]);
    cmd.caller = log_caller(who);
    uint64_t client = (who >> 2) & 3;
    if (client != 0) {
      bool retry = (who & 0x10) != 0 && last_seq[client] != 0;
      if (!retry) last_seq[client] = log.size() + 1;
      cmd.session = RequestSession{client, last_seq[client]};
    }
    cmd.time_ms = static_cast<int64_t>(1'000'000 + log.size() * kLogEntrySpacingMs);
    e.restart_before = (who & 0x20) != 0;
    in.remove_prefix(4);
    cmd.body = std::string(in.substr(0, len));
    in.remove_prefix(std::min(len, in.size()));
    log.push_back(std::move(e));
  }
  return log;
}

// One record: `cmd` by `caller` (0-3) in session `client` (0-3), with
// `flags` (kRetry, kRestartBefore).
inline constexpr uint8_t kRetry = 0x10;
inline constexpr uint8_t kRestartBefore = 0x20;

template <typename Cmd>
std::string log_record(const Cmd& cmd, uint8_t caller, uint8_t client = 0, uint8_t flags = 0) {
  size_t pick = 0;
  while (kLogCommands[pick] != Cmd::kType) ++pick;
  std::string body = encode(cmd);
  std::string out;
  out += static_cast<char>(pick);
  out += static_cast<char>((caller & 3) | ((client & 3) << 2) | flags);
  out += static_cast<char>(body.size() & 0xff);
  out += static_cast<char>((body.size() >> 8) & 0xff);
  return out + body;
}

}  // namespace dfs::fuzz
