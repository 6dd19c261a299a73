// Known faults the master service can be built with, to prove the
// linearizability check catches them (master/README.md lists them; tests/
// faults.sh builds each and requires `ctest -R lincheck` to fail). A normal
// build has none: every master_fault() is a compile-time false.
#pragma once

namespace dfs {

enum class MasterFault {
  kNone,
  kAnswerBeforeCommit,  // answer a mutation once proposed, before its entry commits
  kStaleFollowerRead,   // a follower answers reads from its own state, without ReadIndex
};

#if defined(DFS_MASTER_FAULT_answer_before_commit)
inline constexpr MasterFault kInjectedMasterFault = MasterFault::kAnswerBeforeCommit;
#elif defined(DFS_MASTER_FAULT_stale_follower_read)
inline constexpr MasterFault kInjectedMasterFault = MasterFault::kStaleFollowerRead;
#else
inline constexpr MasterFault kInjectedMasterFault = MasterFault::kNone;
#endif

constexpr bool master_fault(MasterFault f) { return f == kInjectedMasterFault; }

}  // namespace dfs
