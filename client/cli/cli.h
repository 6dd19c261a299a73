// The `dfs` command line: one function per subcommand. Each returns the
// process exit code: 0 success, 1 failure (the message already printed),
// 2 usage error.
#pragma once

#include <boost/program_options.hpp>

#include <string>
#include <vector>

#include "client/client.h"

namespace dfs::cli {

namespace po = boost::program_options;

struct Context {
  Client* client;
  std::string command;
  std::vector<std::string> args;  // after the subcommand name
};

// Z85 keys may begin with '-' (about one in 85 does): a token that is a
// whole key is an argument, never an option, wherever it appears.
std::vector<po::option> key_as_argument(std::vector<std::string>& args);

// Parses a subcommand's arguments; prints usage and returns false on error
// or --help (setting *exit_code).
bool parse_args(const Context& ctx, po::options_description& desc,
                po::positional_options_description& positional, po::variables_map* vm,
                const std::string& usage, int* exit_code);

// Prints "dfs: <what>: <message> (<code>)" to stderr and returns 1.
int fail(const std::string& what, const Status& s);
// Normalizes a user-typed remote path; prints an error on failure.
bool remote_path(const std::string& input, std::string* out);

// dfs admin keys list|add|revoke (args start at the operation).
struct KeysFlags {
  bool json = false;
  std::string groups;    // add: groups=...
  std::string endpoint;  // add, a master: its api
  int wait_s = 10;       // seconds to wait for every live worker to take the change in
};
int admin_keys(Context& ctx, const std::vector<std::string>& args, const KeysFlags& flags);

// dfs admin uploads list|show|abort (args start at the operation).
int admin_uploads(Context& ctx, const std::vector<std::string>& args, bool json);

int cmd_put(Context& ctx);
int cmd_get(Context& ctx);
int cmd_cat(Context& ctx);
int cmd_ls(Context& ctx);
int cmd_stat(Context& ctx);
int cmd_rm(Context& ctx);
int cmd_mv(Context& ctx);
int cmd_mkdir(Context& ctx);
int cmd_chmod(Context& ctx);
int cmd_chown(Context& ctx);
int cmd_df(Context& ctx);
int cmd_fsck(Context& ctx);
int cmd_admin(Context& ctx);
int cmd_keygen(Context& ctx);  // needs no cluster: ctx.client is null
// Runs before any Client (or ZeroMQ context) exists: it may fork.
int cmd_mount(const ClientOptions& client, const std::vector<std::string>& args);

std::string format_time(int64_t ms);

}  // namespace dfs::cli
