#include "codec/msg_type.h"

namespace dfs {

std::string_view msg_type_name(MsgType type) {
  switch (type) {
    case MsgType::kErrorReply:
      return "ErrorReply";
    case MsgType::kOkReply:
      return "OkReply";
    case MsgType::kMkdirRequest:
      return "MkdirRequest";
    case MsgType::kStatRequest:
      return "StatRequest";
    case MsgType::kStatReply:
      return "StatReply";
    case MsgType::kListRequest:
      return "ListRequest";
    case MsgType::kListReply:
      return "ListReply";
    case MsgType::kDeleteRequest:
      return "DeleteRequest";
    case MsgType::kRenameRequest:
      return "RenameRequest";
    case MsgType::kCreateUploadRequest:
      return "CreateUploadRequest";
    case MsgType::kCreateUploadReply:
      return "CreateUploadReply";
    case MsgType::kCreateFileRequest:
      return "CreateFileRequest";
    case MsgType::kAllocateChunkRequest:
      return "AllocateChunkRequest";
    case MsgType::kAllocateChunkReply:
      return "AllocateChunkReply";
    case MsgType::kCommitUploadRequest:
      return "CommitUploadRequest";
    case MsgType::kAbortUploadRequest:
      return "AbortUploadRequest";
    case MsgType::kClusterStatusRequest:
      return "ClusterStatusRequest";
    case MsgType::kClusterStatusReply:
      return "ClusterStatusReply";
    case MsgType::kReportBadReplicaRequest:
      return "ReportBadReplicaRequest";
    case MsgType::kFsckRequest:
      return "FsckRequest";
    case MsgType::kFsckReply:
      return "FsckReply";
    case MsgType::kWriteChunkFrame:
      return "WriteChunkFrame";
    case MsgType::kWriteChunkAck:
      return "WriteChunkAck";
    case MsgType::kReadChunkRequest:
      return "ReadChunkRequest";
    case MsgType::kReadChunkReply:
      return "ReadChunkReply";
    case MsgType::kReplicaFrame:
      return "ReplicaFrame";
    case MsgType::kReplicaAck:
      return "ReplicaAck";
    case MsgType::kReplicaAbort:
      return "ReplicaAbort";
    case MsgType::kHeartbeat:
      return "Heartbeat";
    case MsgType::kDeleteChunksJob:
      return "DeleteChunksJob";
    case MsgType::kClusterEvent:
      return "ClusterEvent";
    case MsgType::kChunkReport:
      return "ChunkReport";
    case MsgType::kMkdirCmd:
      return "MkdirCmd";
    case MsgType::kCommitFileCmd:
      return "CommitFileCmd";
    case MsgType::kDeleteCmd:
      return "DeleteCmd";
    case MsgType::kRenameCmd:
      return "RenameCmd";
    case MsgType::kRegisterWorkerCmd:
      return "RegisterWorkerCmd";
    case MsgType::kGcDoneCmd:
      return "GcDoneCmd";
    case MsgType::kAddGarbageCmd:
      return "AddGarbageCmd";
    case MsgType::kMarkReplicaBadCmd:
      return "MarkReplicaBadCmd";
    case MsgType::kCreateUploadCmd:
      return "CreateUploadCmd";
    case MsgType::kAllocateChunkCmd:
      return "AllocateChunkCmd";
    case MsgType::kCommitUploadCmd:
      return "CommitUploadCmd";
    case MsgType::kAbortUploadCmd:
      return "AbortUploadCmd";
    case MsgType::kExpireCmd:
      return "ExpireCmd";
    case MsgType::kCollectOrphansCmd:
      return "CollectOrphansCmd";
    case MsgType::kMemberChangeCmd:
      return "MemberChangeCmd";
    case MsgType::kMembersRequest:
      return "MembersRequest";
    case MsgType::kMembersReply:
      return "MembersReply";
    case MsgType::kMemberChangeRequest:
      return "MemberChangeRequest";
    case MsgType::kMemberChangeReply:
      return "MemberChangeReply";
    case MsgType::kRaftMessage:
      return "RaftMessage";
    case MsgType::kSnapshotFileRequest:
      return "SnapshotFileRequest";
    case MsgType::kSnapshotFileReply:
      return "SnapshotFileReply";
  }
  return {};
}

bool is_known_msg_type(uint16_t value) {
  return !msg_type_name(static_cast<MsgType>(value)).empty();
}

}  // namespace dfs
