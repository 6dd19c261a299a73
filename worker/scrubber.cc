#include "worker/scrubber.h"

#include <spdlog/spdlog.h>

#include <unordered_set>

#include "codec/sha256.h"

namespace dfs {
namespace {
constexpr size_t kBlock = 1 << 20;
constexpr size_t kMaxBad = 10000;
}  // namespace

bool ScrubFindings::add(const std::string& id, const std::string& why, Clock::time_point now) {
  if (found_.size() >= max_ && !found_.count(id)) return false;
  return found_.emplace(id, Finding{why, now}).second;
}

Scrubber::Scrubber(ChunkStore* store, Options options)
    : store_(store), options_(options), findings_(kMaxBad, options.finding_ttl) {
  if (options_.bytes_per_second > 0) {
    thread_ = std::jthread([this](const std::stop_token& stop) { run(stop); });
  }
}

Scrubber::~Scrubber() {
  if (thread_.joinable()) {
    thread_.request_stop();
    cv_.notify_all();
    thread_.join();
  }
}

std::string Scrubber::check(ChunkStore& store, const std::string& id) {
  auto reader = store.open_reader(id);
  if (!reader.is_ok()) {
    return reader.status().code() == Code::kNotFound ? "missing" : reader.status().message();
  }
  const ChunkFileHeader& h = (*reader)->header();
  Sha256 hash;
  BlockCrcs crcs;
  std::string buf(kBlock, '\0');
  for (uint64_t off = 0; off < h.size;) {
    auto n = (*reader)->read(off, kBlock, buf.data());
    if (!n.is_ok()) return n.status().message();
    hash.update(buf.data(), n.value());
    crcs.update(buf.data(), n.value());
    off += n.value();
  }
  if (hash.finish_hex() != h.sha256) return "bytes do not match the chunk's SHA-256";
  // Good bytes under a damaged table would fail every reader's block check.
  if (h.block_size != 0 && crcs.finish() != (*reader)->block_crcs(0, h.size)) {
    return "the block CRCs do not match the chunk's bytes";
  }
  return "";
}

bool Scrubber::pause(const std::stop_token& stop, std::chrono::nanoseconds d) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, stop, d, [] { return false; });
}

void Scrubber::found(const std::string& id, const std::string& why) {
  std::lock_guard lock(mu_);
  if (findings_.add(id, why, std::chrono::steady_clock::now())) {
    spdlog::warn("scrubber: chunk {} is bad: {}", id, why);
  }
}

void Scrubber::run(const std::stop_token& stop) {
  using Clock = std::chrono::steady_clock;
  std::unordered_set<std::string> last_pass;
  while (!stop.stop_requested()) {
    std::vector<std::string> ids = store_->list();
    std::unordered_set<std::string> this_pass(ids.begin(), ids.end());
    // Listed last time, not now, and not removed on the master's orders.
    for (const auto& id : last_pass) {
      if (!this_pass.count(id) && !store_->was_removed(id) && !store_->contains(id)) {
        found(id, "missing");
      }
    }
    auto start = Clock::now();
    uint64_t bytes = 0;
    for (const auto& id : ids) {
      if (stop.stop_requested()) return;
      std::string why = check(*store_, id);
      if (why == "missing" && store_->was_removed(id)) why.clear();  // deleted meanwhile
      // Told at once, not at the end of a pass that may last hours.
      if (!why.empty()) found(id, why);
      auto header = store_->header(id);
      bytes += header.is_ok() ? header->size : 0;
      // Paced: `bytes` may take bytes / rate seconds since the pass began.
      // In floating point: bytes times 1e9 overflows 64 bits past 18 GB.
      auto due =
          start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                      static_cast<double>(bytes) / static_cast<double>(options_.bytes_per_second)));
      if (due > Clock::now() && !pause(stop, due - Clock::now())) return;
    }
    {
      std::lock_guard lock(mu_);
      ++passes_;
    }
    last_pass = std::move(this_pass);
    if (!pause(stop, options_.pass_interval)) return;
  }
}

std::vector<std::pair<std::string, std::string>> Scrubber::bad() {
  std::lock_guard lock(mu_);
  // Settled once the chunk is deleted (the master had it removed), or, for
  // a missing one, once it is back in the store.
  return findings_.standing(
      std::chrono::steady_clock::now(), [&](const std::string& id, const std::string& why) {
        return store_->was_removed(id) || (why == "missing" && store_->contains(id));
      });
}

uint64_t Scrubber::passes() const {
  std::lock_guard lock(mu_);
  return passes_;
}

}  // namespace dfs
