// The chunks one worker holds, as files under a directory:
//   <dir>/chunks/ab/cd/<chunk id>   stored, verified chunks (ab, cd: id's first hex digits)
//   <dir>/tmp/<chunk id>.<n>        chunks being written; swept at open
// A chunk becomes visible only by rename after its bytes were fsynced and its
// SHA-256 matched, so a crash leaves either the whole chunk or a temporary.
//
// Thread-safe: writers and readers of different chunks may run on different
// threads. A ChunkWriter itself is used by one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "codec/sha256.h"
#include "codec/status.h"
#include "worker/chunk_file.h"

namespace dfs {

struct ChunkStoreOptions {
  std::string dir;
  uint64_t capacity = 0;  // bytes this worker may use; 0: the filesystem's size
  // Chunks of at most this many bytes are packed into volume files
  // (worker/volume.h) instead of a file each; 0: none are.
  uint64_t pack_max_bytes = 0;
  // A volume takes records until it is this long.
  uint64_t volume_bytes = 1ull << 30;
  // A removed packed chunk's space is punched out this long after its
  // removal, so a reader that opened it just before still reads it whole.
  std::chrono::milliseconds punch_delay{60000};
};

class ChunkStore;

class ChunkWriter {
 public:
  ~ChunkWriter();  // aborts unless committed
  ChunkWriter(const ChunkWriter&) = delete;
  ChunkWriter& operator=(const ChunkWriter&) = delete;

  // Appends the next bytes. kDiskFull when the filesystem runs out. With
  // `block_crcs` (WriteChunkFrame.block_crcs), each block is checked against
  // its CRC (kChecksumMismatch) and the chunk is not hashed: its SHA-256 is
  // then the writer's word, checked by whole-chunk readers and the scrubber.
  // A chunk's appends all carry CRCs or none do.
  Status append(const void* data, size_t size, const std::vector<uint32_t>& block_crcs = {});
  // Checks size and checksum, fsyncs, and renames into place. Afterwards the
  // chunk is durable and visible. On failure the temporary is removed.
  Status commit(const std::string& expected_sha256);
  // The first half of commit: checks size and checksum and writes the
  // chunk's header and CRCs, but neither syncs nor renames; the writer is
  // then given to ChunkStore::publish. On failure the temporary is removed.
  Status seal(const std::string& expected_sha256);
  bool sealed() const { return sealed_; }
  const std::string& id() const { return id_; }
  // Removes the temporary and releases the reserved space.
  void abort();

  uint64_t written() const { return written_; }
  uint64_t total_size() const { return total_size_; }

 private:
  friend class ChunkStore;
  ChunkWriter(ChunkStore* store, std::string id, std::string tmp_path, int fd, uint64_t total,
              uint64_t seq);

  ChunkStore* store_;
  std::string id_;
  std::string tmp_path_;
  int fd_;
  uint64_t total_size_;
  uint64_t seq_;  // creation order within the store
  uint64_t written_ = 0;
  // Makes the sealed file visible (closes it, renames it into place) without
  // syncing; the caller syncs around it.
  Status rename_into_place();
  Status fail(Status s);  // aborts, then returns s

  Sha256 hash_;  // without block CRCs from the writer
  BlockCrcs crcs_;
  // A packed chunk's volume record (header, chunk file image, padding),
  // built in memory and appended whole at publish; empty for a file.
  std::string record_;
  bool packed_ = false;
  bool checked_by_crcs_ = false;  // the writer sent block CRCs
  bool sealed_ = false;
  bool done_ = false;
};

// An open stored chunk, for reading it frame by frame. Keeping it open keeps
// the kernel's readahead going across frames. Reads of a chunk removed while
// open still see its bytes (ids are never reused, so they are still right).
class ChunkReader {
 public:
  ~ChunkReader();
  ChunkReader(const ChunkReader&) = delete;
  ChunkReader& operator=(const ChunkReader&) = delete;

  // Up to `length` bytes at `offset` into `out`; fewer only at the end.
  Result<size_t> read(uint64_t offset, size_t length, char* out);
  const ChunkFileHeader& header() const { return header_; }
  // The CRCs of the blocks that bytes [offset, offset + length) cover, when
  // offset starts a block and the chunk has block CRCs; else none.
  std::vector<uint32_t> block_crcs(uint64_t offset, size_t length) const;

 private:
  friend class ChunkStore;
  ChunkReader(std::string id, int fd, ChunkFileHeader header, std::vector<uint32_t> crcs,
              uint64_t base = 0)
      : id_(std::move(id)),
        fd_(fd),
        base_(base),
        header_(std::move(header)),
        crcs_(std::move(crcs)) {}
  std::string id_;
  int fd_;         // -1: the whole file image is held in `held_`
  uint64_t base_;  // where the chunk's file image starts in fd_ (a volume's record)
  ChunkFileHeader header_;
  std::vector<uint32_t> crcs_;
  std::string held_;  // a small packed chunk's file image, read in one go
};

class ChunkStore {
 public:
  // Creates the directories, removes leftover temporaries, and counts what is
  // stored. Fails if the directory cannot be used.
  static Result<std::unique_ptr<ChunkStore>> open(const ChunkStoreOptions& options);
  ~ChunkStore();

  // Starts writing a chunk of `total_size` bytes, reserving the space.
  // kAlreadyExists if the chunk is stored or being written; kDiskFull if it
  // does not fit within the capacity or the filesystem's free space.
  Result<std::unique_ptr<ChunkWriter>> create(const std::string& id, uint64_t total_size);

  // Reads up to `length` bytes at `offset` of a stored chunk into `out`
  // (which must hold `length` bytes); returns the bytes read and sets
  // *total_size. kNotFound if the chunk is not stored.
  Result<size_t> read(const std::string& id, uint64_t offset, size_t length, char* out,
                      uint64_t* total_size);
  // Opens a stored chunk for reading and checks its header; kNotFound if
  // absent, kCorruption if the header is damaged.
  // `whole`: a small packed chunk is read whole now (its reads are then
  // served from memory); false when only its header is wanted.
  Result<std::unique_ptr<ChunkReader>> open_reader(const std::string& id, bool whole = true);
  // The header of a stored chunk (size and checksum), kNotFound if absent.
  Result<ChunkFileHeader> header(const std::string& id);

  // Makes sealed writers durable and visible, one status each, in order.
  // Group commit: the chunks of at most kGroupChunkBytes share two syncs of
  // the whole filesystem (syncfs), one before the renames (every file's
  // bytes) and one after (every rename), whatever their number; a larger
  // chunk, or a lone small one, is fsynced, renamed and its directory
  // fsynced. Either way a crash leaves each chunk whole or a temporary, and
  // nothing is visible before its bytes are on disk.
  std::vector<Status> publish(const std::vector<ChunkWriter*>& sealed);
  static constexpr uint64_t kGroupChunkBytes = 1 << 20;

  // Removes a stored chunk; ok if it was not there. Recorded for take_deleted().
  Status remove(const std::string& id);
  // Ids removed since the last call, at most `max`.
  std::vector<std::string> take_deleted(size_t max);
  // Whether remove() took chunk `id` away lately (the last 100000 removals):
  // a chunk gone without it vanished from the disk behind the store's back.
  bool was_removed(const std::string& id) const;

  bool contains(const std::string& id) const;
  std::vector<std::string> list() const;

  // The filesystem the store lives on: an id equal for every store on the
  // same filesystem (device and filesystem id), its size and free bytes.
  struct Filesystem {
    std::string id;
    uint64_t size = 0;
    uint64_t free = 0;
  };
  Filesystem filesystem() const;
  uint64_t capacity() const;
  uint64_t used() const;  // stored plus reserved for chunks being written
  uint64_t chunk_count() const;
  const std::string& dir() const { return dir_; }

  std::string chunk_path(const std::string& id) const;
  // Where a packed chunk's file image lies: its volume's path and the
  // image's offset in it; nullopt if the chunk is not packed here.
  std::optional<std::pair<std::string, uint64_t>> packed_location(const std::string& id) const;
  // Punches out removed packed chunks whose delay has passed, and deletes
  // volumes left with none (called by remove() and publish()).
  void reclaim();

 private:
  friend class ChunkWriter;
  explicit ChunkStore(ChunkStoreOptions options);
  Status scan();
  // Ends a write's reservation (`buffered`: the bytes its packed record
  // held in memory); a stored chunk's bytes count as stored.
  void release(const std::string& id, uint64_t reserved, bool stored, uint64_t buffered = 0);
  Status publish_alone(ChunkWriter& w);
  std::vector<Status> publish_group(const std::vector<ChunkWriter*>& group);
  std::vector<Status> publish_packed(const std::vector<ChunkWriter*>& group);
  Status scan_volumes();
  void note_removed(const std::string& id);  // for take_deleted() and was_removed()
  Status open_volume();                      // a new volume to append to; vol_mu_ held
  std::string volume_path(uint64_t n) const;
  Result<std::unique_ptr<ChunkReader>> open_packed_reader(const std::string& id, uint64_t volume,
                                                          uint64_t offset, uint64_t payload,
                                                          bool whole);
  // A packed chunk's reader holding its whole file image, read from `fd`
  // (at `base`, `payload` bytes) in one go.
  Result<std::unique_ptr<ChunkReader>> held_packed_reader(const std::string& id, int fd,
                                                          uint64_t base, uint64_t payload);
  // Packed chunks up to this file image are read whole when opened.
  static constexpr uint64_t kHeldImageBytes = 256 << 10;

  std::string dir_;
  int dir_fd_ = -1;  // held open: a group commit's sync needs no new descriptor
  uint64_t capacity_ = 0;

  mutable std::mutex mu_;
  uint64_t stored_bytes_ = 0;
  uint64_t reserved_bytes_ = 0;
  uint64_t chunk_count_ = 0;
  uint64_t tmp_seq_ = 0;
  std::unordered_set<std::string> writing_;  // ids with an open writer
  std::vector<std::string> deleted_;
  std::unordered_set<std::string> removed_;  // bounded by removed_order_
  std::deque<std::string> removed_order_;

  // Packed chunks (mu_): where each lies, how many live records each volume
  // holds, and the removed records waiting for their space to be punched.
  struct Packed {
    uint64_t volume = 0;
    uint64_t offset = 0;  // of the record
    uint64_t payload = 0;
  };
  struct Punch {
    uint64_t volume = 0;
    uint64_t offset = 0;
    uint64_t bytes = 0;
    std::chrono::steady_clock::time_point due;
  };
  uint64_t pack_max_ = 0;
  uint64_t volume_bytes_ = 0;
  std::chrono::milliseconds punch_delay_{0};
  std::unordered_map<std::string, Packed> packed_;
  std::map<uint64_t, uint64_t> live_records_;     // by volume
  std::deque<Punch> punches_;                     // in the order they fall due
  std::map<uint64_t, uint64_t> punches_waiting_;  // by volume
  uint64_t active_volume_ = 0;                    // 0: none yet; set with vol_mu_ and mu_ both held
  uint64_t packed_buffered_ = 0;                  // bytes held by packed writers not yet published

  // The volume being appended to (vol_mu_, held across an append and its sync).
  std::mutex vol_mu_;
  uint64_t next_volume_ = 1;
  int active_fd_ = -1;
  std::string active_salt_;
  uint64_t active_end_ = 0;     // where the next record goes
  uint64_t active_synced_ = 0;  // every byte below is durable

  // Volumes held open for reading small packed chunks, by number, so that a
  // small get costs no open() and close(). An emptied volume is dropped
  // here and unlinked under reading_mu_, so none stays open once unlinked.
  struct ReadingVolume {
    int fd = -1;
    ~ReadingVolume();
  };
  // Volume `n`, open for reading (kNotFound when it is gone).
  Result<std::shared_ptr<const ReadingVolume>> reading_volume(uint64_t n);
  static constexpr size_t kReadingVolumesKept = 64;  // bounds the descriptors held
  std::mutex reading_mu_;
  std::map<uint64_t, std::shared_ptr<const ReadingVolume>> reading_;
};

}  // namespace dfs
