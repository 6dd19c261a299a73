#include <cstdio>
#include <ctime>
#include <iostream>

#include "bus/curve_keys.h"
#include "client/cli/cli.h"
#include "codec/path.h"

namespace dfs::cli {

std::vector<po::option> key_as_argument(std::vector<std::string>& args) {
  if (args.empty() || args.front().empty() || args.front()[0] != '-' || !is_z85_key(args.front()))
    return {};
  po::option key;
  key.value.push_back(args.front());
  key.original_tokens.push_back(args.front());
  args.erase(args.begin());
  return {key};
}

bool parse_args(const Context& ctx, po::options_description& desc,
                po::positional_options_description& positional, po::variables_map* vm,
                const std::string& usage, int* exit_code) {
  desc.add_options()("help,h", "show this help");
  try {
    po::store(po::command_line_parser(ctx.args)
                  .options(desc)
                  .positional(positional)
                  .extra_style_parser(key_as_argument)
                  .run(),
              *vm);
    if (vm->count("help")) {
      std::cout << "usage: dfs " << usage << "\n" << desc << "\n";
      *exit_code = 0;
      return false;
    }
    po::notify(*vm);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dfs %s: %s\nusage: dfs %s\n", ctx.command.c_str(), e.what(),
                 usage.c_str());
    *exit_code = 2;
    return false;
  }
  return true;
}

int fail(const std::string& what, const Status& s) {
  std::fprintf(stderr, "dfs %s: %s (%s)\n", what.c_str(), s.message().c_str(),
               std::string(code_name(s.code())).c_str());
  return 1;
}

bool remote_path(const std::string& input, std::string* out) {
  auto p = normalize_path(input);
  if (!p.is_ok()) {
    std::fprintf(stderr, "dfs: %s\n", p.status().message().c_str());
    return false;
  }
  *out = p.value();
  return true;
}

std::string format_time(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
  return buf;
}

}  // namespace dfs::cli
