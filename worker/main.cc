// dfs-worker: stores chunks and serves them.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>

#include "bus/endpoints.h"
#include "bus/process.h"
#include "bus/security.h"
#include "bus/units.h"
#include "codec/messages.h"
#include "worker/worker_server.h"

static int run(int argc, char** argv) {
  using namespace dfs;
  tune_allocator();
  po::options_description desc("dfs-worker options");
  add_security_options(desc);
  desc.add_options()                                                                      //
      ("id", po::value<std::string>()->required(), "worker id ([a-z0-9_-], at most 32)")  //
      ("listen", po::value<std::string>()->required(), "data endpoint, host:port")        //
      ("pipeline-listen", po::value<std::string>()->default_value(""),
       "pipeline endpoint, host:port (default: the data port + 1)")  //
      ("bulk-listen", po::value<std::string>()->default_value(""),
       "the bulk channel's endpoint, host:port: chunk bytes under AES-256-GCM, keyed over "
       "CURVE (default: the data host, any free port; not bound with --insecure)")  //
      ("masters",
       po::value<std::string>()->default_value("127.0.0.1:7400,127.0.0.1:7404,127.0.0.1:7408"),
       "comma-separated master api endpoints")                         //
      ("dir", po::value<std::string>()->required(), "data directory")  //
      ("capacity", po::value<std::string>()->default_value("0"),
       "bytes this worker may use (e.g. 10G); 0 means the filesystem's size")        //
      ("heartbeat-ms", po::value<int>()->default_value(1000), "heartbeat interval")  //
      ("idle-timeout-ms", po::value<int>()->default_value(30000),
       "abandon a chunk write after this long without a frame")  //
      ("pipeline-timeout-ms", po::value<int>()->default_value(5000),
       "fail a replicated write when the next worker is silent this long (per worker left "
       "in the pipeline)")                                                            //
      ("disk-threads", po::value<int>()->default_value(2), "threads doing disk I/O")  //
      ("group-commit-delay-ms", po::value<int>()->default_value(0),
       "how long a chunk whose last frame arrived may wait for others to commit with it "
       "(larger groups, fewer syncs, later answers)")  //
      ("pack-chunks-up-to", po::value<std::string>()->default_value("1M"),
       "append chunks of at most this size to shared volume files instead of a file each: no "
       "inode, temporary or rename per chunk (0: never; at most 1M)")  //
      ("copy-threads", po::value<int>()->default_value(2),
       "repair copies this worker sends at once")  //
      ("scrub-rate", po::value<std::string>()->default_value("20M"),
       "bytes per second the scrubber re-reads to check every chunk's SHA-256 (0: never)")  //
      ("scrub-interval-s", po::value<int>()->default_value(3600),
       "pause between two scrubber passes over every chunk")  //
      ("report-interval-s", po::value<int>()->default_value(60),
       "send the full chunk inventory to the masters this often")                             //
      ("log-file", po::value<std::string>()->default_value(""), "log file (default stderr)")  //
      ("pid-file", po::value<std::string>()->default_value(""), "write the pid here");
  po::variables_map vm;
  Status s = parse_options(argc, argv, desc, &vm,
                           "usage: dfs-worker --id ID --listen HOST:PORT --dir DIR [options]");
  if (s.code() == Code::kCancelled) return 0;
  if (!s.is_ok()) {
    std::fprintf(stderr, "dfs-worker: %s\n", s.message().c_str());
    return 2;
  }
  WorkerConfig config;
  config.id = vm["id"].as<std::string>();
  config.dir = vm["dir"].as<std::string>();
  auto listen = parse_endpoint(vm["listen"].as<std::string>());
  auto masters = parse_endpoint_list(vm["masters"].as<std::string>());
  auto capacity = parse_size(vm["capacity"].as<std::string>());
  for (const Status* e : {&listen.status(), &masters.status(), &capacity.status()}) {
    if (!e->is_ok()) {
      std::fprintf(stderr, "dfs-worker: %s\n", e->message().c_str());
      return 2;
    }
  }
  if (!is_worker_id(config.id)) {
    std::fprintf(stderr, "dfs-worker: bad worker id '%s' (use 1-32 of a-z 0-9 _ -)\n",
                 config.id.c_str());
    return 2;
  }
  config.listen = listen.value();
  config.pipeline = HostPort{config.listen.host, config.listen.port + 1};
  if (const auto& p = vm["pipeline-listen"].as<std::string>(); !p.empty()) {
    auto pipeline = parse_endpoint(p);
    if (!pipeline.is_ok()) {
      std::fprintf(stderr, "dfs-worker: %s\n", pipeline.status().message().c_str());
      return 2;
    }
    config.pipeline = pipeline.value();
  }
  if (const auto& b = vm["bulk-listen"].as<std::string>(); !b.empty()) {
    auto bulk = parse_endpoint(b);
    if (!bulk.is_ok()) {
      std::fprintf(stderr, "dfs-worker: --bulk-listen: %s\n", bulk.status().message().c_str());
      return 2;
    }
    config.bulk = bulk.value();
  }
  config.masters = masters.value();
  config.capacity = capacity.value();
  config.heartbeat_interval = std::chrono::milliseconds(vm["heartbeat-ms"].as<int>());
  config.idle_timeout = std::chrono::milliseconds(vm["idle-timeout-ms"].as<int>());
  config.hop_timeout = std::chrono::milliseconds(std::max(1, vm["pipeline-timeout-ms"].as<int>()));
  config.disk_threads = std::max(1, vm["disk-threads"].as<int>());
  config.group_commit_delay =
      std::chrono::milliseconds(std::clamp(vm["group-commit-delay-ms"].as<int>(), 0, 1000));
  config.copy_threads = std::max(1, vm["copy-threads"].as<int>());
  auto scrub_rate = parse_size(vm["scrub-rate"].as<std::string>());
  if (!scrub_rate.is_ok()) {
    std::fprintf(stderr, "dfs-worker: --scrub-rate: %s\n", scrub_rate.status().message().c_str());
    return 2;
  }
  config.scrub_rate = scrub_rate.value();
  auto pack = parse_size(vm["pack-chunks-up-to"].as<std::string>());
  if (!pack.is_ok() || pack.value() > ChunkStore::kGroupChunkBytes) {
    std::fprintf(stderr, "dfs-worker: --pack-chunks-up-to: %s\n",
                 pack.is_ok() ? "at most 1M" : pack.status().message().c_str());
    return 2;
  }
  config.pack_max_bytes = pack.value();
  config.scrub_interval = std::chrono::seconds(std::max(0, vm["scrub-interval-s"].as<int>()));
  config.report_interval = std::chrono::seconds(std::max(1, vm["report-interval-s"].as<int>()));

  s = init_logging("worker", vm["log-file"].as<std::string>(), vm["log-level"].as<std::string>());
  if (!s.is_ok()) {
    std::fprintf(stderr, "dfs-worker: %s\n", s.to_string().c_str());
    return 2;
  }
  install_stop_signals();
  if (!vm["pid-file"].as<std::string>().empty()) {
    s = write_pid_file(vm["pid-file"].as<std::string>());
    if (!s.is_ok()) spdlog::warn("{}", s.to_string());
  }
  s = init_security(security_flags(vm), "dfs-worker " + config.id);
  if (s.is_ok()) s = process_security().check_self(Role::kWorker, config.id);
  if (!s.is_ok()) {
    spdlog::error("{}", s.message());
    std::fprintf(stderr, "dfs-worker: %s\n", s.message().c_str());
    return 2;
  }
  if (!process_security().secure()) {
    spdlog::warn("--insecure: no encryption and no authentication on any socket");
  }
  zmq::context_t ctx(1);
  // Admits peers on every CURVE socket of this context; up before any binds.
  ZapHandler zap(ctx);
  WorkerServer server(ctx, config);
  s = server.start();
  if (s.is_ok()) s = server.run();
  if (!s.is_ok()) {
    spdlog::error("dfs-worker {}: {}", config.id, s.to_string());
    std::fprintf(stderr, "dfs-worker %s: %s\n", config.id.c_str(), s.to_string().c_str());
    return 1;
  }
  return 0;
}

int main(int argc, char** argv) { return dfs::guarded_main("dfs-worker", run, argc, argv); }
