// dfs: the command line client.
#include <cstdio>
#include <iostream>
#include <map>

#include "bus/endpoints.h"
#include "bus/process.h"
#include "bus/security.h"
#include "client/cli/cli.h"

namespace {

const char* kUsage = R"(usage: dfs [--masters LIST] [--timeout-ms N] [--stale] COMMAND [ARGS]

commands:
  put LOCAL REMOTE      upload a file (LOCAL '-' reads standard input)
  get REMOTE LOCAL      download a file (LOCAL '-' writes standard output)
  cat REMOTE            print a file
  ls [-l] [-R] [PATH]   list a directory, a file, or names starting with PATH
  stat PATH             show a file's size, chunks and replicas
  rm [-r] PATH          delete a file or directory
  mv SRC DST            rename or move
  mkdir [-p] PATH       create a directory
  chmod MODE PATH...    set the permission bits (octal, e.g. 750)
  chown OWNER[:GROUP] PATH...
                        set the owner (admin only) and group (OWNER may be empty)
  df                    capacity and use of each worker
  fsck [PATH]           files whose chunks have fewer good replicas than wanted
  admin members [...]   list the masters; add, remove one, or hand over the lead
  mount MOUNTPOINT      the namespace as a local file system (FUSE)
  keygen NAME           make a CURVE key pair: NAME.key (secret, 0600) and NAME.pub

'dfs COMMAND --help' shows a command's options. Masters, --key and --keyring
come from the flags, DFS_MASTERS / DFS_KEY / DFS_KEYRING, a config file
(--config / DFS_CONFIG), else the config launch/up writes for the local
cluster (.dfs/dfs.conf in the checkout), else 127.0.0.1:7400 and no keys.)";

}  // namespace

static int run(int argc, char** argv) {
  using namespace dfs;
  tune_allocator();
  namespace po = boost::program_options;
  po::options_description global("global options");
  global.add_options()              //
      ("help,h", "show this help")  //
      ("masters",
       po::value<std::string>()->default_value("127.0.0.1:7400,127.0.0.1:7404,127.0.0.1:7408"),
       "comma-separated master api endpoints (default: the local cluster launch/up starts)")  //
      ("timeout-ms", po::value<int>()->default_value(10000), "per-request timeout")           //
      ("stale", "read from the first master that answers, from its own state (may lag)")      //
      ("parallel", po::value<int>()->default_value(4), "chunks moved at once")                //
      ("umask", po::value<std::string>()->default_value("022"),
       "permission bits new files and directories do not get (octal)")                       //
      ("config", po::value<std::string>(), "config file (key = value lines)")                //
      ("key", po::value<std::string>()->default_value(""), "this client's secret key file")  //
      ("keyring", po::value<std::string>()->default_value(""),
       "the cluster's keyring (where the masters' keys are found)")                         //
      ("insecure", po::bool_switch(), "no CURVE (only for a cluster run with --insecure)")  //
      ("command", po::value<std::string>(), "")                                             //
      ("args", po::value<std::vector<std::string>>(), "");
  po::positional_options_description pos;
  pos.add("command", 1).add("args", -1);
  po::variables_map vm;
  std::vector<std::string> rest;
  try {
    auto parsed = po::command_line_parser(argc, argv)
                      .options(global)
                      .positional(pos)
                      .extra_style_parser(cli::key_as_argument)
                      .allow_unregistered()
                      .run();
    po::store(parsed, vm);
    rest = po::collect_unrecognized(parsed.options, po::include_positional);
    po::store(po::parse_environment(global,
                                    [](const std::string& env) -> std::string {
                                      if (env == "DFS_MASTERS") return "masters";
                                      if (env == "DFS_TIMEOUT_MS") return "timeout-ms";
                                      if (env == "DFS_CONFIG") return "config";
                                      if (env == "DFS_KEY") return "key";
                                      if (env == "DFS_KEYRING") return "keyring";
                                      if (env == "DFS_INSECURE") return "insecure";
                                      if (env == "DFS_UMASK") return "umask";
                                      return "";
                                    }),
              vm);
    std::string config =
        vm.count("config") ? vm["config"].as<std::string>() : local_cluster_config();
    if (!config.empty()) {
      po::options_description file_opts;
      file_opts.add_options()("masters", po::value<std::string>())("timeout-ms", po::value<int>())(
          "key", po::value<std::string>())("keyring", po::value<std::string>())(
          "insecure", po::value<bool>())("umask", po::value<std::string>());
      po::store(po::parse_config_file<char>(config.c_str(), file_opts, true), vm);
    }
    po::notify(vm);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dfs: %s\n", e.what());
    return 2;
  }
  if (!vm.count("command")) {
    std::cout << kUsage << "\n";
    return vm.count("help") ? 0 : 2;
  }
  // collect_unrecognized with include_positional returns the command first.
  std::string command = vm["command"].as<std::string>();
  if (!rest.empty() && rest.front() == command) rest.erase(rest.begin());
  if (vm.count("help")) rest.insert(rest.begin(), "--help");

  static const std::map<std::string, int (*)(cli::Context&)> kCommands = {
      {"put", cli::cmd_put},     {"get", cli::cmd_get},     {"cat", cli::cmd_cat},
      {"ls", cli::cmd_ls},       {"stat", cli::cmd_stat},   {"rm", cli::cmd_rm},
      {"mv", cli::cmd_mv},       {"mkdir", cli::cmd_mkdir}, {"df", cli::cmd_df},
      {"fsck", cli::cmd_fsck},   {"admin", cli::cmd_admin}, {"chmod", cli::cmd_chmod},
      {"chown", cli::cmd_chown},
  };
  if (command == "keygen") {
    cli::Context ctx{nullptr, command, rest};
    return cli::cmd_keygen(ctx);
  }
  auto it = kCommands.find(command);
  if (it == kCommands.end() && command != "mount") {
    std::fprintf(stderr, "dfs: unknown command '%s' (try dfs --help)\n", command.c_str());
    return 2;
  }
  auto masters = parse_endpoint_list(vm["masters"].as<std::string>());
  if (!masters.is_ok()) {
    std::fprintf(stderr, "dfs: --masters: %s\n", masters.status().message().c_str());
    return 2;
  }
  Status s = init_security(security_flags(vm), "dfs");
  for (const auto& m : masters.value()) {
    if (!s.is_ok()) break;
    s = process_security().master_key(m).status();
  }
  if (!s.is_ok()) {
    std::fprintf(stderr, "dfs: %s\n", s.message().c_str());
    return 2;
  }
  auto umask = parse_mode(vm["umask"].as<std::string>());
  if (!umask.is_ok()) {
    std::fprintf(stderr, "dfs: --umask: %s\n", umask.status().message().c_str());
    return 2;
  }
  ClientOptions options;
  options.umask = umask.value();
  options.masters = masters.value();
  options.timeout = std::chrono::milliseconds(std::max(100, vm["timeout-ms"].as<int>()));
  options.parallel_chunks = std::clamp(vm["parallel"].as<int>(), 1, 64);
  options.stale = vm.count("stale") > 0;
  if (command == "mount") return cli::cmd_mount(options, rest);
  Client client(options);
  cli::Context ctx{&client, command, rest};
  return it->second(ctx);
}

int main(int argc, char** argv) { return dfs::guarded_main("dfs", run, argc, argv); }
