// The state machine under arbitrary log entries. An input is a log (see
// tests/fuzz/namespace_log.h): each record picks a command type, a caller
// and a client session, and gives the command's body. Two replicas apply it
// from empty, the second restarting where the log says. Nothing may crash
// or abort (a command that cannot apply must answer an error), both must
// give the same answer to every entry, and both must end in the same
// state: what one replica decides, every replica decides, or the group
// diverges.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "master/namespace.h"
#include "tests/fuzz/namespace_log.h"

namespace dfs {
namespace {

std::string scratch_root() {
  std::error_code ec;
  if (std::filesystem::is_directory("/dev/shm", ec)) return "/dev/shm";
  return std::filesystem::temp_directory_path().string();
}

class Scratch {
 public:
  Scratch() {
    std::string tmpl = scratch_root() + "/dfs-fuzz-ns-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~Scratch() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Each restart costs as much as a long log: a few per input.
constexpr int kMaxRestarts = 3;

std::string answer(const Outcome& out) {
  return std::to_string(static_cast<int>(out.status.code())) + " " + out.status.message() + " " +
         std::to_string(static_cast<int>(out.reply_type)) + " " + out.reply_body;
}

void run(std::string_view input) {
  std::vector<fuzz::LogEntry> log = fuzz::parse_namespace_log(input);
  if (log.empty()) return;
  // Opening a store costs more than applying hundreds of entries (RocksDB
  // writes and checks its options file per column family): long logs make
  // the most of each input.
  Scratch a, b;
  auto first = Namespace::open(a.path(), /*sync_writes=*/false);
  auto second = Namespace::open(b.path(), /*sync_writes=*/false);
  if (!first.is_ok() || !second.is_ok()) std::abort();  // the machine, not the input
  std::unique_ptr<Namespace> one = std::move(first).value();
  std::unique_ptr<Namespace> other = std::move(second).value();
  uint64_t index = 0;
  int restarts = 0;
  for (const fuzz::LogEntry& e : log) {
    ++index;
    // The second replica restarts now and then: what it kept only in memory
    // must come back from what it stored, or it answers differently.
    if (e.restart_before && restarts < kMaxRestarts) {
      ++restarts;
      other.reset();
      auto reopened = Namespace::open(b.path(), /*sync_writes=*/false);
      if (!reopened.is_ok()) std::abort();
      other = std::move(reopened).value();
    }
    if (answer(one->apply(index, e.cmd)) != answer(other->apply(index, e.cmd))) std::abort();
  }
  if (one->digest() != other->digest()) std::abort();
  // What was stored reads back: every entry, from the root down.
  auto walked =
      one->scan_entries("", 1 << 20, [](std::string_view, const Inode&) { return size_t{1}; });
  if (!walked.is_ok()) std::abort();
}

}  // namespace
}  // namespace dfs

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  dfs::run(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
