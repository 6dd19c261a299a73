// libdfs: the client library behind the `dfs` command.
//
// Metadata calls go to the masters; file bytes move straight between this
// process and the workers, several chunks at a time. Every call returns a
// Status whose message names the path and the cause. A Client is used from
// one thread; put and get start their own transfer threads internally.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "bus/endpoints.h"
#include "client/master_client.h"
#include "codec/messages.h"

namespace dfs {

struct ClientOptions {
  std::vector<HostPort> masters;
  std::chrono::milliseconds timeout{10000};  // per request to a master or worker
  int parallel_chunks = 4;                   // chunks in flight per put/get
  size_t window = 4;                         // 1 MiB frames in flight per chunk
  int chunk_attempts = 4;                    // tries per chunk before the put fails
  // The workers' silence limit per pipeline hop (their --pipeline-timeout-ms).
  std::chrono::milliseconds pipeline_timeout{5000};
  // Reads (stat, ls, df, fsck, get's lookup) from whichever master answers,
  // from its own state, which may lag the leader's.
  bool stale = false;
  // Bits taken away from the mode of what this client creates (files
  // 0666, directories 0777), as with a shell's umask.
  uint32_t umask = kDefaultUmask;
  // The key pair this client presents (null: the process's own, from
  // --key). The S3 gateway speaks for each user with that user's key.
  std::shared_ptr<const KeyPair> identity;
};

struct PutOptions {
  uint64_t chunk_size = 0;       // 0: the cluster default
  uint32_t replication = 0;      // 0: the cluster default
  uint32_t min_replication = 0;  // accept chunks on this many workers when fewer are up
  bool overwrite = false;        // replace an existing file atomically
  // Where put keeps a manifest of each upload in progress
  // (client/upload_manifest.h), so that the same put run again after an
  // interruption sends only what is missing. "": no manifests.
  std::string resume_dir;
  // false: an interrupted upload to the same path is aborted, not resumed,
  // none is kept for later, and a failed put aborts its upload.
  bool resume = true;
  // One-line notes for the user: a resume, or why one starts over.
  std::function<void(const std::string&)> notice;
  // The file's size, when known before its bytes (UploadWriter): a file of
  // one chunk then has its chunk allocated with the upload, and is committed
  // with it, without a mark: two log entries rather than four.
  uint64_t size_hint = 0;
  // Make the directories above the file that are missing (as S3 expects).
  bool make_parents = false;
};

// What a put did.
struct PutReport {
  std::string upload_id;
  uint64_t chunks = 0;          // the file's
  uint64_t chunks_sent = 0;     // sent by this run
  uint64_t chunks_resumed = 0;  // written by an earlier run and not sent again
};

// Called from transfer threads with the bytes just moved (negative when a
// failed attempt is rolled back before a retry).
using ProgressFn = std::function<void(int64_t)>;

// Which of the chunks of a file of `size` bytes the marks `written` cover.
std::vector<bool> chunks_done(const std::vector<ChunkInfo>& written, uint64_t chunk_size,
                              uint64_t size);

// `s` with its message prefixed by `path`, unless it already names it.
Status about_path(const std::string& path, const Status& s);

class Client {
 public:
  explicit Client(ClientOptions options);
  ~Client();

  Status mkdir(const std::string& path, bool parents);
  // An empty file at `path` (replacing a file there, with `overwrite`).
  Status create_file(const std::string& path, bool overwrite);
  // The bits taken away from the mode of what is created from now on.
  void set_umask(uint32_t umask) { options_.umask = umask; }
  // The entry at `path`; with `for_read`, refused unless the caller may
  // read it (otherwise a file they may not read comes without its chunks).
  Result<StatReply> stat(const std::string& path, bool for_read = false);
  // chmod and chown: sets the mode (unless kModeUnset), owner and group
  // (unless empty) of the entry at `path`.
  Status set_attr(const std::string& path, uint32_t mode, const std::string& owner,
                  const std::string& group);
  // Every entry of a directory whose name starts with `prefix`, in name order.
  Result<std::vector<EntryInfo>> list(const std::string& dir, const std::string& prefix);
  Status remove(const std::string& path, bool recursive);
  // With `replace`, a file at `dst` is replaced, as POSIX rename does.
  Status rename(const std::string& src, const std::string& dst, bool replace = false);
  Result<ClusterStatusReply> cluster_status();
  // Files under `path` whose chunks have fewer good replicas than wanted.
  Result<FsckReply> fsck(const std::string& path);
  // The masters of the group (dfs admin members).
  Result<MembersReply> members();
  // Starts (draining) or undoes the decommission of worker `id`.
  Status drain_worker(const std::string& id, bool draining);
  // dfs admin keys: the keyring in force, and changes to it through the log.
  Result<KeysReply> keys();
  Status add_key(const std::string& line);
  Status revoke_key(const std::string& key);
  // op "add" (endpoint; id 0 lets the leader choose), "remove" or "transfer" (id).
  Result<MemberChangeReply> change_member(const std::string& op, uint64_t id,
                                          const std::string& endpoint);

  // Uploads the local file at `local` ("-" for standard input) to `remote`.
  // The file becomes visible at `remote` whole, or not at all.
  Status put(const std::string& local, const std::string& remote, const PutOptions& options,
             const ProgressFn& progress, PutReport* report = nullptr);
  // Uploads in progress the caller may see, or one (with its written chunks
  // from `from_index`, or a multipart upload's parts after `after_part`).
  Result<UploadsReply> uploads(const std::string& upload_id = "", uint64_t from_index = 0,
                               uint32_t after_part = 0);
  // A multipart upload (the S3 gateway's): started for `remote`, written a
  // part at a time (UploadWriter::part), and made the file at `remote` by
  // naming its parts in order, each with the ETag it was written with.
  Result<CreateUploadReply> create_multipart(const std::string& remote, const PutOptions& options);
  Status commit_parts(const std::string& upload_id, uint64_t size,
                      const std::vector<PartRef>& parts, const std::string& etag);
  Status abort_upload(const std::string& upload_id);
  // Every chunk marked written in an upload (all pages).
  Result<std::vector<ChunkInfo>> written_chunks(const std::string& upload_id);
  // Bytes [offset, offset + length) of the file at `path` (fewer past its
  // end), in order, into `sink`: only the chunks and blocks that cover them
  // are fetched, and every block is checked before it is passed on.
  using RangeSink = std::function<Status(const char* data, size_t size)>;
  Status read_range(const std::string& path, uint64_t offset, uint64_t length,
                    const RangeSink& sink);
  // Downloads `remote` to `local` ("-" for standard output). A local file
  // is written under a temporary name and renamed once every chunk verified.
  Status get(const std::string& remote, const std::string& local, const ProgressFn& progress);

 private:
  // Sends every chunk of the file at `fd` not `done` (by index).
  Status put_chunks(const std::string& upload_id, uint64_t chunk_size, uint64_t size, int fd,
                    const std::vector<bool>& done, const ProgressFn& progress, PutReport* report);
  // Uploads what `fd` yields until its end (a pipe: no size known ahead).
  Status put_stream(int fd, const std::string& remote, const PutOptions& options,
                    const ProgressFn& progress, PutReport* report);
  Status fetch_chunks(const std::string& path, const StatReply& file, int fd,
                      const ProgressFn& progress);
  Status fetch_sequential(const std::string& path, const StatReply& file, int out,
                          const ProgressFn& progress);

  ClientOptions options_;
  zmq::context_t& ctx_;  // process_context()
  MasterClient master_;
};

}  // namespace dfs
