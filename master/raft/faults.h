// Known faults the Raft core can be built with, to prove the simulation
// tests catch them (master/raft/README.md lists them). A normal build has
// none: every fault_active() is a compile-time false.
#pragma once

namespace dfs::raft {

enum class Fault {
  kNone,
  kCommitOldTerm,        // commit an older term's entry by counting its replicas
  kForgetVote,           // never persist the vote
  kAcceptStaleAppend,    // accept appends from a leader of an older term
  kApplyBeforeCommit,    // hand out entries to apply before they commit
  kVoteWithoutLogCheck,  // grant votes without the log-up-to-date check
  kReadWithoutQuorum,    // answer a read at once, without a majority confirming leadership
  kNoCheckQuorum,        // a leader that hears from no majority never steps down
  kIgnoreNewerTerm,      // a leader ignores messages of a newer term
  kCountStaleReplies,    // a leader counts answers sent in an older term
  kIgnoreLease,          // grant (pre-)votes while still hearing from a leader
};

#if defined(DFS_RAFT_FAULT_commit_old_term)
inline constexpr Fault kInjectedFault = Fault::kCommitOldTerm;
#elif defined(DFS_RAFT_FAULT_forget_vote)
inline constexpr Fault kInjectedFault = Fault::kForgetVote;
#elif defined(DFS_RAFT_FAULT_accept_stale_append)
inline constexpr Fault kInjectedFault = Fault::kAcceptStaleAppend;
#elif defined(DFS_RAFT_FAULT_apply_before_commit)
inline constexpr Fault kInjectedFault = Fault::kApplyBeforeCommit;
#elif defined(DFS_RAFT_FAULT_vote_without_log_check)
inline constexpr Fault kInjectedFault = Fault::kVoteWithoutLogCheck;
#elif defined(DFS_RAFT_FAULT_read_without_quorum)
inline constexpr Fault kInjectedFault = Fault::kReadWithoutQuorum;
#elif defined(DFS_RAFT_FAULT_no_check_quorum)
inline constexpr Fault kInjectedFault = Fault::kNoCheckQuorum;
#elif defined(DFS_RAFT_FAULT_ignore_newer_term)
inline constexpr Fault kInjectedFault = Fault::kIgnoreNewerTerm;
#elif defined(DFS_RAFT_FAULT_count_stale_replies)
inline constexpr Fault kInjectedFault = Fault::kCountStaleReplies;
#elif defined(DFS_RAFT_FAULT_ignore_lease)
inline constexpr Fault kInjectedFault = Fault::kIgnoreLease;
#else
inline constexpr Fault kInjectedFault = Fault::kNone;
#endif

constexpr bool fault_active(Fault f) { return f == kInjectedFault; }

}  // namespace dfs::raft
