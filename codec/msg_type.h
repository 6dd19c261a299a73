// Stable numeric ids of every message dfs puts on the wire or in its log.
// The numbers are part of the protocol (codec/PROTOCOL.md): never renumber.
#pragma once

#include <cstdint>
#include <string_view>

namespace dfs {

enum class MsgType : uint16_t {
  // Generic replies.
  kErrorReply = 10,
  kOkReply = 11,
  // Client -> master api.
  kMkdirRequest = 20,
  kStatRequest = 21,
  kStatReply = 22,
  kListRequest = 23,
  kListReply = 24,
  kDeleteRequest = 25,
  kRenameRequest = 26,
  kCreateUploadRequest = 27,
  kCreateUploadReply = 28,
  kAllocateChunkRequest = 29,
  kAllocateChunkReply = 30,
  kCommitUploadRequest = 31,
  kAbortUploadRequest = 32,
  kClusterStatusRequest = 33,
  kClusterStatusReply = 34,
  kReportBadReplicaRequest = 35,
  kFsckRequest = 36,
  kFsckReply = 37,
  kCreateFileRequest = 38,
  kChunkWrittenRequest = 39,
  // Uploads in progress (resume, dfs admin uploads); 40-46 are the data socket's.
  kUploadsRequest = 47,
  kUploadsReply = 48,
  kPartWrittenRequest = 49,
  // Admin -> master: the masters' own membership.
  kMembersRequest = 50,
  kMembersReply = 51,
  kMemberChangeRequest = 52,
  kMemberChangeReply = 53,
  // Admin -> master: taking a worker out of service and back.
  kWorkerDrainRequest = 54,
  // Client -> master: an entry's mode, owner or group (chmod, chown).
  kSetAttrRequest = 55,
  // Admin -> master: the keyring's changes through the log (dfs admin keys).
  kKeyChangeRequest = 56,
  kKeysRequest = 57,
  kKeysReply = 58,
  // Client -> worker data.
  kWriteChunkFrame = 40,
  kWriteChunkAck = 41,
  kReadChunkRequest = 42,
  kReadChunkReply = 43,
  // Worker -> worker replication pipeline.
  kReplicaFrame = 44,
  kReplicaAck = 45,
  kReplicaAbort = 46,
  // Client -> worker data: a session of the bulk channel (bus/bulk_seal.h).
  kBulkSessionRequest = 67,
  kBulkSessionReply = 68,
  // Bus topics.
  kHeartbeat = 60,
  kDeleteChunksJob = 61,
  kClusterEvent = 62,
  kChunkReport = 63,
  kReplicateChunkJob = 64,
  kReplicateChunkDone = 65,
  kKeyringUpdate = 66,
  // Masters' Raft group.
  kRaftMessage = 120,
  kSnapshotFileRequest = 121,
  kSnapshotFileReply = 122,
  // Metadata state machine commands (log entries).
  kMkdirCmd = 100,
  kCommitFileCmd = 101,
  kDeleteCmd = 102,
  kRenameCmd = 103,
  kRegisterWorkerCmd = 104,
  kGcDoneCmd = 105,
  kAddGarbageCmd = 106,
  kMarkReplicaBadCmd = 107,
  kCreateUploadCmd = 108,
  kAllocateChunkCmd = 109,
  kCommitUploadCmd = 110,
  kAbortUploadCmd = 111,
  kExpireCmd = 112,
  kCollectOrphansCmd = 113,
  kMemberChangeCmd = 114,
  kReplicaAddedCmd = 115,
  kReplicaDroppedCmd = 116,
  kWorkerDrainCmd = 117,
  kSetAttrCmd = 118,
  kKeyAddCmd = 119,
  kKeyRevokeCmd = 123,  // 120-122 are the Raft transport's
  kChunkWrittenCmd = 124,
  kPartWrittenCmd = 125,
};

bool is_known_msg_type(uint16_t value);
std::string_view msg_type_name(MsgType type);

}  // namespace dfs
