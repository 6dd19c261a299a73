// A master's snapshots on disk, under <raft dir>/snapshots/:
//   <index>/    a RocksDB checkpoint of the namespace at applied index
//               <index>; complete and never modified once it has its name
//   taking/     a checkpoint being made
//   incoming/   a snapshot being fetched from another master
// and the namespace directory they are installed into. Files are read and
// written in pieces: a snapshot is never held whole in memory.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include "codec/raft_messages.h"
#include "master/namespace.h"

namespace dfs {

class SnapshotStore {
 public:
  // Snapshots under raft_dir/snapshots; installs replace meta_dir.
  SnapshotStore(std::string raft_dir, std::string meta_dir);

  // Creates the directories and removes what an interrupted take or fetch left.
  Status open();

  // Checkpoints `ns` as snapshot <ns.applied_index()> (table files linked,
  // memtables flushed: quick) and returns its index.
  Result<uint64_t> checkpoint(Namespace& ns);
  // Names, sizes and SHA-256 of snapshot `index`'s files: reads them all, so
  // the log's driver runs it on another thread (it touches only that
  // directory, which never changes).
  Result<raft::SnapshotManifest> describe(uint64_t index) const;
  // Both at once.
  Result<raft::SnapshotManifest> take(Namespace& ns);
  bool has(uint64_t index) const;
  // Deletes every complete snapshot but those in `keep`.
  void retain(const std::set<uint64_t>& keep);

  // Up to `max` bytes of file `name` of snapshot `index` from `offset`;
  // *eof when they reach the file's end.
  Result<std::string> read(uint64_t index, const std::string& name, uint64_t offset, uint64_t max,
                           bool* eof) const;

  // Fetching: starts an empty incoming/, writes pieces into its files,
  // fsyncs a file once it is whole, and names the whole as snapshot
  // `index` (the caller has checked every file against the manifest).
  Status begin_incoming();
  Status write_incoming(const std::string& name, uint64_t offset, std::string_view data);
  Status sync_incoming(const std::string& name);
  Status seal_incoming(uint64_t index);

  // Replaces the namespace directory with a copy of snapshot `index` (its
  // immutable table files hard-linked, the rest copied) and opens it. The
  // caller has closed the namespace that used the directory.
  Result<std::unique_ptr<Namespace>> install(uint64_t index) const;

  std::string dir_of(uint64_t index) const;

 private:
  std::string root_;  // raft_dir/snapshots
  std::string meta_dir_;
};

}  // namespace dfs
