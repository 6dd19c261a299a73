#include "master/namespace.h"

#include <rocksdb/write_batch.h>

#include <algorithm>

#include "codec/codec.h"
#include "codec/path.h"

namespace dfs {
namespace {

constexpr uint64_t kRootInode = 1;
const char kAppliedKey[] = "applied_index";
const char kNextInodeKey[] = "next_inode";
const char kFilesKey[] = "files";
const char kDirsKey[] = "dirs";

std::string be64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(v >> (56 - 8 * i));
  return out;
}

uint64_t from_be64(std::string_view s) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < s.size(); ++i) v = (v << 8) | static_cast<unsigned char>(s[i]);
  return v;
}

std::string entry_key(uint64_t parent, const std::string& name) { return be64(parent) + name; }

std::string garbage_key(const std::string& worker, const std::string& chunk) {
  return worker + '\0' + chunk;
}

EntryInfo to_entry(const std::string& name, const Inode& inode) {
  EntryInfo e;
  e.name = name;
  e.kind = inode.kind;
  e.size = inode.size;
  e.mtime_ms = inode.mtime_ms;
  e.replication = inode.replication;
  e.chunk_size = inode.chunk_size;
  e.chunk_count = inode.chunks.size();
  return e;
}

}  // namespace

Namespace::Namespace(std::unique_ptr<MetaStore> store) : store_(std::move(store)) {}

Result<std::unique_ptr<Namespace>> Namespace::open(const std::string& dir) {
  auto store = MetaStore::open(dir);
  if (!store.is_ok()) return store.status();
  std::unique_ptr<Namespace> ns(new Namespace(std::move(store).value()));
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
  DFS_RETURN_IF_ERROR(get(kAppliedKey, &applied_index_));
  DFS_RETURN_IF_ERROR(get(kNextInodeKey, &next_inode_));
  DFS_RETURN_IF_ERROR(get(kFilesKey, &files_));
  DFS_RETURN_IF_ERROR(get(kDirsKey, &dirs_));
  return Status::ok();
}

Result<std::optional<Inode>> Namespace::child(uint64_t parent, const std::string& name) const {
  std::string v;
  auto s = store_->db()->Get(rocksdb::ReadOptions(), store_->inodes(), entry_key(parent, name), &v);
  if (s.IsNotFound()) return std::optional<Inode>();
  DFS_RETURN_IF_ERROR(from_rocks(s, "read entry " + name));
  auto inode = decode<Inode>(v);
  if (!inode.is_ok()) {
    return Status(Code::kCorruption, "stored entry '" + name + "': " + inode.status().message());
  }
  return std::optional<Inode>(std::move(inode).value());
}

Result<Namespace::Located> Namespace::locate(const std::string& path) const {
  Located loc;
  loc.inode.id = kRootInode;
  loc.inode.kind = static_cast<uint8_t>(EntryKind::kDirectory);
  std::string walked;
  for (const auto& part : split_path(path)) {
    if (!loc.inode.is_dir()) return Status(Code::kNotADirectory, walked + " is not a directory");
    auto c = child(loc.inode.id, part);
    if (!c.is_ok()) return c.status();
    walked += "/" + part;
    if (!c->has_value()) return not_found(walked + " does not exist");
    loc.parent = loc.inode.id;
    loc.name = part;
    loc.inode = std::move(**c);
  }
  return loc;
}

Result<uint64_t> Namespace::directory_id(const std::string& path) const {
  auto loc = locate(path);
  if (!loc.is_ok()) return loc.status();
  if (!loc->inode.is_dir()) return Status(Code::kNotADirectory, path + " is not a directory");
  return loc->inode.id;
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
  std::unique_ptr<rocksdb::Iterator> it(
      store_->db()->NewIterator(rocksdb::ReadOptions(), store_->inodes()));
  for (it->Seek(seek); it->Valid(); it->Next()) {
    auto key = it->key();
    if (!key.starts_with(base + prefix)) break;
    if (out.size() == limit) {
      *more = true;
      break;
    }
    auto inode = decode<Inode>(it->value().ToStringView());
    std::string name = key.ToString().substr(8);
    if (!inode.is_ok())
      return Status(Code::kCorruption, "stored entry '" + name + "' is unreadable");
    out.push_back(to_entry(name, inode.value()));
  }
  DFS_RETURN_IF_ERROR(from_rocks(it->status(), "list " + path));
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
    std::unique_ptr<rocksdb::Iterator> it(
        store_->db()->NewIterator(rocksdb::ReadOptions(), store_->inodes()));
    for (it->Seek(base); it->Valid() && it->key().starts_with(base); it->Next()) {
      std::string child_path = dir_path + "/" + it->key().ToString().substr(8);
      auto inode = decode<Inode>(it->value().ToStringView());
      if (!inode.is_ok())
        return Status(Code::kCorruption, "stored entry " + child_path + " is unreadable");
      if (inode->is_dir()) {
        dirs.emplace_back(inode->id, child_path);
      } else if (!fn(child_path, inode.value())) {
        return Status::ok();
      }
    }
    DFS_RETURN_IF_ERROR(from_rocks(it->status(), "walk " + dir_path));
  }
  return Status::ok();
}

bool Namespace::references_chunk(const std::string& id) const {
  std::string value;
  return store_->db()->Get(rocksdb::ReadOptions(), store_->chunks(), id, &value).ok();
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
  if (index <= applied_index_) {
    return Status(Code::kInternal, "command index " + std::to_string(index) + " already applied");
  }
  const uint64_t saved_next = next_inode_, saved_files = files_, saved_dirs = dirs_;
  rocksdb::WriteBatch batch;
  Status result;
  auto run = [&](auto decoded, auto fn) {
    if (!decoded.is_ok()) {
      result = decoded.status();
    } else {
      result = (this->*fn)(decoded.value(), &batch);
    }
  };
  switch (type) {
    case MsgType::kMkdirCmd:
      run(decode<MkdirCmd>(body), &Namespace::apply_mkdir);
      break;
    case MsgType::kCommitFileCmd:
      run(decode<CommitFileCmd>(body), &Namespace::apply_commit);
      break;
    case MsgType::kDeleteCmd:
      run(decode<DeleteCmd>(body), &Namespace::apply_delete);
      break;
    case MsgType::kRenameCmd:
      run(decode<RenameCmd>(body), &Namespace::apply_rename);
      break;
    case MsgType::kGcDoneCmd:
      run(decode<GcDoneCmd>(body), &Namespace::apply_gc_done);
      break;
    case MsgType::kAddGarbageCmd:
      run(decode<AddGarbageCmd>(body), &Namespace::apply_add_garbage);
      break;
    case MsgType::kMarkReplicaBadCmd:
      run(decode<MarkReplicaBadCmd>(body), &Namespace::apply_mark_bad);
      break;
    case MsgType::kRegisterWorkerCmd: {
      auto cmd = decode<RegisterWorkerCmd>(body);
      result = cmd.status();
      if (cmd.is_ok()) batch.Put(store_->workers(), cmd->worker.id, encode(cmd->worker));
      break;
    }
    default:
      result = protocol_error("not a command: " + std::string(msg_type_name(type)));
  }
  if (!result.is_ok()) {
    batch.Clear();
    next_inode_ = saved_next;
    files_ = saved_files;
    dirs_ = saved_dirs;
  }
  batch.Put(store_->meta(), kAppliedKey, be64(index));
  batch.Put(store_->meta(), kNextInodeKey, be64(next_inode_));
  batch.Put(store_->meta(), kFilesKey, be64(files_));
  batch.Put(store_->meta(), kDirsKey, be64(dirs_));
  store_->write_durable(&batch);
  applied_index_ = index;
  return result;
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

Status Namespace::apply_mkdir(const MkdirCmd& cmd, rocksdb::WriteBatch* batch) {
  if (cmd.path == "/") {
    return cmd.parents ? Status::ok() : Status(Code::kAlreadyExists, "/ already exists");
  }
  uint64_t dir = kRootInode;
  std::string walked;
  auto parts = split_path(cmd.path);
  for (size_t i = 0; i < parts.size(); ++i) {
    walked += "/" + parts[i];
    bool last = i + 1 == parts.size();
    auto c = child(dir, parts[i]);
    if (!c.is_ok()) return c.status();
    if (c->has_value()) {
      const Inode& existing = **c;
      if (!existing.is_dir()) return Status(Code::kNotADirectory, walked + " is a file");
      if (last && !cmd.parents) return Status(Code::kAlreadyExists, walked + " already exists");
      dir = existing.id;
      continue;
    }
    if (!last && !cmd.parents) return not_found("parent directory " + walked + " does not exist");
    Inode inode;
    inode.id = next_inode_++;
    inode.kind = static_cast<uint8_t>(EntryKind::kDirectory);
    inode.mtime_ms = cmd.mtime_ms;
    put_entry(batch, dir, parts[i], inode);
    ++dirs_;
    dir = inode.id;
  }
  return Status::ok();
}

Status Namespace::apply_commit(const CommitFileCmd& cmd, rocksdb::WriteBatch* batch) {
  std::string parent = parent_path(cmd.path);
  auto dir = directory_id(parent);
  if (!dir.is_ok()) {
    if (dir.status().code() == Code::kNotFound)
      return not_found("directory " + parent + " does not exist");
    return dir.status();
  }
  std::string name = base_name(cmd.path);
  auto existing = child(dir.value(), name);
  if (!existing.is_ok()) return existing.status();
  Inode inode;
  if (existing->has_value()) {
    const Inode& old = **existing;
    if (old.is_dir()) return Status(Code::kIsADirectory, cmd.path + " is a directory");
    if (!cmd.overwrite) return Status(Code::kAlreadyExists, cmd.path + " already exists");
    add_garbage(batch, old.chunks);
    inode.id = old.id;
  } else {
    inode.id = next_inode_++;
    ++files_;
  }
  inode.kind = static_cast<uint8_t>(EntryKind::kFile);
  inode.size = cmd.size;
  inode.mtime_ms = cmd.mtime_ms;
  inode.replication = cmd.replication;
  inode.chunk_size = cmd.chunk_size;
  inode.chunks = cmd.chunks;
  for (auto& c : inode.chunks) {
    c.corrupt.clear();  // kept in the chunks index, never in the inode
    batch->Put(store_->chunks(), c.id, "");
  }
  put_entry(batch, dir.value(), name, inode);
  return Status::ok();
}

Status Namespace::apply_mark_bad(const MarkReplicaBadCmd& cmd, rocksdb::WriteBatch* batch) {
  auto record = chunk_record(cmd.chunk_id);
  if (!record.is_ok()) return record.status();
  auto& bad = record->corrupt;
  if (std::find(bad.begin(), bad.end(), cmd.worker_id) != bad.end()) return Status::ok();
  if (bad.size() >= kMaxReplication) return invalid_argument("too many corrupt replicas recorded");
  bad.push_back(cmd.worker_id);
  batch->Put(store_->chunks(), cmd.chunk_id, encode(record.value()));
  return Status::ok();
}

Status Namespace::delete_children(rocksdb::WriteBatch* batch, uint64_t dir, uint64_t* files,
                                  uint64_t* dirs) {
  std::string base = be64(dir);
  std::vector<uint64_t> subdirs;
  std::unique_ptr<rocksdb::Iterator> it(
      store_->db()->NewIterator(rocksdb::ReadOptions(), store_->inodes()));
  for (it->Seek(base); it->Valid() && it->key().starts_with(base); it->Next()) {
    auto inode = decode<Inode>(it->value().ToStringView());
    if (!inode.is_ok())
      return Status(Code::kCorruption, "unreadable entry under a deleted directory");
    batch->Delete(store_->inodes(), it->key());
    if (inode->is_dir()) {
      ++*dirs;
      subdirs.push_back(inode->id);
    } else {
      ++*files;
      add_garbage(batch, inode->chunks);
    }
  }
  DFS_RETURN_IF_ERROR(from_rocks(it->status(), "scan directory"));
  it.reset();
  for (uint64_t sub : subdirs) DFS_RETURN_IF_ERROR(delete_children(batch, sub, files, dirs));
  return Status::ok();
}

Status Namespace::apply_delete(const DeleteCmd& cmd, rocksdb::WriteBatch* batch) {
  if (cmd.path == "/") return invalid_argument("cannot delete /");
  auto loc = locate(cmd.path);
  if (!loc.is_ok()) return loc.status();
  uint64_t files = 0, dirs = 0;
  if (loc->inode.is_dir()) {
    bool more = false;
    auto first = list(cmd.path, "", "", 1, &more);
    if (!first.is_ok()) return first.status();
    if (!first->empty() && !cmd.recursive) {
      return Status(Code::kDirectoryNotEmpty, cmd.path + " is not empty (use -r)");
    }
    DFS_RETURN_IF_ERROR(delete_children(batch, loc->inode.id, &files, &dirs));
    ++dirs;
  } else {
    add_garbage(batch, loc->inode.chunks);
    ++files;
  }
  batch->Delete(store_->inodes(), entry_key(loc->parent, loc->name));
  files_ -= std::min(files_, files);
  dirs_ -= std::min(dirs_, dirs);
  return Status::ok();
}

Status Namespace::apply_rename(const RenameCmd& cmd, rocksdb::WriteBatch* batch) {
  if (cmd.src == "/") return invalid_argument("cannot rename /");
  if (cmd.dst == "/") return Status(Code::kAlreadyExists, "/ already exists");
  auto src = locate(cmd.src);
  if (!src.is_ok()) return src.status();
  if (cmd.src == cmd.dst) return Status::ok();
  if (src->inode.is_dir() && cmd.dst.rfind(cmd.src + "/", 0) == 0) {
    return invalid_argument("cannot move " + cmd.src + " into itself");
  }
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
  if (existing->has_value()) return Status(Code::kAlreadyExists, cmd.dst + " already exists");
  Inode moved = src->inode;
  moved.mtime_ms = cmd.mtime_ms;
  batch->Delete(store_->inodes(), entry_key(src->parent, src->name));
  put_entry(batch, dir.value(), name, moved);
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
