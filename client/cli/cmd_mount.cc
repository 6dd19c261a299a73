// dfs mount MOUNTPOINT: the namespace as a local file system (client/mount/).
#include <sys/stat.h>

#include <cstdio>
#include <iostream>

#include "bus/units.h"
#include "client/cli/cli.h"
#include "client/mount/mount.h"

namespace dfs::cli {

int cmd_mount(const ClientOptions& client, const std::vector<std::string>& args) {
  Context ctx{nullptr, "mount", args};
  po::options_description desc("mount options");
  desc.add_options()                                                                     //
      ("mountpoint", po::value<std::string>()->required(), "an empty local directory")   //
      ("foreground,f", po::bool_switch(), "stay in the foreground (else run detached)")  //
      ("attr-ttl-ms", po::value<int64_t>()->default_value(1000),
       "how long names and attributes are trusted before asking again")  //
      ("readahead-max", po::value<std::string>()->default_value("16M"),
       "largest readahead window per open file (it holds at most two)")  //
      ("allow-other", po::bool_switch(),
       "let other local users use the mount (as this mount's dfs user)")  //
      ("log", po::value<std::string>()->default_value(""),
       "log file (default: standard error in the foreground, else none)")  //
      ("debug,d", po::bool_switch(), "log every request the mount makes of the masters");
  po::positional_options_description pos;
  pos.add("mountpoint", 1);
  po::variables_map vm;
  int rc = 0;
  if (!parse_args(ctx, desc, pos, &vm, "mount MOUNTPOINT [options]", &rc)) return rc;
  MountOptions options;
  options.client = client;
  options.mountpoint = vm["mountpoint"].as<std::string>();
  options.foreground = vm["foreground"].as<bool>();
  options.attr_ttl_ms = std::max<int64_t>(0, vm["attr-ttl-ms"].as<int64_t>());
  options.allow_other = vm["allow-other"].as<bool>();
  options.log_file = vm["log"].as<std::string>();
  options.debug = vm["debug"].as<bool>();
  auto ra = parse_size(vm["readahead-max"].as<std::string>());
  if (!ra.is_ok() || ra.value() < (1 << 20) || ra.value() > (1ULL << 30)) {
    std::fprintf(stderr, "dfs mount: --readahead-max: want a size from 1M to 1G\n");
    return 2;
  }
  options.readahead_max = ra.value();
  struct stat st {};
  if (::stat(options.mountpoint.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    std::fprintf(stderr, "dfs mount: %s is not a directory\n", options.mountpoint.c_str());
    return 2;
  }
  return run_mount(options);
}

}  // namespace dfs::cli
