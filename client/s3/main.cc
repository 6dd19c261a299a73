// dfs-s3: the S3 gateway (client/s3/gateway.h).
#include <pthread.h>
#include <signal.h>

#include <cstdio>

#include "bus/endpoints.h"
#include "bus/process.h"
#include "bus/security.h"
#include "client/s3/gateway.h"

namespace {

int run(int argc, char** argv) {
  using namespace dfs;
  tune_allocator();
  // SIGTERM and SIGINT are taken by the gateway's stopper thread: blocked
  // here, before any thread (the logger's flusher) starts, so every thread
  // inherits the mask and none is killed by them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  po::options_description desc("dfs-s3 options");
  add_security_options(desc);
  desc.add_options()  //
      ("masters",
       po::value<std::string>()->default_value("127.0.0.1:7400,127.0.0.1:7404,127.0.0.1:7408"),
       "comma-separated master api endpoints")                                     //
      ("listen", po::value<std::string>()->default_value("127.0.0.1"), "address")  //
      ("port", po::value<int>()->default_value(7490), "port")                      //
      ("credentials", po::value<std::string>()->default_value(""),
       "access keys file: ACCESS-KEY-ID SECRET-ACCESS-KEY DFS-KEY-FILE per line")  //
      ("threads", po::value<int>()->default_value(16), "requests served at once")  //
      ("timeout-ms", po::value<int>()->default_value(10000),
       "per-request timeout to the cluster")                                              //
      ("parallel", po::value<int>()->default_value(4), "chunks sent at once per upload")  //
      ("log-file", po::value<std::string>()->default_value(""),
       "log file (default: standard error)");
  po::variables_map vm;
  Status s = parse_options(argc, argv, desc, &vm,
                           "usage: dfs-s3 --credentials FILE [--port N] [--masters LIST]",
                           /*find_local_config=*/true);
  if (s.code() == Code::kCancelled) return 0;
  if (s.is_ok()) s = init_security(security_flags(vm), "dfs-s3");
  if (s.is_ok())
    s = init_logging("dfs-s3", vm["log-file"].as<std::string>(), vm["log-level"].as<std::string>());
  auto masters = s.is_ok() ? parse_endpoint_list(vm["masters"].as<std::string>())
                           : Result<std::vector<HostPort>>(s);
  for (const auto& m : masters.is_ok() ? masters.value() : std::vector<HostPort>{}) {
    if (s.is_ok()) s = process_security().master_key(m).status();
  }
  if (!masters.is_ok() || !s.is_ok()) {
    std::fprintf(stderr, "dfs-s3: %s\n", (!s.is_ok() ? s : masters.status()).message().c_str());
    return 2;
  }
  s3::GatewayOptions options;
  options.client.masters = masters.value();
  options.client.timeout = std::chrono::milliseconds(std::max(100, vm["timeout-ms"].as<int>()));
  options.client.parallel_chunks = std::clamp(vm["parallel"].as<int>(), 1, 64);
  options.listen = vm["listen"].as<std::string>();
  options.port = vm["port"].as<int>();
  options.credentials = vm["credentials"].as<std::string>();
  options.threads = std::clamp(vm["threads"].as<int>(), 1, 256);
  if (options.credentials.empty()) {
    std::fprintf(stderr, "dfs-s3: --credentials is required\n");
    return 2;
  }
  return s3::run_gateway(options);
}

}  // namespace

int main(int argc, char** argv) { return dfs::guarded_main("dfs-s3", run, argc, argv); }
