// Metadata operations per second through the client library (no process
// per operation): creates of empty files, mkdirs and stats, each with C
// concurrent clients, against a running cluster. Prints ops/s and p50/p99
// latency per phase; asserts nothing.
//
// A client issues one request, waits for its answer, issues the next. By
// default the C clients share one thread and one MasterPipeline (one
// connection per master, requests matched by id), as an event-loop server
// (a gateway, a mount) would drive them; --driver threads gives each client
// its own thread and MasterClient instead.
//
//   build/bin/meta_bench --masters H:P[,H:P...] [--clients 1,32] [--seconds 3] [--root /bench]
//                        [--phases create,mkdir,stat] [--driver pipeline|threads]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "bench/figures.h"
#include "bus/endpoints.h"
#include "bus/process.h"
#include "bus/security.h"
#include "client/client.h"
#include "client/master_client.h"
#include "client/master_pipeline.h"

namespace dfs {
namespace {

using Clock = std::chrono::steady_clock;
using Request = std::variant<CreateFileRequest, MkdirRequest, StatRequest>;

struct Phase {
  const char* name;
  // Request i of client c.
  std::function<Request(int c, uint64_t i)> make;
  // Told of each request that succeeded.
  std::function<void(int c, uint64_t i)> succeeded;
};

bool succeeded(const Result<Envelope>& reply) {
  return reply.is_ok() && reply->header.type != MsgType::kErrorReply;
}

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// Every client in its own thread with its own MasterClient.
void drive_threads(const ClientOptions& options, const Phase& phase, int clients,
                   Clock::time_point deadline, uint64_t max_ops,
                   std::vector<std::vector<double>>* latencies, std::atomic<uint64_t>* failures) {
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      MasterClient master(process_context(), options.masters, options.timeout);
      for (uint64_t i = 0; i < max_ops && Clock::now() < deadline; ++i) {
        auto t0 = Clock::now();
        bool ok = std::visit([&](auto req) { return succeeded(master.exchange(std::move(req))); },
                             phase.make(c, i));
        if (!ok) ++*failures;
        if (ok && phase.succeeded) phase.succeeded(c, i);
        (*latencies)[c].push_back(ms_since(t0));
      }
    });
  }
  for (auto& t : threads) t.join();
}

// Every client on one MasterPipeline in this thread.
void drive_pipeline(const ClientOptions& options, const Phase& phase, int clients,
                    Clock::time_point deadline, uint64_t max_ops,
                    std::vector<std::vector<double>>* latencies, std::atomic<uint64_t>* failures) {
  MasterPipeline pipeline(process_context(), options.masters, options.timeout);
  std::function<void(int, uint64_t)> issue = [&](int c, uint64_t i) {
    if (i >= max_ops || Clock::now() >= deadline) return;
    auto t0 = Clock::now();
    std::visit(
        [&](auto req) {
          pipeline.submit(std::move(req), [&, c, i, t0](Result<Envelope> reply) {
            bool ok = succeeded(reply);
            if (!ok) ++*failures;
            if (ok && phase.succeeded) phase.succeeded(c, i);
            (*latencies)[c].push_back(ms_since(t0));
            issue(c, i + 1);
          });
        },
        phase.make(c, i));
  };
  for (int c = 0; c < clients; ++c) issue(c, 0);
  while (pipeline.in_flight() > 0) pipeline.poll(std::chrono::milliseconds(1000));
}

Figures run_phase(const ClientOptions& options, const Phase& phase, int clients, double seconds,
                  uint64_t max_ops_per_client, bool threads) {
  std::vector<std::vector<double>> latencies(clients);
  std::atomic<uint64_t> failures{0};
  auto start = Clock::now();
  auto deadline =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  if (threads) {
    drive_threads(options, phase, clients, deadline, max_ops_per_client, &latencies, &failures);
  } else {
    drive_pipeline(options, phase, clients, deadline, max_ops_per_client, &latencies, &failures);
  }
  return summarize(latencies, failures,
                   std::chrono::duration<double>(Clock::now() - start).count());
}

int run(int argc, char** argv) {
  std::string masters, root = "/bench", phases_wanted = ",create,mkdir,stat,";
  std::vector<int> client_counts{1, 32};
  double seconds = 3;
  bool threads = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--masters") {
      masters = value;
    } else if (flag == "--seconds") {
      seconds = std::atof(value.c_str());
    } else if (flag == "--phases") {
      phases_wanted = "," + value + ",";
    } else if (flag == "--driver") {
      if (value != "pipeline" && value != "threads") {
        std::fprintf(stderr, "meta_bench: --driver is pipeline or threads\n");
        return 2;
      }
      threads = value == "threads";
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
  // Keys as the dfs command takes them from the environment.
  Status secured = init_security(security_flags_from_env(), "meta_bench");
  if (!secured.is_ok()) {
    std::fprintf(stderr, "meta_bench: %s\n", secured.message().c_str());
    return 2;
  }
  ClientOptions options;
  options.masters = list.value();
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
    auto name = [&](const char* kind, int c, uint64_t i) {
      return base + "/" + kind + std::to_string(c) + "/" + std::to_string(i);
    };
    Phase phases[] = {
        {"create",
         [&](int c, uint64_t i) -> Request {
           return CreateFileRequest{name("f", c, i), 0, 0, false, {}};
         },
         [&](int c, uint64_t i) { created[c] = i + 1; }},
        {"mkdir",
         [&](int c, uint64_t i) -> Request {
           return MkdirRequest{name("d", c, i), false, {}};
         }},
        {"stat",
         [&](int c, uint64_t i) -> Request {
           return StatRequest{name("f", c, i % std::max<uint64_t>(created[c], 1)), false};
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
                            only_for_stat ? std::min(seconds, 1.0) : seconds, 1000000, threads);
      if (only_for_stat) continue;
      std::printf(
          "meta %-6s c=%-3d %-8s %9.0f ops/s  p50 %7.2f ms  p99 %7.2f ms  (%llu ops, %llu "
          "failed)\n",
          phase.name, clients, threads ? "threads" : "pipeline", f.ops / f.seconds, f.p50_ms,
          f.p99_ms, static_cast<unsigned long long>(f.ops),
          static_cast<unsigned long long>(f.failures));
      std::fflush(stdout);
    }
  }
  return 0;
}

}  // namespace
}  // namespace dfs

int main(int argc, char** argv) { return dfs::run(argc, argv); }
