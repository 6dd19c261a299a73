// What every dfs binary does the same way: read its settings from flags, DFS_*
// environment variables and an optional config file (in that order of
// precedence); log through spdlog; stop cleanly on SIGTERM/SIGINT.
#pragma once

#include <boost/program_options.hpp>

#include <string>

#include "codec/status.h"

namespace dfs {

namespace po = boost::program_options;

// Adds --config, --log-level and --help to `desc`, then parses argv, the
// environment (DFS_BASE_PORT fills --base-port) and the config file
// (key = value lines, keys as the long flag names). Prints usage on --help.
// Returns kCancelled when the caller should exit 0 (help was printed).
// With `find_local_config` (client tools), a process given no config file
// reads the local cluster's (local_cluster_config()) if there is one.
Status parse_options(int argc, char** argv, po::options_description& desc, po::variables_map* vm,
                     const std::string& usage, bool find_local_config = false);

// The config file launch/up writes for clients of the cluster it starts in
// the checkout's default run directory (<checkout>/.dfs/dfs.conf, found from
// this binary's place in <checkout>/build*/bin/), or "" if there is none.
std::string local_cluster_config();

// Logs to `file` (created with its directory) or to stderr when empty.
// Level names: trace, debug, info, warn, error, critical, off.
Status init_logging(const std::string& component, const std::string& file,
                    const std::string& level);

// SIGTERM and SIGINT set a flag the main loops poll; SIGPIPE is ignored.
void install_stop_signals();
bool stop_requested();
void request_stop();  // the same flag, set from code (tests, fatal paths)

// Makes 1 MiB frame buffers come from the heap and be reused. By default
// glibc maps and unmaps every allocation over 128 KiB, which costs a page
// fault per 4 KiB on every frame moved. Every dfs binary calls this first.
void tune_allocator();

// Runs a binary's real main. Nothing should throw out of it; if something
// does (a library call we did not expect to fail), prints "<name>: fatal:
// <what>" and returns 1 rather than aborting silently.
int guarded_main(const char* name, int (*run)(int, char**), int argc, char** argv);

// Writes the pid to `path` atomically (temp + rename).
Status write_pid_file(const std::string& path);

}  // namespace dfs
