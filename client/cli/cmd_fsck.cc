// fsck: which files have chunks with fewer good replicas than their
// replication, and which have chunks with none at all. Exit 1 when any.
#include <cstdio>
#include <iostream>

#include "client/cli/cli.h"
#include "client/cli/json.h"

namespace dfs::cli {
namespace {

std::string joined(const std::vector<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) out += (out.empty() ? "" : ",") + id;
  return out.empty() ? "-" : out;
}

void print_json(const std::string& path, const FsckReply& rep) {
  JsonWriter j;
  j.begin_object().key("path").value(path);
  j.key("files").value(rep.files).key("chunks").value(rep.chunks);
  j.key("under_replicated").value(rep.under_replicated).key("lost").value(rep.lost);
  j.key("problems").begin_array();
  for (const auto& p : rep.problems) {
    j.begin_object().key("path").value(p.path).key("replication").value(p.replication);
    j.key("index").value(p.chunk.index).key("chunk").value(p.chunk.id);
    for (const auto& [name, list] : {std::pair{"good", &p.good}, std::pair{"down", &p.down},
                                     std::pair{"corrupt", &p.chunk.corrupt}}) {
      j.key(name).begin_array();
      for (const auto& w : *list) j.value(w);
      j.end_array();
    }
    j.end_object();
  }
  j.end_array().key("truncated").value(rep.problems.size() < rep.under_replicated);
  j.end_object();
  std::cout << j.str() << "\n";
}

}  // namespace

int cmd_fsck(Context& ctx) {
  po::options_description desc("fsck options");
  desc.add_options()("path", po::value<std::string>()->default_value("/"), "file or directory")(
      "json", "print JSON");
  po::positional_options_description pos;
  pos.add("path", 1);
  po::variables_map vm;
  int code = 0;
  if (!parse_args(ctx, desc, pos, &vm, "fsck [--json] [PATH]", &code)) return code;
  std::string path;
  if (!remote_path(vm["path"].as<std::string>(), &path)) return 2;
  auto rep = ctx.client->fsck(path);
  if (!rep.is_ok()) return fail("fsck", rep.status());
  if (vm.count("json")) {
    print_json(path, rep.value());
  } else {
    for (const auto& p : rep->problems) {
      std::printf("%s chunk %llu (%s): %zu of %u good [good %s] [down %s] [corrupt %s]%s\n",
                  p.path.c_str(), static_cast<unsigned long long>(p.chunk.index),
                  p.chunk.id.c_str(), p.good.size(), p.replication, joined(p.good).c_str(),
                  joined(p.down).c_str(), joined(p.chunk.corrupt).c_str(),
                  p.good.empty() ? " LOST" : "");
    }
    if (rep->problems.size() < rep->under_replicated) {
      std::printf("... and %llu more\n",
                  static_cast<unsigned long long>(rep->under_replicated - rep->problems.size()));
    }
    std::printf("%s: %llu files, %llu chunks checked; %llu under-replicated, %llu lost: %s\n",
                path.c_str(), static_cast<unsigned long long>(rep->files),
                static_cast<unsigned long long>(rep->chunks),
                static_cast<unsigned long long>(rep->under_replicated),
                static_cast<unsigned long long>(rep->lost),
                rep->under_replicated == 0 ? "HEALTHY" : "UNHEALTHY");
  }
  return rep->under_replicated == 0 ? 0 : 1;
}

}  // namespace dfs::cli
