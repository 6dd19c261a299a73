// The types fuzz_messages decodes, in the order its first byte picks them
// (one past the last: a Command, whose body is then decoded as every type).
// Shared with make_seeds, which writes a seed for each by its place here.
#pragma once

#include <cstddef>
#include <tuple>
#include <type_traits>

#include "codec/commands.h"
#include "codec/messages.h"
#include "codec/raft_messages.h"

namespace dfs::fuzz {

using MessageTypes = std::tuple<
    // client and master api
    ErrorReply, OkReply, MkdirRequest, StatRequest, StatReply, ListRequest, ListReply,
    DeleteRequest, RenameRequest, SetAttrRequest, CreateUploadRequest, CreateFileRequest,
    CreateUploadReply, AllocateChunkRequest, AllocateChunkReply, CommitUploadRequest,
    AbortUploadRequest, ClusterStatusRequest, ClusterStatusReply, MembersRequest, MembersReply,
    MemberChangeRequest, WorkerDrainRequest, MemberChangeReply, ReportBadReplicaRequest,
    FsckRequest, FsckReply,
    // data and pipeline
    WriteChunkFrame, WriteChunkAck, ReadChunkRequest, ReadChunkReply, ReplicaFrame, ReplicaAck,
    ReplicaAbort,
    // bus topics
    Heartbeat, DeleteChunksJob, ChunkReport, ReplicateChunkJob, ReplicateChunkDone, ClusterEvent,
    // log entries
    MkdirCmd, CommitFileCmd, DeleteCmd, RenameCmd, RegisterWorkerCmd, MemberChangeCmd, GcDoneCmd,
    AddGarbageCmd, MarkReplicaBadCmd, CreateUploadCmd, AllocateChunkCmd, CommitUploadCmd,
    AbortUploadCmd, ExpireCmd, CollectOrphansCmd, ReplicaAddedCmd, ReplicaDroppedCmd,
    WorkerDrainCmd, SetAttrCmd,
    // Raft and snapshots
    raft::Entry, raft::HardState, raft::Membership, raft::ConfChange, raft::Snapshot, raft::Message,
    raft::SnapshotManifest, raft::SnapshotFileRequest, raft::SnapshotFileReply,
    // added later: appended, so the kept corpora keep their meaning
    KeyChangeRequest, KeysRequest, KeysReply, KeyringUpdate, KeyAddCmd, KeyRevokeCmd,
    ChunkWrittenRequest, UploadsRequest, UploadsReply, ChunkWrittenCmd, PartWrittenRequest,
    PartWrittenCmd, BulkSessionRequest, BulkSessionReply>;

inline constexpr size_t kMessageTypes = std::tuple_size_v<MessageTypes>;
// A first byte of 255 picks the log-entry decoder; any other picks a
// message type (modulo their count). Fixed, so that the kept corpus keeps
// its meaning as types are appended.
inline constexpr size_t kCommandPick = 255;
static_assert(kMessageTypes < kCommandPick);

// The place of T in MessageTypes.
template <typename T, size_t I = 0>
constexpr size_t pick_of() {
  static_assert(I < kMessageTypes, "not a fuzzed type");
  if constexpr (std::is_same_v<T, std::tuple_element_t<I, MessageTypes>>) {
    return I;
  } else {
    return pick_of<T, I + 1>();
  }
}

}  // namespace dfs::fuzz
