// What a worker's inventory report costs the leader: a namespace of N chunks
// (default one million, in files of 1,000 chunks, each recorded on w1, w2
// and w3), a leader session that has walked it into its replica map, and
// w1's whole inventory as the wire brings it (pages of 10,000 ids, encoded)
// with 1% of its chunks missing and 1% it holds that no file references.
// Times decoding and absorbing every page (the orphan sifting, then the
// reconciliation against the map), and prints the replica map's walk time
// and memory per chunk. Asserts nothing.
//
//   build/bin/inventory_bench [--chunks N] [--dir D]
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "codec/commands.h"
#include "master/leader_session.h"
#include "master/namespace.h"

namespace dfs {
namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Resident memory of this process now, in bytes.
uint64_t rss_bytes() {
  std::ifstream in("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  in >> size >> resident;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

std::string chunk_id(uint64_t n) {
  char buf[33];
  std::snprintf(buf, sizeof buf, "%032llx", static_cast<unsigned long long>(n));
  return buf;
}

Heartbeat beat(const std::string& id) {
  Heartbeat hb;
  hb.worker_id = id;
  hb.endpoint = "tcp://127.0.0.1:1";
  hb.pipeline = "tcp://127.0.0.1:2";
  hb.capacity = 1ull << 50;
  hb.sequence = 1;
  return hb;
}

int run(int argc, char** argv) {
  uint64_t chunks = 1000000;
  std::string base;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--chunks") == 0) chunks = std::strtoull(argv[i + 1], nullptr, 10);
    if (std::strcmp(argv[i], "--dir") == 0) base = argv[i + 1];
  }
  const bool own_dir = base.empty();  // only a directory made here is removed
  if (own_dir) {
    char tmpl[] = "/tmp/dfs-inventory-bench-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) return 1;
    base = tmpl;
  }
  auto opened = Namespace::open(base + "/meta", /*sync_writes=*/false);
  if (!opened.is_ok()) {
    std::fprintf(stderr, "inventory_bench: %s\n", opened.status().to_string().c_str());
    return 1;
  }
  Namespace& ns = *opened.value();
  const std::string sha(64, 'a');
  constexpr uint64_t kPerFile = 1000;
  auto t0 = Clock::now();
  uint64_t index = 0;
  for (uint64_t f = 0; f * kPerFile < chunks; ++f) {
    CommitFileCmd cmd{"/f" + std::to_string(f), false, 0, 1 << 20, 3, {}, 1};
    for (uint64_t i = 0; i < kPerFile && f * kPerFile + i < chunks; ++i) {
      cmd.chunks.push_back(
          {i, chunk_id(f * kPerFile + i + 1), 1 << 20, sha, {"w1", "w2", "w3"}, {}});
      cmd.size += 1 << 20;
    }
    Outcome out = ns.apply(++index, make_command(cmd, 1));
    if (!out.status.is_ok()) {
      std::fprintf(stderr, "inventory_bench: %s\n", out.status.to_string().c_str());
      return 1;
    }
  }
  std::printf("namespace of %llu chunks written in %.1f s\n",
              static_cast<unsigned long long>(chunks), since(t0));

  MasterOptions options;
  WorkerRegistry registry(options.registry);
  auto now = Clock::now();
  for (const char* w : {"w1", "w2", "w3"}) registry.on_heartbeat(beat(w), now);
  uint64_t rss0 = rss_bytes();
  LeaderSession session(options, ns, registry, now);
  t0 = Clock::now();
  int ticks = 0;
  // The walk goes a page per tick; the first report waits for the map.
  while (session.recorded_chunks("w1") < 0) {
    session.tick(now);
    ++ticks;
  }
  double walk = since(t0);
  uint64_t map_bytes = rss_bytes() - rss0;
  std::printf("replica map walked in %.2f s (%d ticks): %.0f bytes a chunk (%.0f MiB)\n", walk,
              ticks, static_cast<double>(map_bytes) / static_cast<double>(chunks),
              static_cast<double>(map_bytes) / (1 << 20));

  // w1's inventory: every chunk but each 100th, and 1% unknown ones.
  std::vector<std::string> pages;
  std::vector<std::string> ids;
  const uint32_t page_count = static_cast<uint32_t>((chunks + kMaxReportPage - 1) / kMaxReportPage);
  uint64_t unknown = chunks + 1000000;
  auto flush = [&](bool last) {
    if (ids.empty() && !last) return;
    ChunkReport page{"w1", std::move(ids), 1, static_cast<uint32_t>(pages.size()), page_count, 0};
    pages.push_back(encode(page));
    ids.clear();
  };
  for (uint64_t n = 1; n <= chunks; ++n) {
    ids.push_back(n % 100 == 0 ? chunk_id(++unknown) : chunk_id(n));
    if (ids.size() == kMaxReportPage) flush(false);
  }
  flush(true);
  if (pages.size() > page_count) pages.pop_back();  // an empty trailing page

  // The report is listed after the walk, as a real one would be (with the
  // leader's second of margin).
  auto later = Clock::now() + std::chrono::seconds(2);
  size_t commands = 0;
  t0 = Clock::now();
  for (const auto& bytes : pages) {
    auto report = decode<ChunkReport>(bytes);
    if (!report.is_ok()) {
      std::fprintf(stderr, "inventory_bench: %s\n", report.status().to_string().c_str());
      return 1;
    }
    for (const auto& cmd : session.on_chunk_report(report.value(), later)) {
      commands += cmd.body.size() > 0;
    }
  }
  double absorbed = since(t0);
  std::printf(
      "inventory of %llu chunks (%zu pages) decoded and absorbed in %.2f s (target < 2 s): "
      "%zu commands proposed\n",
      static_cast<unsigned long long>(chunks), pages.size(), absorbed, commands);
  if (own_dir) std::filesystem::remove_all(base);
  return 0;
}

}  // namespace
}  // namespace dfs

int main(int argc, char** argv) { return dfs::run(argc, argv); }
