// What a connection costs with CURVE and ZAP against plain TCP: a DEALER
// connects to a ROUTER on loopback, sends one small request and waits for
// the echo, then closes; N times in a row, first without keys, then with
// CURVE (keys made for the run, a keyring that admits them, the process's
// ZAP handler). Prints microseconds per connection (mean, p50, p99) for each
// and the difference: the handshake plus the ZAP round trip. Asserts nothing.
//
//   build/bin/handshake_bench [--connections N]
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "bus/security.h"
#include "bus/socket.h"

namespace {

using namespace dfs;
using Clock = std::chrono::steady_clock;

struct Figures {
  double mean_us = 0, p50_us = 0, p99_us = 0;
};

// N connect-request-reply-close rounds against an echoing ROUTER on `port`.
Figures measure(zmq::context_t& ctx, int port, int n, const std::string& server_key) {
  std::atomic<bool> stop{false};
  SocketOptions so;
  so.serves = Domain::kMasterApi;
  zmq::socket_t router = make_socket(ctx, zmq::socket_type::router, so);
  router.bind("tcp://127.0.0.1:" + std::to_string(port));
  std::thread echo([&] {
    zmq::pollitem_t item{router.handle(), 0, ZMQ_POLLIN, 0};
    while (!stop.load()) {
      if (zmq::poll(&item, 1, std::chrono::milliseconds(50)) == 0) continue;
      std::vector<zmq::message_t> frames;
      if (zmq::recv_multipart(router, std::back_inserter(frames), zmq::recv_flags::dontwait)) {
        zmq::send_multipart(router, frames, zmq::send_flags::dontwait);
      }
    }
  });
  std::vector<double> us;
  for (int i = 0; i < n; ++i) {
    auto start = Clock::now();
    SocketOptions co;
    zmq::socket_t dealer = make_socket(ctx, zmq::socket_type::dealer, co);
    if (!connect_to(dealer, "tcp://127.0.0.1:" + std::to_string(port), server_key).is_ok()) break;
    dealer.send(zmq::str_buffer("ping"), zmq::send_flags::none);
    zmq::message_t reply;
    zmq::pollitem_t item{dealer.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, std::chrono::seconds(5)) == 0) {
      std::fprintf(stderr, "handshake_bench: no echo within 5 s\n");
      break;
    }
    (void)dealer.recv(reply);
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
  }
  stop.store(true);
  echo.join();
  Figures f;
  if (us.empty()) return f;
  std::sort(us.begin(), us.end());
  for (double u : us) f.mean_us += u / static_cast<double>(us.size());
  f.p50_us = us[us.size() / 2];
  f.p99_us = us[std::min(us.size() - 1, us.size() * 99 / 100)];
  return f;
}

int run(int argc, char** argv) {
  int n = 500;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--connections") n = std::max(1, std::atoi(argv[i + 1]));
  }
  int port = 20000 + static_cast<int>(::getpid() % 20000);
  zmq::context_t ctx(1);
  Figures plain = measure(ctx, port, n, "");

  auto dir = std::filesystem::temp_directory_path() /
             ("dfs-handshake-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto pair = generate_key_pair();
  if (!pair.is_ok() || !write_key_files((dir / "m1").string(), pair.value()).is_ok()) {
    std::fprintf(stderr, "handshake_bench: cannot make keys in %s\n", dir.c_str());
    return 1;
  }
  {
    std::ofstream ring(dir / "keyring");
    ring << "master m1 " << pair->public_key << " endpoint=127.0.0.1:" << port + 1 << "\n";
  }
  Status s = init_security({false, (dir / "m1.key").string(), (dir / "keyring").string()},
                           "handshake_bench");
  if (!s.is_ok()) {
    std::fprintf(stderr, "handshake_bench: %s\n", s.message().c_str());
    return 1;
  }
  Figures curve;
  {
    ZapHandler zap(ctx);
    curve = measure(ctx, port + 1, n, pair->public_key);
  }
  std::filesystem::remove_all(dir);
  std::printf("connection set-up, %d connections each (connect, one request and reply, close)\n",
              n);
  std::printf("  %-22s mean %7.0f us  p50 %7.0f us  p99 %7.0f us\n", "plain TCP (--insecure)",
              plain.mean_us, plain.p50_us, plain.p99_us);
  std::printf("  %-22s mean %7.0f us  p50 %7.0f us  p99 %7.0f us\n", "CURVE + ZAP", curve.mean_us,
              curve.p50_us, curve.p99_us);
  std::printf("  %-22s mean %7.0f us  p50 %7.0f us\n", "handshake + ZAP cost",
              curve.mean_us - plain.mean_us, curve.p50_us - plain.p50_us);
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return run(argc, argv); }
