// put, get and cat.
#include <sys/stat.h>
#include <unistd.h>

#include "bus/units.h"
#include "client/cli/cli.h"
#include "client/cli/progress.h"
#include "client/local_file.h"
#include "client/upload_manifest.h"
#include "codec/path.h"

namespace dfs::cli {

int cmd_put(Context& ctx) {
  po::options_description desc("put options");
  desc.add_options()                                                                         //
      ("local", po::value<std::string>()->required(), "local file, or - for stdin")          //
      ("remote", po::value<std::string>()->required(), "remote path (or directory)")         //
      ("force,f", "replace an existing remote file (atomically)")                            //
      ("parents,p", "create missing parent directories")                                     //
      ("chunk-size", po::value<std::string>(), "chunk size, e.g. 64M (default: cluster's)")  //
      ("replication", po::value<uint32_t>()->default_value(0),
       "replicas per chunk (0: cluster default)")  //
      ("min-replication", po::value<uint32_t>()->default_value(0),
       "when fewer workers are up, accept this many replicas per chunk (the file is then "
       "under-replicated)")                                                                   //
      ("no-resume", "start afresh, keep no manifest, and abort the upload if the put fails")  //
      ("quiet,q", "no progress bar");
  po::positional_options_description pos;
  pos.add("local", 1).add("remote", 1);
  po::variables_map vm;
  int code = 0;
  if (!parse_args(ctx, desc, pos, &vm, "put [options] LOCAL REMOTE", &code)) return code;
  std::string local = vm["local"].as<std::string>();
  std::string remote;
  if (!remote_path(vm["remote"].as<std::string>(), &remote)) return 2;
  PutOptions options;
  options.overwrite = vm.count("force") > 0;
  options.replication = vm["replication"].as<uint32_t>();
  options.min_replication = vm["min-replication"].as<uint32_t>();
  if (options.replication != 0 && options.min_replication > options.replication) {
    return fail("put", invalid_argument("--min-replication is above --replication"));
  }
  if (vm.count("chunk-size")) {
    auto cs = parse_size(vm["chunk-size"].as<std::string>());
    if (!cs.is_ok()) return fail("put", cs.status());
    options.chunk_size = cs.value();
  }
  // `put file /dir` puts it into /dir, as cp does.
  auto existing = ctx.client->stat(remote);
  if (!existing.is_ok() && existing.status().code() != Code::kNotFound &&
      existing.status().code() != Code::kNotADirectory) {
    return fail("put", existing.status());
  }
  if (existing.is_ok() && existing->entry.is_dir()) {
    if (local == "-") return fail("put", Status(Code::kIsADirectory, remote + " is a directory"));
    remote = join_path(remote, base_name(local));
  }
  if (vm.count("parents") && remote != "/") {
    Status s = ctx.client->mkdir(parent_path(remote), /*parents=*/true);
    if (!s.is_ok()) return fail("put", s);
  }
  uint64_t total = 0;
  struct stat st {};
  if (local != "-" && ::stat(local.c_str(), &st) == 0) total = static_cast<uint64_t>(st.st_size);
  ProgressBar bar("put " + remote, total, !vm.count("quiet") && isatty(STDERR_FILENO));
  options.resume_dir = default_manifest_dir();
  options.resume = !vm.count("no-resume");
  options.notice = [](const std::string& text) {
    std::fprintf(stderr, "dfs put: %s\n", text.c_str());
  };
  PutReport report;
  Status s = ctx.client->put(local, remote, options, bar.callback(), &report);
  bar.finish();
  if (!s.is_ok()) return fail("put", s);
  if (report.chunks_resumed > 0) {
    std::fprintf(stderr, "dfs put: resumed: sent %llu of %llu chunks\n",
                 static_cast<unsigned long long>(report.chunks_sent),
                 static_cast<unsigned long long>(report.chunks));
  }
  return 0;
}

int cmd_get(Context& ctx) {
  po::options_description desc("get options");
  desc.add_options()                                                                  //
      ("remote", po::value<std::string>()->required(), "remote file")                 //
      ("local", po::value<std::string>()->required(), "local path, or - for stdout")  //
      ("quiet,q", "no progress bar");
  po::positional_options_description pos;
  pos.add("remote", 1).add("local", 1);
  po::variables_map vm;
  int code = 0;
  if (!parse_args(ctx, desc, pos, &vm, "get [options] REMOTE LOCAL", &code)) return code;
  std::string remote;
  if (!remote_path(vm["remote"].as<std::string>(), &remote)) return 2;
  std::string local = vm["local"].as<std::string>();
  bool show = !vm.count("quiet") && isatty(STDERR_FILENO) && local != "-";
  uint64_t total = 0;
  if (show) {
    auto st = ctx.client->stat(remote);
    if (st.is_ok()) total = st->entry.size;
  }
  ProgressBar bar("get " + remote, total, show);
  Status s = ctx.client->get(remote, local, bar.callback());
  bar.finish();
  if (!s.is_ok()) return fail("get", s);
  return 0;
}

int cmd_cat(Context& ctx) {
  po::options_description desc("cat options");
  desc.add_options()("remote", po::value<std::vector<std::string>>()->required(), "remote files")(
      "offset", po::value<std::string>(), "start at this byte, e.g. 4096 or 1G (default 0)")(
      "length", po::value<std::string>(), "at most this many bytes, e.g. 4K (default: to the end)");
  po::positional_options_description pos;
  pos.add("remote", -1);
  po::variables_map vm;
  int code = 0;
  if (!parse_args(ctx, desc, pos, &vm, "cat [--offset N] [--length M] REMOTE...", &code)) {
    return code;
  }
  const bool ranged = vm.count("offset") || vm.count("length");
  uint64_t offset = 0, length = UINT64_MAX;
  for (const char* name : {"offset", "length"}) {
    if (!vm.count(name)) continue;
    auto n = parse_size(vm[name].as<std::string>());
    if (!n.is_ok())
      return fail("cat", invalid_argument(std::string("--") + name + ": " + n.status().message()));
    (std::string(name) == "offset" ? offset : length) = n.value();
  }
  for (const auto& r : vm["remote"].as<std::vector<std::string>>()) {
    std::string remote;
    if (!remote_path(r, &remote)) return 2;
    Status s = ranged ? ctx.client->read_range(remote, offset, length,
                                               [](const char* data, size_t size) {
                                                 return write_all_fd(STDOUT_FILENO, data, size,
                                                                     "write output");
                                               })
                      : ctx.client->get(remote, "-", nullptr);
    if (!s.is_ok()) return fail("cat", s);
  }
  return 0;
}

}  // namespace dfs::cli
