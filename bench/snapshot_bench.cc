// Snapshots of a big namespace: applies N directory entries (default one
// million) to a namespace, then times what a snapshot costs a master: the
// checkpoint and its manifest (every file hashed), reading every file in
// 1 MiB pieces as a leader serves them, and installing the snapshot as a
// namespace, with the snapshot's size and this process's peak memory.
// Prints figures; asserts nothing.
//
//   build/bin/snapshot_bench [--entries N] [--dir D]
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "codec/commands.h"
#include "master/snapshot_store.h"

namespace dfs {
namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

long peak_rss_mib() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024;
}

int run(int argc, char** argv) {
  uint64_t entries = 1000000;
  std::string base;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--entries") == 0) entries = std::strtoull(argv[i + 1], nullptr, 10);
    if (std::strcmp(argv[i], "--dir") == 0) base = argv[i + 1];
  }
  if (base.empty()) {
    char tmpl[] = "/tmp/dfs-snapshot-bench-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) return 1;
    base = tmpl;
  }
  auto ns = Namespace::open(base + "/meta", /*sync_writes=*/false);
  if (!ns.is_ok()) {
    std::fprintf(stderr, "snapshot_bench: %s\n", ns.status().to_string().c_str());
    return 1;
  }
  auto t = Clock::now();
  uint64_t index = 0;
  constexpr uint64_t kPerDir = 1000;
  for (uint64_t i = 0; i < entries; ++i) {
    std::string dir = "/d" + std::to_string(i / kPerDir);
    if (i % kPerDir == 0) {
      (void)ns.value()->apply(++index, make_command(MkdirCmd{dir, false, 0}, 0));
    }
    Outcome out = ns.value()->apply(
        ++index, make_command(MkdirCmd{dir + "/e" + std::to_string(i), false, 0}, 0));
    if (!out.status.is_ok()) {
      std::fprintf(stderr, "snapshot_bench: %s\n", out.status.to_string().c_str());
      return 1;
    }
  }
  std::printf("namespace: %llu entries applied in %.1f s\n",
              static_cast<unsigned long long>(ns.value()->directory_count()), since(t));

  SnapshotStore store(base + "/raft", base + "/meta");
  if (!store.open().is_ok()) return 1;
  t = Clock::now();
  auto manifest = store.take(*ns.value());
  if (!manifest.is_ok()) {
    std::fprintf(stderr, "snapshot_bench: %s\n", manifest.status().to_string().c_str());
    return 1;
  }
  uint64_t bytes = 0;
  for (const auto& f : manifest->files) bytes += f.size;
  std::printf("checkpoint + manifest: %.2f s, %zu files, %.1f MiB, manifest %zu bytes\n", since(t),
              manifest->files.size(), static_cast<double>(bytes) / (1 << 20),
              encode(manifest.value()).size());

  t = Clock::now();
  uint64_t served = 0;
  for (const auto& f : manifest->files) {
    bool eof = false;
    for (uint64_t off = 0; !eof;) {
      auto piece = store.read(manifest->index, f.name, off, 1u << 20, &eof);
      if (!piece.is_ok()) return 1;
      off += piece->size();
      served += piece->size();
    }
  }
  double read_s = since(t);
  std::printf("served in 1 MiB pieces: %.2f s (%.0f MiB/s)\n", read_s,
              static_cast<double>(served) / (1 << 20) / std::max(read_s, 1e-9));

  ns.value().reset();
  t = Clock::now();
  auto installed = store.install(manifest->index);
  if (!installed.is_ok()) {
    std::fprintf(stderr, "snapshot_bench: %s\n", installed.status().to_string().c_str());
    return 1;
  }
  std::printf("install (link, copy, swap, open): %.2f s, %llu directories\n", since(t),
              static_cast<unsigned long long>(installed.value()->directory_count()));
  std::printf("peak memory: %ld MiB\n", peak_rss_mib());
  installed.value().reset();
  std::error_code ec;
  std::filesystem::remove_all(base, ec);
  return 0;
}

}  // namespace
}  // namespace dfs

int main(int argc, char** argv) { return dfs::run(argc, argv); }
