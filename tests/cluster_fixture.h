// An in-process dfs cluster over tcp on loopback: one master and N workers,
// each server on its own thread, on ports no other test or cluster uses.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <random>
#include <thread>

#include <spdlog/spdlog.h>

#include "client/client.h"
#include "master/master_server.h"
#include "tests/test_util.h"
#include "worker/worker_server.h"

namespace dfs::test {

// A block of ports claimed for as long as this object lives. Tests run in
// parallel, and so do the process-level ones (tests/e2e/lib.sh): each takes
// a block of 200 ports aligned at 10000 + 200k, claimed with flock on a
// lock file the two share, then checks that nothing listens there. Binding
// to check alone is not enough: two tests may check a block before either
// binds. Below the ephemeral range (32768+), where outgoing connections
// take ports.
class PortBlock {
 public:
  static constexpr int kPorts = 200;
  static constexpr const char* kLockDir = "/tmp/dfs-test-ports";

  explicit PortBlock(int count) {
    if (count > kPorts) std::abort();
    ::mkdir(kLockDir, 01777);
    std::mt19937 rng(static_cast<uint32_t>(::getpid()) * 7919u +
                     static_cast<uint32_t>(time(nullptr)));
    for (int attempt = 0; attempt < 400; ++attempt) {
      const int base = 10000 + kPorts * static_cast<int>(rng() % 110);
      const std::string lock = std::string(kLockDir) + "/" + std::to_string(base) + ".lock";
      int fd = ::open(lock.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
      if (fd < 0) continue;
      if (::flock(fd, LOCK_EX | LOCK_NB) != 0 || !all_free(base, count)) {
        ::close(fd);
        continue;
      }
      base_ = base;
      fd_ = fd;
      return;
    }
    std::abort();
  }
  ~PortBlock() { ::close(fd_); }
  PortBlock(const PortBlock&) = delete;
  PortBlock& operator=(const PortBlock&) = delete;

  int base() const { return base_; }

 private:
  static bool all_free(int base, int count) {
    for (int p = base; p < base + count; ++p) {
      int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(static_cast<uint16_t>(p));
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
      ::close(fd);
      if (!ok) return false;
    }
    return true;
  }

  int base_ = 0;
  int fd_ = -1;
};

class InProcessCluster {
 public:
  struct Options {
    int workers = 3;
    uint64_t capacity = 0;
    uint64_t chunk_size = 64 << 10;
    uint32_t replication = 3;
    std::chrono::milliseconds hop_timeout{1000};
  };

  explicit InProcessCluster(Options options) : options_(options), ports_(8 + 2 * options.workers) {
    spdlog::default_logger();  // create the logger registry before any server thread uses it
    base_port_ = ports_.base();
    auto ns = Namespace::open(dir_ / "master", /*sync_writes=*/false);
    if (!ns.is_ok()) std::abort();
    MasterOptions mo;
    mo.default_chunk_size = options.chunk_size;
    mo.default_replication = options.replication;
    mo.gc_interval = std::chrono::milliseconds(200);
    mo.registry.suspect_after = std::chrono::milliseconds(1500);
    mo.registry.dead_after = std::chrono::milliseconds(3000);
    MasterServerConfig sc;
    sc.listen = HostPort{"127.0.0.1", base_port_};
    sc.raft_dir = dir_ / "raft";
    sc.meta_dir = dir_ / "master";
    sc.tick = std::chrono::milliseconds(10);
    auto server = MasterServer::open(ctx_, sc, mo, std::move(ns).value());
    if (!server.is_ok()) std::abort();
    master_ = std::move(server).value();
    master_thread_ = std::thread([this] { master_status_ = master_->run(); });
    for (int i = 1; i <= options.workers; ++i) start_worker(i);
  }

  ~InProcessCluster() {
    for (size_t i = 0; i < workers_.size(); ++i) stop_worker(static_cast<int>(i) + 1);
    master_->stop();
    master_thread_.join();
  }

  void start_worker(int i) {
    if (workers_.size() < static_cast<size_t>(i)) workers_.resize(i);
    WorkerConfig wc;
    wc.id = "w" + std::to_string(i);
    wc.listen = HostPort{"127.0.0.1", base_port_ + 6 + 2 * i};
    wc.pipeline = HostPort{"127.0.0.1", base_port_ + 7 + 2 * i};
    wc.hop_timeout = options_.hop_timeout;
    wc.masters = {HostPort{"127.0.0.1", base_port_}};
    wc.dir = worker_dir(i);
    wc.capacity = options_.capacity;
    wc.heartbeat_interval = std::chrono::milliseconds(100);
    wc.report_interval = std::chrono::milliseconds(300);
    auto& slot = workers_[i - 1];
    slot.server = std::make_unique<WorkerServer>(ctx_, wc);
    if (!slot.server->start().is_ok()) std::abort();
    slot.thread = std::thread([s = slot.server.get()] { (void)s->run(); });
  }

  void stop_worker(int i) {
    auto& slot = workers_[i - 1];
    if (!slot.server) return;
    slot.server->stop();
    slot.thread.join();
    slot.server.reset();
  }

  std::string worker_dir(int i) const { return dir_ / ("worker-" + std::to_string(i)); }

  ClientOptions client_options() const {
    ClientOptions co;
    co.masters = {HostPort{"127.0.0.1", base_port_}};
    co.timeout = std::chrono::milliseconds(5000);
    co.pipeline_timeout = options_.hop_timeout;
    return co;
  }

  // Waits until the master sees exactly `n` live workers.
  bool wait_live(int n) {
    Client c(client_options());
    return wait_for([&] {
      auto st = c.cluster_status();
      if (!st.is_ok()) return false;
      int live = 0;
      for (auto& w : st->workers) live += w.state == "live";
      return live == n;
    });
  }

  const TempDir& dir() const { return dir_; }
  zmq::context_t& context() { return ctx_; }
  std::string master_api_endpoint() const {
    return "tcp://127.0.0.1:" + std::to_string(base_port_);
  }
  // A free port of the cluster's block, for a test's own listener.
  int spare_port() const { return base_port_ + 5; }

 private:
  struct WorkerSlot {
    std::unique_ptr<WorkerServer> server;
    std::thread thread;
  };
  Options options_;
  TempDir dir_;
  zmq::context_t ctx_{1};
  PortBlock ports_;
  int base_port_ = 0;
  std::unique_ptr<MasterServer> master_;
  std::thread master_thread_;
  Status master_status_;
  std::vector<WorkerSlot> workers_;
};

}  // namespace dfs::test
