// ls, stat, rm, mv, mkdir, chmod and chown.
#include <algorithm>
#include <cstdio>
#include <iostream>

#include "bus/units.h"
#include "client/cli/cli.h"
#include "client/cli/json.h"
#include "codec/path.h"

namespace dfs::cli {
namespace {

std::string mode_octal(uint32_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", mode & kPermissionBits);
  return buf;
}

struct Listed {
  std::string path;
  EntryInfo entry;
};

void print_long(const Listed& l, const std::string& shown) {
  bool dir = l.entry.is_dir();
  std::printf("%s  %-8s %-8s  %10s  %3s  %s  %s%s\n", mode_text(dir, l.entry.mode).c_str(),
              l.entry.owner.c_str(), l.entry.group.c_str(),
              dir ? "-" : human_size(l.entry.size).c_str(),
              dir ? "-" : std::to_string(l.entry.replication).c_str(),
              format_time(l.entry.mtime_ms).c_str(), shown.c_str(), dir ? "/" : "");
}

void entry_json(JsonWriter& j, const std::string& path, const EntryInfo& e) {
  j.begin_object();
  j.key("path").value(path).key("name").value(e.name);
  j.key("type").value(e.is_dir() ? "directory" : "file");
  j.key("size").value(e.size).key("mtime_ms").value(e.mtime_ms);
  j.key("owner").value(e.owner).key("group").value(e.group).key("mode").value(mode_octal(e.mode));
  if (!e.is_dir()) {
    j.key("replication").value(e.replication).key("chunk_size").value(e.chunk_size);
    j.key("chunks").value(e.chunk_count);
  }
  j.end_object();
}

// Lists `dir` (recursively with `recursive`) into `out`.
Status walk(Client& client, const std::string& dir, const std::string& prefix, bool recursive,
            std::vector<Listed>* out) {
  auto entries = client.list(dir, prefix);
  if (!entries.is_ok()) return entries.status();
  for (auto& e : entries.value()) {
    std::string path = join_path(dir, e.name);
    bool descend = recursive && e.is_dir();
    out->push_back({path, std::move(e)});
    if (descend) DFS_RETURN_IF_ERROR(walk(client, path, "", true, out));
  }
  return Status::ok();
}

}  // namespace

int cmd_ls(Context& ctx) {
  po::options_description desc("ls options");
  desc.add_options()                                                                       //
      ("path", po::value<std::string>()->default_value("/"), "directory, file or prefix")  //
      ("long,l", "size, replication and time of each entry")                               //
      ("recursive,R", "list subdirectories too, with full paths")                          //
      ("json", "print JSON");
  po::positional_options_description pos;
  pos.add("path", 1);
  po::variables_map vm;
  int code = 0;
  if (!parse_args(ctx, desc, pos, &vm, "ls [-l] [-R] [--json] [PATH]", &code)) return code;
  std::string input = vm["path"].as<std::string>();
  std::string path;
  if (!remote_path(input, &path)) return 2;
  bool recursive = vm.count("recursive") > 0;
  std::vector<Listed> items;
  auto st = ctx.client->stat(path);
  if (st.is_ok() && st->entry.is_dir()) {
    Status s = walk(*ctx.client, path, "", recursive, &items);
    if (!s.is_ok()) return fail("ls", s);
  } else if (st.is_ok()) {
    items.push_back({path, st->entry});
  } else if (st.status().code() == Code::kNotFound && path != "/") {
    // Not an entry: list the names in its parent that start with it.
    Status s = walk(*ctx.client, parent_path(path), base_name(path), recursive, &items);
    if (!s.is_ok() && s.code() != Code::kNotFound) return fail("ls", s);
    if (items.empty())
      return fail("ls", Status(Code::kNotFound, path + ": no such file, directory or prefix"));
  } else {
    return fail("ls", st.status());
  }
  if (vm.count("json")) {
    JsonWriter j;
    j.begin_array();
    for (const auto& l : items) entry_json(j, l.path, l.entry);
    j.end_array();
    std::cout << j.str() << "\n";
    return 0;
  }
  for (const auto& l : items) {
    std::string shown = recursive ? l.path : l.entry.name;
    if (vm.count("long")) {
      print_long(l, shown);
    } else {
      std::printf("%s%s\n", shown.c_str(), l.entry.is_dir() ? "/" : "");
    }
  }
  return 0;
}

int cmd_stat(Context& ctx) {
  po::options_description desc("stat options");
  desc.add_options()("path", po::value<std::string>()->required(), "file or directory")(
      "json", "print JSON");
  po::positional_options_description pos;
  pos.add("path", 1);
  po::variables_map vm;
  int code = 0;
  if (!parse_args(ctx, desc, pos, &vm, "stat [--json] PATH", &code)) return code;
  std::string path;
  if (!remote_path(vm["path"].as<std::string>(), &path)) return 2;
  auto st = ctx.client->stat(path);
  if (!st.is_ok()) return fail("stat", st.status());
  const auto& e = st->entry;
  if (vm.count("json")) {
    JsonWriter j;
    j.begin_object();
    j.key("path").value(path).key("type").value(e.is_dir() ? "directory" : "file");
    j.key("size").value(e.size).key("mtime_ms").value(e.mtime_ms);
    j.key("owner").value(e.owner).key("group").value(e.group).key("mode").value(mode_octal(e.mode));
    if (!e.is_dir()) {
      j.key("replication").value(e.replication).key("chunk_size").value(e.chunk_size);
      j.key("chunks").begin_array();
      for (const auto& c : st->chunks) {
        j.begin_object().key("index").value(c.index).key("id").value(c.id);
        j.key("size").value(c.size).key("sha256").value(c.sha256);
        j.key("replicas").begin_array();
        for (const auto& r : c.replicas) j.value(r);
        j.end_array();
        j.key("corrupt").begin_array();
        for (const auto& r : c.corrupt) j.value(r);
        j.end_array().end_object();
      }
      j.end_array();
      j.key("workers").begin_object();
      for (const auto& w : st->workers) j.key(w.id).value(w.endpoint);
      j.end_object();
      j.key("down").begin_array();
      for (const auto& w : st->down) j.value(w);
      j.end_array();
    }
    j.end_object();
    std::cout << j.str() << "\n";
    return 0;
  }
  std::printf("path:        %s\n", path.c_str());
  std::printf("type:        %s\n", e.is_dir() ? "directory" : "file");
  std::printf("modified:    %s\n", format_time(e.mtime_ms).c_str());
  std::printf("mode:        %s (%s)\n", mode_text(e.is_dir(), e.mode).c_str(),
              mode_octal(e.mode).c_str());
  std::printf("owner:       %s\n", e.owner.c_str());
  std::printf("group:       %s\n", e.group.c_str());
  if (e.is_dir()) return 0;
  std::printf("size:        %s (%llu bytes)\n", human_size(e.size).c_str(),
              static_cast<unsigned long long>(e.size));
  std::printf("replication: %u\n", e.replication);
  std::printf("chunk size:  %s\n", human_size(e.chunk_size).c_str());
  std::printf("chunks:      %llu%s\n", static_cast<unsigned long long>(e.chunk_count),
              st->chunks.size() < e.chunk_count ? " (not shown: you may not read the file)" : "");
  for (const auto& c : st->chunks) {
    std::string replicas;
    for (const auto& r : c.replicas) {
      bool corrupt = std::find(c.corrupt.begin(), c.corrupt.end(), r) != c.corrupt.end();
      bool down = std::find(st->down.begin(), st->down.end(), r) != st->down.end();
      replicas +=
          (replicas.empty() ? "" : ",") + r + (corrupt ? "(corrupt)" : "") + (down ? "(down)" : "");
    }
    std::printf("  %5llu  %s  %10s  %.16s…  [%s]\n", static_cast<unsigned long long>(c.index),
                c.id.c_str(), human_size(c.size).c_str(), c.sha256.c_str(), replicas.c_str());
  }
  return 0;
}

int cmd_rm(Context& ctx) {
  po::options_description desc("rm options");
  desc.add_options()("path", po::value<std::vector<std::string>>()->required(), "paths")  //
      ("recursive,r", "delete directories and everything in them");
  po::positional_options_description pos;
  pos.add("path", -1);
  po::variables_map vm;
  int code = 0;
  if (!parse_args(ctx, desc, pos, &vm, "rm [-r] PATH...", &code)) return code;
  for (const auto& input : vm["path"].as<std::vector<std::string>>()) {
    std::string path;
    if (!remote_path(input, &path)) return 2;
    Status s = ctx.client->remove(path, vm.count("recursive") > 0);
    if (!s.is_ok()) return fail("rm", s);
  }
  return 0;
}

int cmd_mv(Context& ctx) {
  po::options_description desc("mv options");
  desc.add_options()("src", po::value<std::string>()->required(), "source")  //
      ("dst", po::value<std::string>()->required(),
       "destination (an existing directory: move into it)");
  po::positional_options_description pos;
  pos.add("src", 1).add("dst", 1);
  po::variables_map vm;
  int code = 0;
  if (!parse_args(ctx, desc, pos, &vm, "mv SRC DST", &code)) return code;
  std::string src, dst;
  if (!remote_path(vm["src"].as<std::string>(), &src) ||
      !remote_path(vm["dst"].as<std::string>(), &dst))
    return 2;
  auto target = ctx.client->stat(dst);
  if (!target.is_ok() && target.status().code() != Code::kNotFound &&
      target.status().code() != Code::kNotADirectory) {
    return fail("mv", target.status());
  }
  if (target.is_ok() && target->entry.is_dir() && src != dst) dst = join_path(dst, base_name(src));
  Status s = ctx.client->rename(src, dst);
  if (!s.is_ok()) return fail("mv", s);
  return 0;
}

int cmd_mkdir(Context& ctx) {
  po::options_description desc("mkdir options");
  desc.add_options()("path", po::value<std::vector<std::string>>()->required(), "directories")  //
      ("parents,p", "create missing parents; an existing directory is fine");
  po::positional_options_description pos;
  pos.add("path", -1);
  po::variables_map vm;
  int code = 0;
  if (!parse_args(ctx, desc, pos, &vm, "mkdir [-p] PATH...", &code)) return code;
  for (const auto& input : vm["path"].as<std::vector<std::string>>()) {
    std::string path;
    if (!remote_path(input, &path)) return 2;
    Status s = ctx.client->mkdir(path, vm.count("parents") > 0);
    if (!s.is_ok()) return fail("mkdir", s);
  }
  return 0;
}

int cmd_chmod(Context& ctx) {
  po::options_description desc("chmod options");
  desc.add_options()("mode", po::value<std::string>()->required(), "octal permission bits")  //
      ("path", po::value<std::vector<std::string>>()->required(), "files or directories");
  po::positional_options_description pos;
  pos.add("mode", 1).add("path", -1);
  po::variables_map vm;
  int code = 0;
  if (!parse_args(ctx, desc, pos, &vm, "chmod MODE PATH...", &code)) return code;
  auto mode = parse_mode(vm["mode"].as<std::string>());
  if (!mode.is_ok()) {
    std::fprintf(stderr, "dfs chmod: %s\n", mode.status().message().c_str());
    return 2;
  }
  for (const auto& input : vm["path"].as<std::vector<std::string>>()) {
    std::string path;
    if (!remote_path(input, &path)) return 2;
    Status s = ctx.client->set_attr(path, mode.value(), "", "");
    if (!s.is_ok()) return fail("chmod", s);
  }
  return 0;
}

int cmd_chown(Context& ctx) {
  po::options_description desc("chown options");
  desc.add_options()("owner", po::value<std::string>()->required(),
                     "OWNER, OWNER:GROUP or :GROUP")  //
      ("path", po::value<std::vector<std::string>>()->required(), "files or directories");
  po::positional_options_description pos;
  pos.add("owner", 1).add("path", -1);
  po::variables_map vm;
  int code = 0;
  if (!parse_args(ctx, desc, pos, &vm, "chown OWNER[:GROUP] PATH...", &code)) return code;
  std::string spec = vm["owner"].as<std::string>();
  auto colon = spec.find(':');
  std::string owner = spec.substr(0, colon);
  std::string group = colon == std::string::npos ? "" : spec.substr(colon + 1);
  for (const auto& name : {owner, group}) {
    if (!name.empty() && !is_user_name(name)) {
      std::fprintf(stderr, "dfs chown: '%s' is not a user or group name (1-32 of a-z 0-9 . _ -)\n",
                   name.c_str());
      return 2;
    }
  }
  if (owner.empty() && group.empty()) {
    std::fprintf(stderr, "dfs chown: give OWNER, OWNER:GROUP or :GROUP\n");
    return 2;
  }
  for (const auto& input : vm["path"].as<std::vector<std::string>>()) {
    std::string path;
    if (!remote_path(input, &path)) return 2;
    Status s = ctx.client->set_attr(path, kModeUnset, owner, group);
    if (!s.is_ok()) return fail("chown", s);
  }
  return 0;
}

}  // namespace dfs::cli
