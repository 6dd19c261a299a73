// dfs-master: the metadata service.
#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <map>

#include "bus/endpoints.h"
#include "bus/process.h"
#include "bus/security.h"
#include "bus/units.h"
#include "master/master_server.h"

// "1=host:port,2=host:port" as node id -> api endpoint.
static dfs::Result<std::map<dfs::raft::NodeId, dfs::HostPort>> parse_members(
    const std::string& text) {
  std::map<dfs::raft::NodeId, dfs::HostPort> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find(',', pos);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(pos, end - pos);
    pos = end + 1;
    size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      return dfs::invalid_argument("'" + item + "' is not N=host:port");
    }
    char* rest = nullptr;
    uint64_t id = std::strtoull(item.c_str(), &rest, 10);
    if (id == 0 || rest != item.c_str() + eq)
      return dfs::invalid_argument("bad node id in '" + item + "'");
    auto hp = dfs::parse_endpoint(item.substr(eq + 1));
    if (!hp.is_ok()) return hp.status();
    if (!out.emplace(id, hp.value()).second)
      return dfs::invalid_argument("node " + std::to_string(id) + " named twice");
  }
  return out;
}

static int run(int argc, char** argv) {
  using namespace dfs;
  tune_allocator();
  po::options_description desc("dfs-master options");
  add_security_options(desc);
  desc.add_options()                                                                             //
      ("id", po::value<std::string>()->default_value("m1"), "master name, for logs and status")  //
      ("node-id", po::value<uint64_t>()->default_value(1), "this master's number in the group")  //
      ("peers", po::value<std::string>()->default_value(""),
       "every founding member as N=host:port (api endpoints, this one included), comma-separated; "
       "empty: this master alone")  //
      ("ticket-key", po::value<std::string>()->default_value(""),
       "secret key file to sign chunk tickets with (dfs keygen --ticket); the keyring's ticket "
       "lines name its public half")                                            //
      ("raft-tick-ms", po::value<int>()->default_value(50), "Raft clock tick")  //
      ("election-ticks", po::value<int>()->default_value(6),
       "election timeout in ticks (randomized up to twice this)")  //
      ("join", po::bool_switch(),
       "this master's --dir was lost and it rejoins its group: it neither votes nor campaigns "
       "until the leader has sent it the log")  //
      ("snapshot-entries", po::value<uint64_t>()->default_value(10000),
       "checkpoint the namespace after this many entries since the last snapshot (0: never)")  //
      ("snapshot-bytes", po::value<std::string>()->default_value("64M"),
       "... or after this many bytes of entries")  //
      ("listen", po::value<std::string>()->default_value("127.0.0.1:7400"),
       "api endpoint host:port; the next three ports are taken too")                        //
      ("dir", po::value<std::string>()->required(), "metadata directory")                   //
      ("chunk-size", po::value<std::string>()->default_value("64M"), "default chunk size")  //
      ("replication", po::value<uint32_t>()->default_value(3), "default replication")       //
      ("suspect-after-ms", po::value<int>()->default_value(3000),
       "a silent worker is suspect after this")  //
      ("dead-after-ms", po::value<int>()->default_value(10000),
       "a silent worker is dead after this")  //
      ("repair-copies-per-worker", po::value<uint32_t>()->default_value(2),
       "repair copies at once with one worker as source or target")  //
      ("repair-rate", po::value<std::string>()->default_value("0"),
       "repair copy bytes per second across the cluster, e.g. 200M (0: no limit)")  //
      ("stale-read-limit-ms", po::value<int>()->default_value(30000),
       "refuse stale reads of files and keys once this master's state has not been known "
       "current for this long (0: never refuse)")  //
      ("upload-ttl-s", po::value<int>()->default_value(86400),
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
  auto snapshot_bytes = parse_size(vm["snapshot-bytes"].as<std::string>());
  auto repair_rate = parse_size(vm["repair-rate"].as<std::string>());
  for (const Status* e :
       {&listen.status(), &chunk_size.status(), &snapshot_bytes.status(), &repair_rate.status()}) {
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
  MasterServerConfig sc;
  sc.listen = listen.value();
  sc.node_id = vm["node-id"].as<uint64_t>();
  sc.raft_dir = dir + "/raft";
  sc.meta_dir = dir + "/meta";
  sc.join = vm["join"].as<bool>();
  sc.snapshot_entries = vm["snapshot-entries"].as<uint64_t>();
  sc.snapshot_bytes = std::max<uint64_t>(1, snapshot_bytes.value());
  sc.tick = std::chrono::milliseconds(std::max(5, vm["raft-tick-ms"].as<int>()));
  sc.election_ticks = std::max(3, vm["election-ticks"].as<int>());
  auto members = parse_members(vm["peers"].as<std::string>());
  if (!members.is_ok()) {
    std::fprintf(stderr, "dfs-master: --peers: %s\n", members.status().message().c_str());
    return 2;
  }
  sc.members = members.value();
  // The Raft log is durable before anything applies, so the namespace's own
  // writes need no fsync: after a crash it replays from its applied index.
  auto ns = Namespace::open(sc.meta_dir, /*sync_writes=*/false);
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
  options.stale_read_limit =
      std::chrono::milliseconds(std::max(0, vm["stale-read-limit-ms"].as<int>()));
  options.repair.copies_per_worker =
      std::max<uint32_t>(1, vm["repair-copies-per-worker"].as<uint32_t>());
  options.repair.bytes_per_second = repair_rate.value();
  if (options.default_replication < 1 || options.default_replication > kMaxReplication) {
    std::fprintf(stderr, "dfs-master: replication must be between 1 and %u\n", kMaxReplication);
    return 2;
  }
  spdlog::info("master {} opened metadata at index {} ({} files, {} directories)", options.id,
               ns.value()->applied_index(), ns.value()->file_count(),
               ns.value()->directory_count());

  s = init_security(security_flags(vm), "dfs-master " + options.id);
  if (s.is_ok()) s = process_security().check_self(Role::kMaster, "m" + std::to_string(sc.node_id));
  if (s.is_ok() && !vm["ticket-key"].as<std::string>().empty()) {
    auto key = load_key_file(vm["ticket-key"].as<std::string>(), true, KeyKind::kTicket);
    auto signer = key.is_ok() ? TicketSigner::make(key.value())
                              : Result<std::shared_ptr<TicketSigner>>(key.status());
    if (signer.is_ok()) {
      options.tickets = signer.value();
    } else {
      s = Status(signer.status().code(), "--ticket-key: " + signer.status().message());
    }
  }
  if (s.is_ok() && process_security().secure() && !options.tickets &&
      !process_security().ticket_keys().empty()) {
    s = invalid_argument(
        "the keyring lists ticket keys, so workers want chunk tickets, but this master has "
        "no --ticket-key to sign them with");
  }
  if (!s.is_ok()) {
    spdlog::error("{}", s.message());
    std::fprintf(stderr, "dfs-master: %s\n", s.message().c_str());
    return 2;
  }
  if (!process_security().secure()) {
    spdlog::warn("--insecure: no encryption and no authentication on any socket");
  }
  zmq::context_t ctx(1);
  // Admits peers on every CURVE socket of this context; up before any binds.
  ZapHandler zap(ctx);
  auto server = MasterServer::open(ctx, sc, options, std::move(ns).value());
  if (!server.is_ok()) {
    spdlog::error("{}", server.status().to_string());
    std::fprintf(stderr, "dfs-master: %s\n", server.status().to_string().c_str());
    return 1;
  }
  s = server.value()->run();
  if (!s.is_ok()) {
    spdlog::error("{}", s.to_string());
    std::fprintf(stderr, "dfs-master: %s\n", s.to_string().c_str());
    return 1;
  }
  return 0;
}

int main(int argc, char** argv) { return dfs::guarded_main("dfs-master", run, argc, argv); }
