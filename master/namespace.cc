#include "master/namespace.h"

#include <rocksdb/write_batch.h>

#include <algorithm>

#include "bus/keyring.h"
#include "codec/codec.h"
#include "codec/path.h"
#include "master/keys.h"

namespace dfs {
namespace {

constexpr uint64_t kRootInode = 1;
constexpr std::string_view kMemberPrefix = "member/";
// Every counter in one value, written with each entry: be64 applied index,
// next inode, files, directories, uploads.
const char kCountersKey[] = "counters";
// Older stores kept each counter under its own key (read, then dropped).
const char kAppliedKey[] = "applied_index";
const char kNextInodeKey[] = "next_inode";
const char kFilesKey[] = "files";
const char kDirsKey[] = "dirs";
const char kUploadsKey[] = "uploads";
// The root directory's inode, once its owner, group or mode was set.
const char kRootKey[] = "root";
// The keyring's changes made through the log: a KeyringUpdate.
const char kLogKeysKey[] = "log_keys";

// Commands a user's request becomes; every other one the leader makes for
// itself or for admin, and a caller without privilege never runs.
bool is_user_command(MsgType type) {
  switch (type) {
    case MsgType::kMkdirCmd:
    case MsgType::kCommitFileCmd:
    case MsgType::kDeleteCmd:
    case MsgType::kRenameCmd:
    case MsgType::kSetAttrCmd:
    case MsgType::kMarkReplicaBadCmd:
    case MsgType::kCreateUploadCmd:
    case MsgType::kAllocateChunkCmd:
    case MsgType::kCommitUploadCmd:
    case MsgType::kAbortUploadCmd:
    case MsgType::kChunkWrittenCmd:
    case MsgType::kPartWrittenCmd:
      return true;
    default:
      return false;
  }
}

}  // namespace

EntryInfo Namespace::entry_info(const std::string& name, const Inode& inode) {
  EntryInfo e;
  e.name = name;
  e.kind = inode.kind;
  e.size = inode.size;
  e.mtime_ms = inode.mtime_ms;
  e.replication = inode.replication;
  e.chunk_size = inode.chunk_size;
  e.chunk_count = inode.chunks.size();
  Ownership o = inode.ownership();
  e.owner = o.effective_owner();
  e.group = o.effective_group();
  e.mode = o.effective_mode();
  e.etag = inode.etag;
  return e;
}

Namespace::Namespace(std::unique_ptr<MetaStore> store, bool sync_writes)
    : store_(std::move(store)),
      sync_writes_(sync_writes),
      uploads_(store_.get()),
      sessions_(store_.get()) {}

Result<std::unique_ptr<Namespace>> Namespace::open(const std::string& dir, bool sync_writes) {
  auto store = MetaStore::open(dir, /*wal=*/sync_writes);
  if (!store.is_ok()) return store.status();
  std::unique_ptr<Namespace> ns(new Namespace(std::move(store).value(), sync_writes));
  DFS_RETURN_IF_ERROR(ns->load_counters());
  return ns;
}

Status Namespace::load_counters() {
  auto get = [&](const char* key, uint64_t* out) -> Status {
    std::string v;
    auto s = store_->db()->Get(rocksdb::ReadOptions(), store_->meta(), key, &v);
    if (s.IsNotFound()) return Status::ok();
    DFS_RETURN_IF_ERROR(from_rocks(s, std::string("read ") + key));
    *out = from_be64(v);
    return Status::ok();
  };
  std::string packed;
  auto s = store_->db()->Get(rocksdb::ReadOptions(), store_->meta(), kCountersKey, &packed);
  if (s.ok()) {
    if (packed.size() != 40) return Status(Code::kCorruption, "stored counters are unreadable");
    std::string_view v(packed);
    applied_index_ = from_be64(v.substr(0, 8));
    counters_.next_inode = from_be64(v.substr(8, 8));
    counters_.files = from_be64(v.substr(16, 8));
    counters_.dirs = from_be64(v.substr(24, 8));
    counters_.uploads = from_be64(v.substr(32, 8));
  } else if (s.IsNotFound()) {
    DFS_RETURN_IF_ERROR(get(kAppliedKey, &applied_index_));
    DFS_RETURN_IF_ERROR(get(kNextInodeKey, &counters_.next_inode));
    DFS_RETURN_IF_ERROR(get(kFilesKey, &counters_.files));
    DFS_RETURN_IF_ERROR(get(kDirsKey, &counters_.dirs));
    DFS_RETURN_IF_ERROR(get(kUploadsKey, &counters_.uploads));
    legacy_counters_ = applied_index_ != 0;
  } else {
    return from_rocks(s, "read counters");
  }
  auto r = store_->scan_prefix(store_->meta(), kMemberPrefix);
  for (; r.valid(); r.next()) {
    members_[from_be64(r.key().substr(kMemberPrefix.size()))] =
        decode_stored<MemberRecord>(r.value(), "member record");
  }
  MetaStore::check_scan(r);
  std::unique_ptr<rocksdb::Iterator> w(
      store_->db()->NewIterator(rocksdb::ReadOptions(), store_->workers()));
  for (w->SeekToFirst(); w->Valid(); w->Next()) {
    auto rec = decode_stored<WorkerRecord>(w->value().ToStringView(), "worker record");
    if (rec.draining) draining_.insert(rec.id);
  }
  if (!w->status().ok()) return from_rocks(w->status(), "read workers");
  log_keys_ = KeyringUpdate{};
  if (auto v = store_->get(store_->meta(), kLogKeysKey)) {
    log_keys_ = decode_stored<KeyringUpdate>(*v, "log keys");
  }
  return load_root();
}

Status Namespace::load_root() {
  root_ = Inode{};
  if (auto v = store_->get(store_->meta(), kRootKey)) root_ = decode_stored<Inode>(*v, "root");
  root_.id = kRootInode;
  root_.kind = static_cast<uint8_t>(EntryKind::kDirectory);
  return Status::ok();
}

Result<std::optional<Inode>> Namespace::child(uint64_t parent, const std::string& name) const {
  std::string key = entry_key(parent, name);
  if (auto it = entries_.find(key); it != entries_.end()) return std::optional<Inode>(it->second);
  std::string v;
  auto s = store_->db()->Get(rocksdb::ReadOptions(), store_->inodes(), key, &v);
  if (s.IsNotFound()) return std::optional<Inode>();
  DFS_RETURN_IF_ERROR(from_rocks(s, "read entry " + name));
  auto inode = decode<Inode>(v);
  if (!inode.is_ok()) {
    return Status(Code::kCorruption, "stored entry '" + name + "': " + inode.status().message());
  }
  remember(std::move(key), inode.value());
  return std::optional<Inode>(std::move(inode).value());
}

void Namespace::remember(std::string key, Inode inode) const {
  if (inode.chunks.size() > kMaxCachedChunks) return;
  if (entries_.size() >= kMaxCachedEntries && entries_.count(key) == 0) {
    // An arbitrary entry makes room: the first of a bucket a moving cursor
    // picks (begin() would often be the entry remembered just before).
    for (size_t tries = 0; tries < entries_.bucket_count(); ++tries) {
      evict_cursor_ += 0x9e3779b97f4a7c15ull;
      size_t b = evict_cursor_ % entries_.bucket_count();
      if (entries_.bucket_size(b) == 0) continue;
      std::string victim = entries_.begin(b)->first;
      entries_.erase(victim);
      break;
    }
  }
  entries_.insert_or_assign(std::move(key), std::move(inode));
}

void Namespace::write(rocksdb::WriteBatch* batch) {
  // What the batch leaves in each key of the entries' column family (and,
  // for a listener, of the chunks'): a value, or none. Every way a batch can
  // change a key is here.
  struct Changes : rocksdb::WriteBatch::Handler {
    uint32_t entries_cf = 0;
    uint32_t chunks_cf = 0;
    bool keep_all = false;  // a listener wants every value, however large
    bool range = false;
    std::unordered_map<std::string, std::optional<std::string>> entries;
    std::unordered_map<std::string, std::optional<std::string>> chunks;
    rocksdb::Status PutCF(uint32_t id, const rocksdb::Slice& key,
                          const rocksdb::Slice& value) override {
      if (id == chunks_cf && keep_all) chunks[key.ToString()] = value.ToString();
      if (id != entries_cf) return rocksdb::Status::OK();
      // A value too large to cache is not even copied: it leaves no entry.
      auto& slot = entries[key.ToString()];
      if (keep_all || value.size() <= kMaxCachedEntryBytes) {
        slot = value.ToString();
      } else {
        slot.reset();
      }
      return rocksdb::Status::OK();
    }
    rocksdb::Status DeleteCF(uint32_t id, const rocksdb::Slice& key) override {
      if (id == entries_cf) entries[key.ToString()].reset();
      if (id == chunks_cf && keep_all) chunks[key.ToString()].reset();
      return rocksdb::Status::OK();
    }
    rocksdb::Status SingleDeleteCF(uint32_t id, const rocksdb::Slice& key) override {
      return DeleteCF(id, key);
    }
    rocksdb::Status MergeCF(uint32_t id, const rocksdb::Slice& key,
                            const rocksdb::Slice&) override {
      if (id == entries_cf || id == chunks_cf) range = true;  // not used: the value is unknown here
      return DeleteCF(id, key);
    }
    rocksdb::Status DeleteRangeCF(uint32_t id, const rocksdb::Slice&,
                                  const rocksdb::Slice&) override {
      if (id == entries_cf || id == chunks_cf) range = true;
      return rocksdb::Status::OK();
    }
  } changes;
  changes.entries_cf = store_->inodes()->GetID();
  changes.chunks_cf = store_->chunks()->GetID();
  changes.keep_all = listener_ != nullptr;
  auto s = batch->Iterate(&changes);
  store_->write(batch, sync_writes_);
  if (!s.ok() || changes.range) {
    // Never written by this state machine; a listener could not follow it.
    if (listener_) fatal_state("a written batch cannot be followed: " + s.ToString());
    entries_.clear();
    return;
  }
  // The cache now holds what the store does: a new entry is there for the
  // stat that usually follows its create.
  // New values first, then removals: a listener sees a renamed file's
  // chunks under the new key before the old key goes.
  for (auto& [key, value] : changes.entries) {
    entries_.erase(key);
    if (!value) continue;
    auto inode = decode<Inode>(*value);
    if (!inode.is_ok()) continue;  // checked where it was encoded; never happens
    if (listener_) listener_->on_entry(key, &inode.value());
    if (value->size() <= kMaxCachedEntryBytes) remember(key, std::move(inode).value());
  }
  if (listener_) {
    for (auto& [key, value] : changes.entries) {
      if (!value) listener_->on_entry(key, nullptr);
    }
  }
  for (auto& [id, value] : changes.chunks) {
    if (!value) {
      listener_->on_chunk_record(id, nullptr);
      continue;
    }
    ChunkRecord record;
    if (!value->empty()) {
      auto decoded = decode<ChunkRecord>(*value);
      if (decoded.is_ok()) record = std::move(decoded).value();
    }
    listener_->on_chunk_record(id, &record);
  }
}

Result<Namespace::Located> Namespace::locate(const std::string& path) const {
  Located loc;
  loc.inode = root_;
  std::string walked;
  const auto parts = split_path(path);
  size_t first = 0;
  if (parts.size() >= 2) {
    // Most lookups are of entries in a directory walked before: start there.
    std::string parent = parent_path(path);
    if (auto it = dir_ids_.find(parent); it != dir_ids_.end()) {
      loc.inode.id = it->second;
      walked = parent;
      first = parts.size() - 1;
    }
  }
  for (size_t i = first; i < parts.size(); ++i) {
    const auto& part = parts[i];
    if (!loc.inode.is_dir()) return Status(Code::kNotADirectory, walked + " is not a directory");
    auto c = child(loc.inode.id, part);
    if (!c.is_ok()) return c.status();
    walked += "/" + part;
    if (!c->has_value()) return not_found(walked + " does not exist");
    loc.parent = loc.inode.id;
    loc.name = part;
    loc.inode = std::move(**c);
    if (i + 1 < parts.size() && loc.inode.is_dir()) {
      if (dir_ids_.size() >= kMaxCachedDirs) dir_ids_.clear();
      dir_ids_.emplace(walked, loc.inode.id);
    }
  }
  return loc;
}

Result<uint64_t> Namespace::directory_id(const std::string& path) const {
  auto loc = locate(path);
  if (!loc.is_ok()) return loc.status();
  if (!loc->inode.is_dir()) return Status(Code::kNotADirectory, path + " is not a directory");
  return loc->inode.id;
}

Result<Inode> Namespace::accessible(const Caller& who, const std::string& path,
                                    uint8_t want) const {
  if (who.superuser) return lookup(path);
  // Walked whole, each directory checked: the cache of directory ids
  // skips exactly the directories whose search permission matters.
  Inode at = root_;
  std::string walked;
  for (const auto& part : split_path(path)) {
    if (!at.is_dir()) return Status(Code::kNotADirectory, walked + " is not a directory");
    if (!may(who, at.ownership(), kMaySearch)) {
      return permission_denied(who, at.ownership(), kMaySearch, walked.empty() ? "/" : walked);
    }
    auto c = child(at.id, part);
    if (!c.is_ok()) return c.status();
    walked += "/" + part;
    if (!c->has_value()) return not_found(walked + " does not exist");
    at = std::move(**c);
  }
  if (want != 0 && !may(who, at.ownership(), want)) {
    return permission_denied(who, at.ownership(), want, path);
  }
  return at;
}

Result<Inode> Namespace::lookup(const std::string& path) const {
  auto loc = locate(path);
  if (!loc.is_ok()) return loc.status();
  return std::move(loc.value().inode);
}

Result<std::vector<EntryInfo>> Namespace::list(const std::string& path, const std::string& prefix,
                                               const std::string& start_after, size_t limit,
                                               bool* more) const {
  auto dir = directory_id(path);
  if (!dir.is_ok()) return dir.status();
  std::string base = be64(dir.value());
  std::string seek = base + prefix;
  if (!start_after.empty() && start_after >= prefix) seek = base + start_after + '\0';
  std::vector<EntryInfo> out;
  *more = false;
  auto r = store_->scan(store_->inodes(), seek, prefix_end(base + prefix));
  for (; r.valid(); r.next()) {
    if (out.size() == limit) {
      *more = true;
      break;
    }
    auto inode = decode<Inode>(r.value());
    std::string name(r.key().substr(8));
    if (!inode.is_ok())
      return Status(Code::kCorruption, "stored entry '" + name + "' is unreadable");
    out.push_back(entry_info(name, inode.value()));
  }
  DFS_RETURN_IF_ERROR(from_rocks(r.status(), "list " + path));
  return out;
}

std::vector<WorkerAddr> Namespace::workers() const {
  std::vector<WorkerAddr> out;
  std::unique_ptr<rocksdb::Iterator> it(
      store_->db()->NewIterator(rocksdb::ReadOptions(), store_->workers()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto w = decode<WorkerAddr>(it->value().ToStringView());
    if (w.is_ok()) out.push_back(w.value());
  }
  return out;
}

std::optional<WorkerAddr> Namespace::worker(const std::string& id) const {
  auto v = store_->get(store_->workers(), id);
  if (!v) return std::nullopt;
  return decode_stored<WorkerAddr>(*v, "worker " + id);
}

bool Namespace::has_expired(int64_t upload_cutoff_ms, int64_t session_cutoff_ms,
                            int64_t lease_cutoff_ms) const {
  upload_cutoff_ms = std::max<int64_t>(upload_cutoff_ms, 0);
  session_cutoff_ms = std::max<int64_t>(session_cutoff_ms, 0);
  if (!uploads_.idle_before(upload_cutoff_ms, 1).empty() ||
      sessions_.any_idle_before(session_cutoff_ms)) {
    return true;
  }
  // Bounded: leases behind more idle uploads than this wait for them.
  constexpr size_t kLeasesLookedAt = 1000;
  for (const auto& id :
       uploads_.idle_before(std::max<int64_t>(lease_cutoff_ms, 0), kLeasesLookedAt)) {
    auto upload = uploads_.find(id);
    if (upload && upload->lease) return true;
  }
  return false;
}

std::map<std::string, std::vector<std::string>> Namespace::garbage(size_t limit) const {
  std::map<std::string, std::vector<std::string>> out;
  std::unique_ptr<rocksdb::Iterator> it(
      store_->db()->NewIterator(rocksdb::ReadOptions(), store_->garbage()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string key = it->key().ToString();
    auto sep = key.find('\0');
    if (sep == std::string::npos) continue;
    auto& ids = out[key.substr(0, sep)];
    if (ids.size() < limit) ids.push_back(key.substr(sep + 1));
  }
  return out;
}

Result<ChunkRecord> Namespace::chunk_record(const std::string& id) const {
  std::string value;
  auto s = store_->db()->Get(rocksdb::ReadOptions(), store_->chunks(), id, &value);
  if (s.IsNotFound()) return not_found("no file references chunk " + id);
  DFS_RETURN_IF_ERROR(from_rocks(s, "read chunk " + id));
  if (value.empty()) return ChunkRecord{};
  auto record = decode<ChunkRecord>(value);
  if (!record.is_ok())
    return Status(Code::kCorruption, "stored chunk record " + id + " is unreadable");
  return record;
}

void Namespace::fill_corrupt(Inode* inode) const {
  for (auto& c : inode->chunks) {
    auto record = chunk_record(c.id);
    c.corrupt = record.is_ok() ? std::move(record->corrupt) : std::vector<std::string>{};
  }
}

Status Namespace::for_each_file(
    const std::string& path,
    const std::function<bool(const std::string&, const Inode&)>& fn) const {
  auto top = locate(path);
  if (!top.is_ok()) return top.status();
  if (!top->inode.is_dir()) {
    fn(path, top->inode);
    return Status::ok();
  }
  // Depth first, with an explicit stack: directory trees can be deep.
  std::vector<std::pair<uint64_t, std::string>> dirs{{top->inode.id, path == "/" ? "" : path}};
  while (!dirs.empty()) {
    auto [dir, dir_path] = dirs.back();
    dirs.pop_back();
    std::string base = be64(dir);
    auto r = store_->scan_prefix(store_->inodes(), base);
    for (; r.valid(); r.next()) {
      std::string child_path = dir_path + "/" + std::string(r.key().substr(8));
      auto inode = decode<Inode>(r.value());
      if (!inode.is_ok())
        return Status(Code::kCorruption, "stored entry " + child_path + " is unreadable");
      if (inode->is_dir()) {
        dirs.emplace_back(inode->id, child_path);
      } else if (!fn(child_path, inode.value())) {
        return Status::ok();
      }
    }
    DFS_RETURN_IF_ERROR(from_rocks(r.status(), "walk " + dir_path));
  }
  return Status::ok();
}

bool Namespace::references_chunk(const std::string& id) const {
  std::string value;
  return store_->db()->Get(rocksdb::ReadOptions(), store_->chunks(), id, &value).ok();
}

Result<std::string> Namespace::scan_entries(
    const std::string& after, size_t budget,
    const std::function<size_t(std::string_view, const Inode&)>& fn) const {
  std::string from = after.empty() ? std::string() : after + '\0';
  std::string last;
  size_t spent = 0;
  auto r = store_->scan(store_->inodes(), from, "");
  for (; r.valid() && spent < budget; r.next()) {
    auto inode = decode<Inode>(r.value());
    if (!inode.is_ok()) return Status(Code::kCorruption, "a stored entry is unreadable");
    spent += std::max<size_t>(1, fn(r.key(), inode.value()));
    last.assign(r.key());
  }
  DFS_RETURN_IF_ERROR(from_rocks(r.status(), "scan entries"));
  if (!r.valid()) return std::string();  // nothing after the last one
  return last;
}

bool Namespace::garbage_pending(const std::string& worker, const std::string& chunk_id) const {
  std::string value;
  return store_->db()
      ->Get(rocksdb::ReadOptions(), store_->garbage(), garbage_key(worker, chunk_id), &value)
      .ok();
}

uint64_t Namespace::garbage_count() const {
  uint64_t n = 0;
  std::unique_ptr<rocksdb::Iterator> it(
      store_->db()->NewIterator(rocksdb::ReadOptions(), store_->garbage()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) ++n;
  return n;
}

// ---- applying commands ----

Status Namespace::apply(uint64_t index, MsgType type, std::string_view body) {
  return apply(index, Command{static_cast<uint16_t>(type), std::string(body), {}, 0, Caller{}})
      .status;
}

Outcome Namespace::apply_entry(uint64_t index, std::string_view data) {
  auto cmd = decode<Command>(data);
  if (cmd.is_ok()) return apply(index, cmd.value());
  // Every replica fails to decode the same bytes alike: an answer, not a skip.
  Outcome out;
  out.status = protocol_error("log entry " + std::to_string(index) +
                              " is not a command: " + cmd.status().message());
  rocksdb::WriteBatch batch;
  save_counters(&batch, index);
  write(&batch);
  applied_index_ = index;
  return out;
}

namespace {
// The answer for a request with `seq` from a client whose newest applied
// request is `r` (r.seq >= seq).
Outcome replayed(const SessionRecord& r, uint64_t seq) {
  Outcome out;
  if (r.seq != seq) {
    out.status = invalid_argument("request " + std::to_string(seq) +
                                  " arrived after a newer one from the same client (" +
                                  std::to_string(r.seq) + ") and was not applied");
    return out;
  }
  out.status = Status(static_cast<Code>(r.code), r.message);
  out.reply_type = static_cast<MsgType>(r.reply_type);
  out.reply_body = r.reply_body;
  return out;
}
}  // namespace

std::optional<Outcome> Namespace::answered(const RequestSession& session, const Caller& who) const {
  if (session.client == 0) return std::nullopt;
  auto prior = sessions_.find(session.client);
  // Another user's session is theirs: refused when it applies, never replayed.
  if (!prior || prior->seq < session.seq || !prior->belongs_to(who.user)) return std::nullopt;
  return replayed(*prior, session.seq);
}

Outcome Namespace::apply(uint64_t index, const Command& cmd) {
  if (index <= applied_index_) {
    fatal_state("log entry " + std::to_string(index) + " applied again (applied index " +
                std::to_string(applied_index_) + ")");
  }
  rocksdb::WriteBatch batch;
  Outcome out;
  std::optional<SessionRecord> prior;
  const RequestSession& session = cmd.session;
  if (session.client != 0) prior = sessions_.find(session.client);
  if (prior && !prior->belongs_to(cmd.caller.user)) {
    // Session ids are random, but one learned or guessed must not replay
    // another user's answers or move their sequence on.
    out.status =
        Status(Code::kPermissionDenied, "request session " + std::to_string(session.client) +
                                            " belongs to another user; start a new one");
  } else if (prior && prior->seq >= session.seq) {
    // A retry of what this client already had applied, or an older request
    // overtaken by a newer one: nothing changes.
    out = replayed(*prior, session.seq);
  } else {
    const Counters saved = counters_;
    new_keys_.reset();
    out = run(cmd, &batch);
    if (out.status.is_ok() && new_keys_) {
      new_keys_->version = index;
      batch.Put(store_->meta(), kLogKeysKey, encode(*new_keys_));
      log_keys_ = std::move(*new_keys_);
    }
    new_keys_.reset();
    Code code = out.status.code();
    if (code == Code::kCorruption || code == Code::kIoError) {
      fatal_state("applying log entry " + std::to_string(index) + " (" +
                  std::string(msg_type_name(cmd.msg_type())) + "): " + out.status.to_string());
    }
    if (!out.status.is_ok()) {
      batch.Clear();
      counters_ = saved;
      out.event.reset();
      out.released.clear();
      out.reply_type = MsgType::kOkReply;
      out.reply_body.clear();
    }
    if (session.client != 0) {
      SessionRecord record{session.seq,          static_cast<uint16_t>(out.status.code()),
                           out.status.message(), static_cast<uint16_t>(out.reply_type),
                           out.reply_body,       cmd.time_ms,
                           cmd.caller.user};
      sessions_.put(&batch, session.client, record, prior);
    }
  }
  save_counters(&batch, index);
  write(&batch);
  applied_index_ = index;
  return out;
}

void Namespace::save_counters(rocksdb::WriteBatch* batch, uint64_t index) {
  batch->Put(store_->meta(), kCountersKey,
             be64(index) + be64(counters_.next_inode) + be64(counters_.files) +
                 be64(counters_.dirs) + be64(counters_.uploads));
  if (legacy_counters_) {
    for (const char* key : {kAppliedKey, kNextInodeKey, kFilesKey, kDirsKey, kUploadsKey}) {
      batch->Delete(store_->meta(), key);
    }
    legacy_counters_ = false;
  }
}

Outcome Namespace::run(const Command& cmd, rocksdb::WriteBatch* batch) {
  Outcome out;
  const int64_t now = cmd.time_ms;
  const Caller& who = cmd.caller;
  if (!who.superuser && !is_user_command(cmd.msg_type())) {
    out.status = Status(Code::kPermissionDenied,
                        who.user + " may not run " + std::string(msg_type_name(cmd.msg_type())));
    return out;
  }
  // Decodes the body as Cmd and applies it with `fn`.
  auto with = [&](auto type_tag, auto fn) {
    using Cmd = typename decltype(type_tag)::type;
    auto decoded = decode<Cmd>(cmd.body);
    out.status = decoded.is_ok() ? fn(decoded.value()) : decoded.status();
  };
  switch (cmd.msg_type()) {
    case MsgType::kMkdirCmd:
      with(std::type_identity<MkdirCmd>{},
           [&](const MkdirCmd& c) { return apply_mkdir(c, who, batch); });
      break;
    case MsgType::kCommitFileCmd:
      with(std::type_identity<CommitFileCmd>{}, [&](const CommitFileCmd& c) {
        Status s = apply_commit(c, who, batch);
        if (s.is_ok()) {
          out.event =
              ClusterEvent{"file.committed", c.path, std::to_string(c.size) + " bytes", 0, 0};
        }
        return s;
      });
      break;
    case MsgType::kDeleteCmd:
      with(std::type_identity<DeleteCmd>{},
           [&](const DeleteCmd& c) { return apply_delete(c, who, batch); });
      break;
    case MsgType::kRenameCmd:
      with(std::type_identity<RenameCmd>{},
           [&](const RenameCmd& c) { return apply_rename(c, who, batch); });
      break;
    case MsgType::kSetAttrCmd:
      with(std::type_identity<SetAttrCmd>{},
           [&](const SetAttrCmd& c) { return apply_set_attr(c, who, batch); });
      break;
    case MsgType::kGcDoneCmd:
      with(std::type_identity<GcDoneCmd>{},
           [&](const GcDoneCmd& c) { return apply_gc_done(c, batch); });
      break;
    case MsgType::kAddGarbageCmd:
      with(std::type_identity<AddGarbageCmd>{},
           [&](const AddGarbageCmd& c) { return apply_add_garbage(c, batch); });
      break;
    case MsgType::kMarkReplicaBadCmd:
      with(std::type_identity<MarkReplicaBadCmd>{},
           [&](const MarkReplicaBadCmd& c) { return apply_mark_bad(c, who, batch, &out); });
      break;
    case MsgType::kCollectOrphansCmd:
      with(std::type_identity<CollectOrphansCmd>{},
           [&](const CollectOrphansCmd& c) { return apply_collect_orphans(c, batch); });
      break;
    case MsgType::kRegisterWorkerCmd:
      with(std::type_identity<RegisterWorkerCmd>{},
           [&](const RegisterWorkerCmd& c) { return apply_register_worker(c, batch); });
      break;
    case MsgType::kWorkerDrainCmd:
      with(std::type_identity<WorkerDrainCmd>{},
           [&](const WorkerDrainCmd& c) { return apply_worker_drain(c, batch, &out); });
      break;
    case MsgType::kCreateUploadCmd:
      with(std::type_identity<CreateUploadCmd>{},
           [&](const CreateUploadCmd& c) { return apply_create_upload(c, who, now, batch, &out); });
      break;
    case MsgType::kAllocateChunkCmd:
      with(std::type_identity<AllocateChunkCmd>{},
           [&](const AllocateChunkCmd& c) { return apply_allocate(c, who, now, batch, &out); });
      break;
    case MsgType::kCommitUploadCmd:
      with(std::type_identity<CommitUploadCmd>{},
           [&](const CommitUploadCmd& c) { return apply_commit_upload(c, who, now, batch, &out); });
      break;
    case MsgType::kChunkWrittenCmd:
      with(std::type_identity<ChunkWrittenCmd>{},
           [&](const ChunkWrittenCmd& c) { return apply_chunk_written(c, who, now, batch); });
      break;
    case MsgType::kPartWrittenCmd:
      with(std::type_identity<PartWrittenCmd>{},
           [&](const PartWrittenCmd& c) { return apply_part_written(c, who, now, batch, &out); });
      break;
    case MsgType::kAbortUploadCmd:
      with(std::type_identity<AbortUploadCmd>{},
           [&](const AbortUploadCmd& c) { return apply_abort_upload(c, who, batch, &out); });
      break;
    case MsgType::kExpireCmd:
      with(std::type_identity<ExpireCmd>{},
           [&](const ExpireCmd& c) { return apply_expire(c, now, batch, &out); });
      break;
    case MsgType::kMemberChangeCmd:
      with(std::type_identity<MemberChangeCmd>{},
           [&](const MemberChangeCmd& c) { return apply_member_change(c, batch, &out); });
      break;
    case MsgType::kReplicaAddedCmd:
      with(std::type_identity<ReplicaAddedCmd>{},
           [&](const ReplicaAddedCmd& c) { return apply_replica_added(c, batch, &out); });
      break;
    case MsgType::kReplicaDroppedCmd:
      with(std::type_identity<ReplicaDroppedCmd>{},
           [&](const ReplicaDroppedCmd& c) { return apply_replica_dropped(c, batch, &out); });
      break;
    case MsgType::kKeyAddCmd:
      with(std::type_identity<KeyAddCmd>{},
           [&](const KeyAddCmd& c) { return apply_key_add(c, &out); });
      break;
    case MsgType::kKeyRevokeCmd:
      with(std::type_identity<KeyRevokeCmd>{},
           [&](const KeyRevokeCmd& c) { return apply_key_revoke(c, &out); });
      break;
    default:
      out.status = protocol_error("not a command: " + std::string(msg_type_name(cmd.msg_type())));
  }
  return out;
}

void Namespace::put_entry(rocksdb::WriteBatch* batch, uint64_t parent, const std::string& name,
                          const Inode& inode) {
  batch->Put(store_->inodes(), entry_key(parent, name), encode(inode));
}

void Namespace::add_garbage(rocksdb::WriteBatch* batch, const std::vector<ChunkInfo>& chunks) {
  for (const auto& c : chunks) {
    batch->Delete(store_->chunks(), c.id);
    for (const auto& w : c.replicas) batch->Put(store_->garbage(), garbage_key(w, c.id), "");
  }
}

Status Namespace::apply_mkdir(const MkdirCmd& cmd, const Caller& who, rocksdb::WriteBatch* batch) {
  if (cmd.path == "/") {
    return cmd.parents ? Status::ok() : Status(Code::kAlreadyExists, "/ already exists");
  }
  Inode dir = root_;
  std::string walked;
  auto parts = split_path(cmd.path);
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string dir_path = walked.empty() ? "/" : walked;
    if (!may(who, dir.ownership(), kMaySearch)) {
      return permission_denied(who, dir.ownership(), kMaySearch, dir_path);
    }
    walked += "/" + parts[i];
    bool last = i + 1 == parts.size();
    auto c = child(dir.id, parts[i]);
    if (!c.is_ok()) return c.status();
    if (c->has_value()) {
      Inode& existing = **c;
      if (!existing.is_dir()) return Status(Code::kNotADirectory, walked + " is a file");
      if (last && !cmd.parents) return Status(Code::kAlreadyExists, walked + " already exists");
      dir = std::move(existing);
      continue;
    }
    if (!last && !cmd.parents) return not_found("parent directory " + walked + " does not exist");
    if (!may(who, dir.ownership(), kMayWrite)) {
      return permission_denied(who, dir.ownership(), kMayWrite, dir_path);
    }
    Inode inode;
    inode.id = counters_.next_inode++;
    inode.kind = static_cast<uint8_t>(EntryKind::kDirectory);
    inode.mtime_ms = cmd.mtime_ms;
    // The group comes from the directory it is made in, as on BSD and HDFS.
    inode.owner = who.user;
    inode.group = dir.ownership().effective_group();
    inode.mode = cmd.mode == kModeUnset ? 0755 : cmd.mode;
    // Directories made on the way keep u+wx, as mkdir -p makes them, or
    // the next step could not go on under a strict umask.
    if (!last) inode.mode |= 0300;
    put_entry(batch, dir.id, parts[i], inode);
    ++counters_.dirs;
    dir = std::move(inode);
  }
  return Status::ok();
}

Result<Inode> Namespace::writable(const Caller& who, const std::string& path, bool overwrite,
                                  std::optional<Inode>* old) const {
  std::string parent = parent_path(path);
  auto dir = accessible(who, parent, kMaySearch);
  if (!dir.is_ok()) {
    if (dir.status().code() == Code::kNotFound)
      return not_found("directory " + parent + " does not exist");
    return dir.status();
  }
  if (!dir->is_dir()) return Status(Code::kNotADirectory, parent + " is not a directory");
  auto existing = child(dir->id, base_name(path));
  if (!existing.is_ok()) return existing.status();
  if (existing->has_value()) {
    const Inode& file = **existing;
    if (file.is_dir()) return Status(Code::kIsADirectory, path + " is a directory");
    if (!overwrite) return Status(Code::kAlreadyExists, path + " already exists");
    // Replacing the content is writing the file, as with O_TRUNC.
    if (!may(who, file.ownership(), kMayWrite)) {
      return permission_denied(who, file.ownership(), kMayWrite, path);
    }
  } else if (!may(who, dir->ownership(), kMayWrite)) {
    return permission_denied(who, dir->ownership(), kMayWrite, parent);
  }
  *old = std::move(existing).value();
  return dir;
}

Status Namespace::apply_commit(const CommitFileCmd& cmd, const Caller& who,
                               rocksdb::WriteBatch* batch) {
  std::optional<Inode> old;
  auto dir = writable(who, cmd.path, cmd.overwrite, &old);
  if (!dir.is_ok()) return dir.status();
  Inode inode;
  if (old) {
    add_garbage(batch, old->chunks);
    inode.id = old->id;
    inode.owner = old->owner;  // new content, same file
    inode.group = old->group;
    inode.mode = old->mode;
  } else {
    inode.id = counters_.next_inode++;
    ++counters_.files;
    inode.owner = who.user;
    inode.group = dir->ownership().effective_group();
    inode.mode = cmd.mode;
  }
  inode.kind = static_cast<uint8_t>(EntryKind::kFile);
  inode.size = cmd.size;
  inode.mtime_ms = cmd.mtime_ms;
  inode.replication = cmd.replication;
  inode.chunk_size = cmd.chunk_size;
  inode.chunks = cmd.chunks;
  inode.etag = cmd.etag;  // new content: an old ETag would be wrong
  for (auto& c : inode.chunks) {
    c.corrupt.clear();  // kept in the chunks index, never in the inode
    batch->Put(store_->chunks(), c.id, "");
  }
  put_entry(batch, dir->id, base_name(cmd.path), inode);
  return Status::ok();
}

Status Namespace::apply_mark_bad(const MarkReplicaBadCmd& cmd, const Caller& who,
                                 rocksdb::WriteBatch* batch, Outcome* out) {
  // Only a reader of the file may speak of its chunks.
  if (!who.superuser && (cmd.path.empty() || cmd.parent != 0)) {
    return Status(Code::kPermissionDenied, who.user + " must name the file of a bad replica");
  }
  if (cmd.parent != 0) {
    size_t at = 0;
    auto file = file_with_chunk(cmd.parent, cmd.name, cmd.chunk_id, &at);
    if (!file.is_ok()) return file.status();
    const auto& replicas = file->chunks[at].replicas;
    if (std::find(replicas.begin(), replicas.end(), cmd.worker_id) == replicas.end()) {
      return not_found("chunk " + cmd.chunk_id + " has no replica on " + cmd.worker_id);
    }
  } else if (!cmd.path.empty()) {
    // The reader's view may be stale: the file must still hold this replica.
    auto inode = accessible(who, cmd.path, kMayRead);
    if (!inode.is_ok()) return inode.status();
    auto chunk = std::find_if(inode->chunks.begin(), inode->chunks.end(),
                              [&](const ChunkInfo& c) { return c.id == cmd.chunk_id; });
    if (chunk == inode->chunks.end()) {
      return not_found(cmd.path + " has no chunk " + cmd.chunk_id + " (rewritten meanwhile?)");
    }
    const auto& replicas = chunk->replicas;
    if (std::find(replicas.begin(), replicas.end(), cmd.worker_id) == replicas.end()) {
      return not_found("chunk " + cmd.chunk_id + " has no replica on " + cmd.worker_id);
    }
  }
  auto record = chunk_record(cmd.chunk_id);
  if (!record.is_ok()) return record.status();
  auto& bad = record->corrupt;
  if (std::find(bad.begin(), bad.end(), cmd.worker_id) != bad.end()) return Status::ok();
  if (bad.size() >= kMaxReplication) return invalid_argument("too many corrupt replicas recorded");
  bad.push_back(cmd.worker_id);
  batch->Put(store_->chunks(), cmd.chunk_id, encode(record.value()));
  out->event =
      ClusterEvent{"replica.corrupt", cmd.worker_id, cmd.chunk_id + " " + cmd.reason, 0, 0};
  return Status::ok();
}

Status Namespace::apply_collect_orphans(const CollectOrphansCmd& cmd, rocksdb::WriteBatch* batch) {
  // Decided now, in log order: a chunk committed or allocated by an entry
  // before this one is not an orphan, however stale the reporter's view.
  std::vector<ChunkInfo> orphans;
  for (const auto& id : cmd.chunk_ids) {
    if (!references_chunk(id) && !uploads_.is_allocated(id)) {
      orphans.push_back(garbage_chunk(id, {cmd.worker_id}));
    }
  }
  add_garbage(batch, orphans);
  return Status::ok();
}

Status Namespace::delete_children(const Caller& who, rocksdb::WriteBatch* batch, const Inode& dir,
                                  const std::string& path, uint64_t* files, uint64_t* dirs) {
  std::string base = be64(dir.id);
  std::vector<std::pair<Inode, std::string>> subdirs;
  {  // the scan ends before recursing: one open iterator at a time
    auto r = store_->scan_prefix(store_->inodes(), base);
    for (; r.valid(); r.next()) {
      // Emptying a directory is listing it and deleting in it, as rm -r does.
      constexpr uint8_t kEmpty = kMayRead | kMayWrite | kMaySearch;
      if (!may(who, dir.ownership(), kEmpty)) {
        return permission_denied(who, dir.ownership(), kEmpty, path);
      }
      auto inode = decode<Inode>(r.value());
      if (!inode.is_ok())
        return Status(Code::kCorruption, "unreadable entry under a deleted directory");
      batch->Delete(store_->inodes(), r.key());
      if (inode->is_dir()) {
        ++*dirs;
        subdirs.emplace_back(std::move(inode).value(), join_path(path, r.key().substr(8)));
      } else {
        ++*files;
        add_garbage(batch, inode->chunks);
      }
    }
    DFS_RETURN_IF_ERROR(from_rocks(r.status(), "scan directory"));
  }
  for (const auto& [sub, sub_path] : subdirs) {
    DFS_RETURN_IF_ERROR(delete_children(who, batch, sub, sub_path, files, dirs));
  }
  return Status::ok();
}

Status Namespace::apply_delete(const DeleteCmd& cmd, const Caller& who,
                               rocksdb::WriteBatch* batch) {
  if (cmd.path == "/") return invalid_argument("cannot delete /");
  DFS_RETURN_IF_ERROR(accessible(who, parent_path(cmd.path), kMayWrite | kMaySearch).status());
  auto loc = locate(cmd.path);
  if (!loc.is_ok()) return loc.status();
  uint64_t files = 0, dirs = 0;
  if (loc->inode.is_dir()) {
    dir_ids_.clear();  // it and every directory under it go
    bool more = false;
    auto first = list(cmd.path, "", "", 1, &more);
    if (!first.is_ok()) return first.status();
    if (!first->empty() && !cmd.recursive) {
      return Status(Code::kDirectoryNotEmpty, cmd.path + " is not empty (use -r)");
    }
    DFS_RETURN_IF_ERROR(delete_children(who, batch, loc->inode, cmd.path, &files, &dirs));
    ++dirs;
  } else {
    add_garbage(batch, loc->inode.chunks);
    ++files;
  }
  batch->Delete(store_->inodes(), entry_key(loc->parent, loc->name));
  counters_.files -= std::min(counters_.files, files);
  counters_.dirs -= std::min(counters_.dirs, dirs);
  return Status::ok();
}

Status Namespace::apply_rename(const RenameCmd& cmd, const Caller& who,
                               rocksdb::WriteBatch* batch) {
  if (cmd.src == "/") return invalid_argument("cannot rename /");
  if (cmd.dst == "/") return Status(Code::kAlreadyExists, "/ already exists");
  // A rename deletes in one directory and creates in another.
  for (const auto& path : {cmd.src, cmd.dst}) {
    auto dir = accessible(who, parent_path(path), kMayWrite | kMaySearch);
    if (!dir.is_ok() && dir.status().code() == Code::kPermissionDenied) return dir.status();
  }
  auto src = locate(cmd.src);
  if (!src.is_ok()) return src.status();
  if (cmd.src == cmd.dst) return Status::ok();
  if (src->inode.is_dir() && cmd.dst.rfind(cmd.src + "/", 0) == 0) {
    return invalid_argument("cannot move " + cmd.src + " into itself");
  }
  if (src->inode.is_dir()) dir_ids_.clear();  // every path under it changes
  std::string parent = parent_path(cmd.dst);
  auto dir = directory_id(parent);
  if (!dir.is_ok()) {
    if (dir.status().code() == Code::kNotFound)
      return not_found("directory " + parent + " does not exist");
    return dir.status();
  }
  std::string name = base_name(cmd.dst);
  auto existing = child(dir.value(), name);
  if (!existing.is_ok()) return existing.status();
  if (existing->has_value()) {
    const Inode& old = **existing;
    if (!cmd.replace) return Status(Code::kAlreadyExists, cmd.dst + " already exists");
    // Only a file replaces a file: replacing a directory would need it
    // empty and of the same kind, which no caller needs.
    if (old.is_dir()) return Status(Code::kIsADirectory, cmd.dst + " is a directory");
    if (src->inode.is_dir()) return Status(Code::kNotADirectory, cmd.dst + " is not a directory");
    add_garbage(batch, old.chunks);
    counters_.files -= std::min<uint64_t>(counters_.files, 1);
  }
  Inode moved = src->inode;
  moved.mtime_ms = cmd.mtime_ms;
  batch->Delete(store_->inodes(), entry_key(src->parent, src->name));
  put_entry(batch, dir.value(), name, moved);
  return Status::ok();
}

Status Namespace::apply_set_attr(const SetAttrCmd& cmd, const Caller& who,
                                 rocksdb::WriteBatch* batch) {
  // Checked first: whether an entry exists is not told to who may not look.
  DFS_RETURN_IF_ERROR(accessible(who, cmd.path, 0).status());
  auto loc = locate(cmd.path);
  if (!loc.is_ok()) return loc.status();
  Inode inode = loc->inode;
  const Ownership was = inode.ownership();
  const bool owns = who.superuser || who.user == was.effective_owner();
  if (cmd.mode != kModeUnset) {
    if (!owns) {
      return Status(Code::kPermissionDenied, "permission denied: only the owner (" +
                                                 std::string(was.effective_owner()) +
                                                 ") or admin may chmod " + cmd.path);
    }
    inode.mode = cmd.mode;
  }
  if (!cmd.owner.empty() && cmd.owner != was.effective_owner()) {
    if (!who.superuser) {
      return Status(Code::kPermissionDenied,
                    "permission denied: only admin may give " + cmd.path + " to another owner");
    }
    inode.owner = cmd.owner;
  }
  if (!cmd.group.empty() && cmd.group != was.effective_group()) {
    if (!who.superuser && !(owns && who.in_group(cmd.group))) {
      return Status(Code::kPermissionDenied, "permission denied: " + who.user + " may not give " +
                                                 cmd.path + " to group " + cmd.group +
                                                 " (only its owner, to a group they are in)");
    }
    inode.group = cmd.group;
  }
  if (cmd.path == "/") {
    batch->Put(store_->meta(), kRootKey, encode(inode));
    root_ = inode;  // applied in memory now: nothing after this can fail
  } else {
    put_entry(batch, loc->parent, loc->name, inode);
  }
  return Status::ok();
}

Status Namespace::apply_member_change(const MemberChangeCmd& cmd, rocksdb::WriteBatch* batch,
                                      Outcome* out) {
  auto it = members_.find(cmd.id);
  MemberRecord record;
  if (cmd.op == "add") {
    if (it != members_.end() && it->second.wanted == "voter") {
      return Status(Code::kAlreadyExists, "master " + std::to_string(cmd.id) + " is already added");
    }
    record = MemberRecord{cmd.api, "voter"};
  } else {
    record = MemberRecord{it != members_.end() ? it->second.api : cmd.api, "removed"};
  }
  batch->Put(store_->meta(), std::string(kMemberPrefix) + be64(cmd.id), encode(record));
  // Applied in memory now: a command that fails afterwards is none of these.
  members_[cmd.id] = record;
  out->reply_type = MsgType::kMemberChangeReply;
  out->reply_body = encode(MemberChangeReply{cmd.id});
  return Status::ok();
}

Status Namespace::apply_register_worker(const RegisterWorkerCmd& cmd, rocksdb::WriteBatch* batch) {
  // A new address keeps the worker's drain flag.
  WorkerRecord rec{cmd.worker.id, cmd.worker.endpoint, cmd.worker.pipeline,
                   is_draining(cmd.worker.id), cmd.worker.key};
  batch->Put(store_->workers(), rec.id, encode(rec));
  return Status::ok();
}

Status Namespace::apply_worker_drain(const WorkerDrainCmd& cmd, rocksdb::WriteBatch* batch,
                                     Outcome* out) {
  auto v = store_->get(store_->workers(), cmd.worker_id);
  if (!v) return not_found("worker " + cmd.worker_id + " is unknown (never registered)");
  auto rec = decode_stored<WorkerRecord>(*v, "worker " + cmd.worker_id);
  if (rec.draining == cmd.draining) return Status::ok();  // already so: a repeat changes nothing
  rec.draining = cmd.draining;
  batch->Put(store_->workers(), rec.id, encode(rec));
  // Applied in memory now: a command that fails afterwards is none of these.
  if (cmd.draining) {
    draining_.insert(rec.id);
  } else {
    draining_.erase(rec.id);
  }
  out->event = ClusterEvent{cmd.draining ? "worker.draining" : "worker.recommissioned",
                            cmd.worker_id, "", 0, 0};
  return Status::ok();
}

Status Namespace::apply_key_add(const KeyAddCmd& cmd, Outcome* out) {
  auto entry = parse_key_line(cmd.line);
  if (!entry.is_ok()) return entry.status();
  KeyringUpdate keys = log_keys_;
  for (const auto& line : keys.added) {
    auto e = parse_key_line(line);
    if (e.is_ok() && e->key == entry->key) {
      return Status(Code::kAlreadyExists, "the key is in the keyring already, as " +
                                              std::string(role_name(e->role)) + " " + e->name);
    }
  }
  if (keys.added.size() >= kMaxLogKeys) {
    return invalid_argument("the log holds " + std::to_string(keys.added.size()) +
                            " keys already; list more in the keyring file");
  }
  // A key revoked before is admitted again.
  std::erase(keys.revoked, entry->key);
  keys.added.push_back(entry->to_line());
  if (encode(keys).size() > kMaxLogKeyringBytes) {
    return invalid_argument("the keys added through the log would pass " +
                            std::to_string(kMaxLogKeyringBytes >> 10) +
                            " KiB; list more in the keyring file");
  }
  new_keys_ = std::move(keys);
  out->event = ClusterEvent{"key.added", entry->name, std::string(role_name(entry->role)), 0, 0};
  return Status::ok();
}

Status Namespace::apply_key_revoke(const KeyRevokeCmd& cmd, Outcome* out) {
  KeyringUpdate keys = log_keys_;
  std::string name;
  bool was_added = std::erase_if(keys.added, [&](const std::string& line) {
                     auto e = parse_key_line(line);
                     bool match = e.is_ok() && e->key == cmd.key;
                     if (match) name = e->name;
                     return match;
                   }) > 0;
  bool revoked = std::find(keys.revoked.begin(), keys.revoked.end(), cmd.key) != keys.revoked.end();
  if (!was_added && revoked) return Status::ok();  // revoked already: a repeat changes nothing
  // A key the log alone listed needs no record once gone from its list.
  if ((cmd.in_file || !was_added) && !revoked) {
    if (keys.revoked.size() >= kMaxLogKeys ||
        encode(keys).size() + cmd.key.size() + 8 > kMaxLogKeyringBytes) {
      return invalid_argument("the log holds " + std::to_string(keys.revoked.size()) +
                              " revoked keys already: delete revoked keys' lines from every "
                              "keyring file instead");
    }
    keys.revoked.push_back(cmd.key);
  }
  new_keys_ = std::move(keys);
  out->event = ClusterEvent{"key.revoked", name, cmd.key.substr(0, 8) + "...", 0, 0};
  return Status::ok();
}

Status Namespace::apply_gc_done(const GcDoneCmd& cmd, rocksdb::WriteBatch* batch) {
  for (const auto& id : cmd.chunk_ids)
    batch->Delete(store_->garbage(), garbage_key(cmd.worker_id, id));
  return Status::ok();
}

Status Namespace::apply_add_garbage(const AddGarbageCmd& cmd, rocksdb::WriteBatch* batch) {
  add_garbage(batch, cmd.chunks);
  return Status::ok();
}

}  // namespace dfs
