// Metadata operations per second through the client library (no process
// per operation): creates of empty files, mkdirs and stats, each with C
// concurrent clients (one thread and one Client each), against a running
// cluster. Prints ops/s and p50/p99 latency per phase; asserts nothing.
//
//   build/bin/meta_bench --masters H:P[,H:P...] [--clients 1,32] [--seconds 3] [--root /bench]
//                        [--phases create,mkdir,stat]
#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "bus/endpoints.h"
#include "client/client.h"

namespace dfs {
namespace {

using Clock = std::chrono::steady_clock;

struct Phase {
  const char* name;
  // Runs operation i of client c; false on failure.
  std::function<bool(Client&, int c, uint64_t i)> op;
};

struct Figures {
  uint64_t ops = 0;
  uint64_t failures = 0;
  double seconds = 0;
  double p50_ms = 0, p99_ms = 0;
};

Figures run_phase(const ClientOptions& options, const Phase& phase, int clients, double seconds,
                  uint64_t max_ops_per_client) {
  std::vector<std::vector<double>> latencies(clients);
  std::atomic<uint64_t> failures{0};
  std::vector<std::thread> threads;
  auto start = Clock::now();
  auto deadline =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      Client client(options);
      for (uint64_t i = 0; i < max_ops_per_client && Clock::now() < deadline; ++i) {
        auto t0 = Clock::now();
        if (!phase.op(client, c, i)) ++failures;
        latencies[c].push_back(
            std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      }
    });
  }
  for (auto& t : threads) t.join();
  Figures f;
  f.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  f.ops = all.size();
  f.failures = failures;
  if (!all.empty()) {
    f.p50_ms = all[all.size() / 2];
    f.p99_ms = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  }
  return f;
}

int run(int argc, char** argv) {
  std::string masters, root = "/bench", phases_wanted = ",create,mkdir,stat,";
  std::vector<int> client_counts{1, 32};
  double seconds = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--masters") {
      masters = value;
    } else if (flag == "--seconds") {
      seconds = std::atof(value.c_str());
    } else if (flag == "--phases") {
      phases_wanted = "," + value + ",";
    } else if (flag == "--root") {
      root = value;
    } else if (flag == "--clients") {
      client_counts.clear();
      for (size_t p = 0; p < value.size();) {
        size_t q = value.find(',', p);
        client_counts.push_back(std::atoi(value.substr(p, q - p).c_str()));
        p = q == std::string::npos ? value.size() : q + 1;
      }
    } else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  auto list = parse_endpoint_list(masters);
  if (!list.is_ok()) {
    std::fprintf(stderr, "meta_bench: --masters: %s\n", list.status().message().c_str());
    return 2;
  }
  ClientOptions options;
  options.masters = list.value();
  const std::string empty = "/tmp/meta_bench_empty_" + std::to_string(::getpid());
  std::ofstream(empty).close();
  Client setup(options);
  (void)setup.mkdir(root, true);

  for (int clients : client_counts) {
    std::string base = root + "/c" + std::to_string(clients);
    (void)setup.mkdir(base, true);
    for (int c = 0; c < clients; ++c) {
      (void)setup.mkdir(base + "/f" + std::to_string(c), true);
      (void)setup.mkdir(base + "/d" + std::to_string(c), true);
    }
    std::vector<uint64_t> created(clients, 0);
    Phase phases[] = {
        {"create",
         [&](Client& cl, int c, uint64_t i) {
           bool ok =
               cl.put(empty, base + "/f" + std::to_string(c) + "/" + std::to_string(i), {}, nullptr)
                   .is_ok();
           if (ok) created[c] = i + 1;
           return ok;
         }},
        {"mkdir",
         [&](Client& cl, int c, uint64_t i) {
           return cl.mkdir(base + "/d" + std::to_string(c) + "/" + std::to_string(i), false)
               .is_ok();
         }},
        {"stat",
         [&](Client& cl, int c, uint64_t i) {
           uint64_t n = std::max<uint64_t>(created[c], 1);
           return cl.stat(base + "/f" + std::to_string(c) + "/" + std::to_string(i % n)).is_ok();
         }},
    };
    for (const auto& phase : phases) {
      auto wanted = [&](const std::string& name) {
        return phases_wanted.find("," + name + ",") != std::string::npos;
      };
      // Stats read what create made: create runs, briefly and unreported,
      // when only stat is asked for.
      bool only_for_stat =
          !wanted(phase.name) && std::string(phase.name) == "create" && wanted("stat");
      if (!wanted(phase.name) && !only_for_stat) continue;
      Figures f = run_phase(options, phase, clients,
                            only_for_stat ? std::min(seconds, 1.0) : seconds, 1000000);
      if (only_for_stat) continue;
      std::printf(
          "meta %-6s c=%-3d %9.0f ops/s  p50 %7.2f ms  p99 %7.2f ms  (%llu ops, %llu failed)\n",
          phase.name, clients, f.ops / f.seconds, f.p50_ms, f.p99_ms,
          static_cast<unsigned long long>(f.ops), static_cast<unsigned long long>(f.failures));
      std::fflush(stdout);
    }
  }
  std::remove(empty.c_str());
  return 0;
}

}  // namespace
}  // namespace dfs

int main(int argc, char** argv) { return dfs::run(argc, argv); }
