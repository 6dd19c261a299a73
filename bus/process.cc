#include "bus/process.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <malloc.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

namespace dfs {
namespace {

std::atomic<bool> g_stop{false};

void on_stop_signal(int) { g_stop.store(true); }

}  // namespace

std::string local_cluster_config() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "";
  // Only from a build tree of a checkout (<checkout>/build*/bin/), and only
  // a file of this user's that no one else may change: it names the keys
  // to trust.
  auto bin = exe.parent_path(), build = bin.parent_path();
  if (bin.filename() != "bin" || build.filename().string().rfind("build", 0) != 0) return "";
  auto conf = build.parent_path() / ".dfs" / "dfs.conf";
  struct stat st {};
  if (::stat(conf.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return "";
  if (st.st_uid != ::geteuid() || (st.st_mode & 022) != 0) return "";
  return conf.string();
}

Status parse_options(int argc, char** argv, po::options_description& desc, po::variables_map* vm,
                     const std::string& usage, bool find_local_config) {
  desc.add_options()                                                           //
      ("help,h", "show this help")                                             //
      ("config", po::value<std::string>(), "config file (key = value lines)")  //
      ("log-level", po::value<std::string>()->default_value("info"),
       "trace, debug, info, warn, error, critical or off");
  try {
    po::store(po::parse_command_line(argc, argv, desc), *vm);
    po::store(po::parse_environment(desc,
                                    [&desc](const std::string& env) -> std::string {
                                      if (env.rfind("DFS_", 0) != 0) return "";
                                      std::string name = env.substr(4);
                                      for (auto& c : name) {
                                        c = c == '_' ? '-' : static_cast<char>(std::tolower(c));
                                      }
                                      return desc.find_nothrow(name, false) ? name : "";
                                    }),
              *vm);
    std::string path = vm->count("config") ? (*vm)["config"].as<std::string>()
                       : find_local_config ? local_cluster_config()
                                           : "";
    if (!path.empty()) {
      std::ifstream in(path);
      if (!in) return invalid_argument("cannot read config file " + path);
      po::store(po::parse_config_file(in, desc, /*allow_unregistered=*/false), *vm);
    }
    if (vm->count("help")) {
      std::cout << usage << "\n" << desc << "\n";
      return {Code::kCancelled, "help"};
    }
    po::notify(*vm);
  } catch (const po::error& e) {
    return invalid_argument(e.what());
  }
  return Status::ok();
}

Status init_logging(const std::string& component, const std::string& file,
                    const std::string& level) {
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") {
    return invalid_argument("unknown log level '" + level + "'");
  }
  try {
    std::shared_ptr<spdlog::logger> logger;
    if (file.empty()) {
      logger = spdlog::stderr_color_mt(component);
    } else {
      std::filesystem::create_directories(std::filesystem::path(file).parent_path());
      logger = spdlog::basic_logger_mt(component, file);
    }
    logger->set_level(lvl);
    logger->flush_on(spdlog::level::warn);
    spdlog::set_default_logger(logger);
    spdlog::flush_every(std::chrono::seconds(1));
  } catch (const std::exception& e) {
    return io_error(std::string("cannot open log: ") + e.what());
  }
  return Status::ok();
}

void install_stop_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

bool stop_requested() { return g_stop.load(); }
void request_stop() { g_stop.store(true); }

void tune_allocator() {
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
}

int guarded_main(const char* name, int (*run)(int, char**), int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: fatal: %s\n", name, e.what());
    return 1;
  }
}

Status write_pid_file(const std::string& path) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return io_error("cannot write " + tmp);
    out << getpid() << "\n";
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return io_error("cannot rename " + tmp);
  return Status::ok();
}

}  // namespace dfs
