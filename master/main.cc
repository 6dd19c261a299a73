// dfs-master: the metadata service.
#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>

#include "bus/endpoints.h"
#include "bus/process.h"
#include "bus/units.h"
#include "master/master_server.h"

static int run(int argc, char** argv) {
  using namespace dfs;
  tune_allocator();
  po::options_description desc("dfs-master options");
  desc.add_options()                                                      //
      ("id", po::value<std::string>()->default_value("m1"), "master id")  //
      ("listen", po::value<std::string>()->default_value("127.0.0.1:7400"),
       "api endpoint host:port; the next three ports are taken too")                        //
      ("dir", po::value<std::string>()->required(), "metadata directory")                   //
      ("chunk-size", po::value<std::string>()->default_value("64M"), "default chunk size")  //
      ("replication", po::value<uint32_t>()->default_value(3), "default replication")       //
      ("suspect-after-ms", po::value<int>()->default_value(3000),
       "a silent worker is suspect after this")  //
      ("dead-after-ms", po::value<int>()->default_value(10000),
       "a silent worker is dead after this")  //
      ("upload-ttl-s", po::value<int>()->default_value(3600),
       "an idle unfinished upload is dropped after this")                                     //
      ("log-file", po::value<std::string>()->default_value(""), "log file (default stderr)")  //
      ("pid-file", po::value<std::string>()->default_value(""), "write the pid here");
  po::variables_map vm;
  Status s = parse_options(argc, argv, desc, &vm, "usage: dfs-master --dir DIR [options]");
  if (s.code() == Code::kCancelled) return 0;
  if (!s.is_ok()) {
    std::fprintf(stderr, "dfs-master: %s\n", s.message().c_str());
    return 2;
  }
  auto listen = parse_endpoint(vm["listen"].as<std::string>());
  auto chunk_size = parse_size(vm["chunk-size"].as<std::string>());
  for (const Status* e : {&listen.status(), &chunk_size.status()}) {
    if (!e->is_ok()) {
      std::fprintf(stderr, "dfs-master: %s\n", e->message().c_str());
      return 2;
    }
  }
  if (chunk_size.value() < kMinChunkSize || chunk_size.value() > kMaxChunkSize) {
    std::fprintf(stderr, "dfs-master: chunk size must be between 64K and 1G\n");
    return 2;
  }
  s = init_logging("master", vm["log-file"].as<std::string>(), vm["log-level"].as<std::string>());
  if (!s.is_ok()) {
    std::fprintf(stderr, "dfs-master: %s\n", s.to_string().c_str());
    return 2;
  }
  install_stop_signals();
  if (!vm["pid-file"].as<std::string>().empty()) {
    s = write_pid_file(vm["pid-file"].as<std::string>());
    if (!s.is_ok()) spdlog::warn("{}", s.to_string());
  }

  std::string dir = vm["dir"].as<std::string>();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  auto ns = Namespace::open(dir + "/meta");
  if (!ns.is_ok()) {
    spdlog::error("{}", ns.status().to_string());
    std::fprintf(stderr, "dfs-master: %s\n", ns.status().to_string().c_str());
    return 1;
  }
  MasterOptions options;
  options.id = vm["id"].as<std::string>();
  options.default_chunk_size = chunk_size.value();
  options.default_replication = vm["replication"].as<uint32_t>();
  options.registry.suspect_after = std::chrono::milliseconds(vm["suspect-after-ms"].as<int>());
  options.registry.dead_after = std::chrono::milliseconds(vm["dead-after-ms"].as<int>());
  options.upload_ttl = std::chrono::seconds(vm["upload-ttl-s"].as<int>());
  if (options.default_replication < 1 || options.default_replication > kMaxReplication) {
    std::fprintf(stderr, "dfs-master: replication must be between 1 and %u\n", kMaxReplication);
    return 2;
  }
  spdlog::info("master {} opened metadata at index {} ({} files, {} directories)", options.id,
               ns.value()->applied_index(), ns.value()->file_count(),
               ns.value()->directory_count());

  zmq::context_t ctx(1);
  MasterServer server(ctx, listen.value(), options, std::move(ns).value());
  s = server.run();
  if (!s.is_ok()) {
    spdlog::error("{}", s.to_string());
    std::fprintf(stderr, "dfs-master: %s\n", s.to_string().c_str());
    return 1;
  }
  return 0;
}

int main(int argc, char** argv) { return dfs::guarded_main("dfs-master", run, argc, argv); }
