// dfs-chunk: where a worker's chunks lie on its disk, read from its data
// directory alone (safe beside a running worker). For operators, and for
// tests that damage a stored chunk on purpose.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "bus/process.h"
#include "worker/stored_chunks.h"

namespace {

constexpr const char* kUsage =
    "usage: dfs-chunk list DIR         every chunk: ID PATH OFFSET BYTES\n"
    "       dfs-chunk locate DIR ID... the same for these chunks (exit 1 if one is missing)\n"
    "       dfs-chunk image DIR ID     the chunk's stored image (header, data, block CRCs)\n"
    "DIR is a worker's data directory (its --dir). Bytes OFFSET..OFFSET+BYTES of PATH\n"
    "are the chunk's image, whether it has a file of its own or is packed in a volume.\n";

void print(const dfs::StoredChunk& c) {
  std::printf("%s %s %llu %llu\n", c.id.c_str(), c.path.c_str(),
              static_cast<unsigned long long>(c.offset), static_cast<unsigned long long>(c.bytes));
}

bool copy_image(const dfs::StoredChunk& c) {
  std::ifstream in(c.path, std::ios::binary);
  if (!in.seekg(static_cast<std::streamoff>(c.offset))) return false;
  std::vector<char> buf(1 << 20);
  for (uint64_t left = c.bytes; left > 0;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(left, buf.size()));
    if (!in.read(buf.data(), static_cast<std::streamsize>(n))) return false;
    if (std::fwrite(buf.data(), 1, n, stdout) != n) return false;
    left -= n;
  }
  return std::fflush(stdout) == 0;
}

int run(int argc, char** argv) {
  if (argc >= 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  const std::string command = argc >= 2 ? argv[1] : "";
  const bool ok_args = (command == "list" && argc == 3) || (command == "locate" && argc >= 4) ||
                       (command == "image" && argc == 4);
  if (!ok_args) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  auto listed = dfs::list_stored_chunks(argv[2]);
  if (!listed.is_ok()) {
    std::fprintf(stderr, "dfs-chunk: %s\n", listed.status().message().c_str());
    return 1;
  }
  for (const auto& p : listed.value().problems) std::fprintf(stderr, "dfs-chunk: %s\n", p.c_str());
  const auto& chunks = listed.value().chunks;
  if (command == "list") {
    for (const auto& c : chunks) print(c);
    return listed.value().problems.empty() ? 0 : 1;
  }
  std::unordered_map<std::string, const dfs::StoredChunk*> by_id;
  for (const auto& c : chunks) by_id[c.id] = &c;
  int rc = 0;
  for (int i = 3; i < argc; ++i) {
    auto it = by_id.find(argv[i]);
    if (it == by_id.end()) {
      std::fprintf(stderr, "dfs-chunk: chunk %s is not in %s\n", argv[i], argv[2]);
      rc = 1;
    } else if (command == "locate") {
      print(*it->second);
    } else if (!copy_image(*it->second)) {
      std::fprintf(stderr, "dfs-chunk: cannot read chunk %s from %s\n", argv[i],
                   it->second->path.c_str());
      rc = 1;
    }
  }
  return rc;
}

}  // namespace

int main(int argc, char** argv) { return dfs::guarded_main("dfs-chunk", run, argc, argv); }
