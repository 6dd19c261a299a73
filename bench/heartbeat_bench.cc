// What heartbeats cost the leader: N simulated workers, all in this process,
// each heartbeating a running master every interval (spread evenly over it),
// as real workers would. After a warm-up (every worker registered, a log
// entry each) prints the master process's CPU over the measured window, as a
// share of one core, and how many workers the leader sees live at the end.
// Asserts nothing.
//
//   build/bin/heartbeat_bench --master H:P --master-pid PID [--workers 10000]
//                             [--interval-ms 1000] [--warmup 10] [--seconds 20]
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "bus/endpoints.h"
#include "bus/process.h"
#include "bus/rpc_client.h"
#include "bus/socket.h"
#include "bus/wire.h"

namespace dfs {
namespace {

using Clock = std::chrono::steady_clock;

// User plus system CPU seconds of process `pid` so far (/proc/PID/stat).
double cpu_seconds(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Fields after the command name (which may hold spaces) start at ") ".
  size_t close = text.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream fields(text.substr(close + 2));
  std::string f;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14) utime = std::stoull(f);
    if (i == 15) stime = std::stoull(f);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

Heartbeat beat(int n, uint64_t seq) {
  Heartbeat hb;
  hb.worker_id = "sim" + std::to_string(n);
  // Addresses nobody listens on: the leader never writes to them here.
  hb.endpoint = "tcp://127.0.0.1:" + std::to_string(1 + n % 60000);
  hb.pipeline = hb.endpoint;
  hb.capacity = 1ull << 40;
  hb.used = (static_cast<uint64_t>(n) * 7919) % (1ull << 39);
  hb.chunk_count = static_cast<uint64_t>(n) % 5000;
  hb.sequence = seq;
  hb.fs_id = "sim-fs-" + std::to_string(n);
  hb.fs_size = hb.capacity;
  hb.fs_free = hb.capacity - hb.used;
  return hb;
}

int run(int argc, char** argv) {
  po::options_description desc("heartbeat_bench options");
  desc.add_options()  //
      ("master", po::value<std::string>()->required(), "the leader's api host:port")(
          "master-pid", po::value<int>()->required(), "the leader's process id")(
          "workers", po::value<int>()->default_value(10000), "simulated workers")(
          "interval-ms", po::value<int>()->default_value(1000), "each worker's heartbeat interval")(
          "warmup", po::value<int>()->default_value(10), "seconds before measuring")(
          "seconds", po::value<int>()->default_value(20), "seconds measured");
  po::variables_map vm;
  Status s =
      parse_options(argc, argv, desc, &vm, "usage: heartbeat_bench --master H:P --master-pid PID");
  if (s.code() == Code::kCancelled) return 0;
  if (!s.is_ok()) {
    std::fprintf(stderr, "heartbeat_bench: %s\n", s.message().c_str());
    return 2;
  }
  auto master = parse_endpoint(vm["master"].as<std::string>());
  if (!master.is_ok()) {
    std::fprintf(stderr, "heartbeat_bench: %s\n", master.status().message().c_str());
    return 2;
  }
  const int pid = vm["master-pid"].as<int>();
  const int workers = vm["workers"].as<int>();
  const auto interval = std::chrono::milliseconds(vm["interval-ms"].as<int>());
  const int warmup = vm["warmup"].as<int>(), seconds = vm["seconds"].as<int>();

  zmq::context_t ctx(1);
  SocketOptions opts;
  opts.send_hwm = 100000;
  zmq::socket_t pub = make_socket(ctx, zmq::socket_type::pub, opts);
  pub.connect(master_events(master.value()));

  // Beats go out in slices of 10 ms so each worker's are `interval` apart.
  const auto slice = std::chrono::milliseconds(10);
  const int slices = static_cast<int>(interval / slice);
  const int per_slice = (workers + slices - 1) / slices;
  uint64_t sent = 0, dropped = 0, round = 0;
  auto start = Clock::now();
  auto measure_from = start + std::chrono::seconds(warmup);
  auto end = measure_from + std::chrono::seconds(seconds);
  double cpu0 = -1, cpu1 = -1;
  uint64_t sent0 = 0;
  auto next = start;
  int cursor = 0;
  while (Clock::now() < end) {
    if (cpu0 < 0 && Clock::now() >= measure_from) {
      cpu0 = cpu_seconds(pid);
      sent0 = sent;
    }
    for (int i = 0; i < per_slice; ++i) {
      Envelope env = make_envelope(beat(cursor, round + 1));
      env.topic = "hb." + std::string("sim") + std::to_string(cursor);
      if (send_envelope(pub, Framing::kTopic, std::move(env)).is_ok()) {
        ++sent;
      } else {
        ++dropped;
      }
      if (++cursor == workers) {
        cursor = 0;
        ++round;
      }
    }
    next += slice;
    std::this_thread::sleep_until(next);
  }
  cpu1 = cpu_seconds(pid);
  double window = static_cast<double>(seconds);

  // How many workers the leader sees live now.
  RpcClient rpc(ctx, master_api(master.value()));
  auto st = rpc.call<ClusterStatusRequest, ClusterStatusReply>(ClusterStatusRequest{},
                                                               std::chrono::seconds(10));
  size_t live = 0;
  if (st.is_ok()) {
    for (const auto& w : st->workers) live += w.state == "live";
  }
  std::printf("simulated workers            %d, one heartbeat each every %lld ms\n", workers,
              static_cast<long long>(interval.count()));
  std::printf("heartbeats sent (measured)   %.0f/s (%llu dropped by the socket)\n",
              static_cast<double>(sent - sent0) / window, static_cast<unsigned long long>(dropped));
  std::printf("leader CPU                   %.1f%% of one core over %d s (target < 50%%)\n",
              100.0 * (cpu1 - cpu0) / window, seconds);
  std::printf("workers live at the leader   %zu%s\n", live,
              st.is_ok() ? "" : (" (status failed: " + st.status().message() + ")").c_str());
  return 0;
}

}  // namespace
}  // namespace dfs

int main(int argc, char** argv) {
  return dfs::guarded_main("heartbeat_bench", dfs::run, argc, argv);
}
