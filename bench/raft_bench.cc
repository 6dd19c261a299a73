// Proposals per second and commit latency of a 3-node Raft group, each node
// on its own thread with in-process message passing: once with the log in
// memory, once with each node's RocksDB log store fsyncing every Ready.
// Clients keep W proposals outstanding; whatever arrives while a node
// persists goes into its next Ready, so larger W means larger batches.
//
//   build/bin/raft_bench [--seconds S] [--payload BYTES] [--dir DIR]
//
// Prints figures; asserts nothing.
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "master/raft/log_store.h"

namespace dfs::raft {
namespace {

using Clock = std::chrono::steady_clock;

struct Inbox {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Message> messages;
  std::deque<std::string> proposals;
};

class Bench {
 public:
  Bench(std::string dir, size_t window, size_t payload)
      : dir_(std::move(dir)), window_(window), payload_(payload) {}

  void run(double seconds) {
    for (NodeId id = 1; id <= 3; ++id) inboxes_[id] = std::make_unique<Inbox>();
    for (NodeId id = 1; id <= 3; ++id) threads_.emplace_back([this, id] { node_loop(id); });
    // Wait (bounded) for a leader.
    auto deadline = Clock::now() + std::chrono::seconds(10);
    {
      std::unique_lock lock(mu_);
      cv_.wait_until(lock, deadline, [&] { return leader_ != 0; });
    }
    if (leader_ == 0) {
      std::fprintf(stderr, "no leader within 10 s\n");
      stop();
      return;
    }
    auto start = Clock::now();
    auto end = start + std::chrono::duration<double>(seconds);
    size_t submitted = 0;
    {
      std::unique_lock lock(mu_);
      while (Clock::now() < end) {
        while (submitted - committed_ < window_) {
          submit_times_.push_back(Clock::now());
          ++submitted;
          Inbox& in = *inboxes_[leader_];
          std::lock_guard l(in.mu);
          in.proposals.push_back(std::string(payload_, 'p'));
          in.cv.notify_one();
        }
        cv_.wait_until(lock, end, [&] { return submitted - committed_ < window_; });
      }
    }
    double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    stop();
    std::sort(latencies_us_.begin(), latencies_us_.end());
    auto pct = [&](double p) {
      return latencies_us_.empty()
                 ? 0.0
                 : latencies_us_[static_cast<size_t>(p * (latencies_us_.size() - 1))];
    };
    std::printf(
        "%-8s window %4zu  %9.0f proposals/s  commit latency p50 %8.0f us  p99 %8.0f us"
        "  entries per leader Ready %.1f\n",
        dir_.empty() ? "memory" : "rocksdb", window_, committed_ / elapsed, pct(0.5), pct(0.99),
        readies_ ? static_cast<double>(entries_) / readies_ : 0.0);
  }

 private:
  void stop() {
    stopping_ = true;
    for (auto& [id, in] : inboxes_) {
      std::lock_guard l(in->mu);
      in->cv.notify_all();
    }
    for (auto& t : threads_) t.join();
  }

  void node_loop(NodeId id) {
    Config c;
    c.id = id;
    c.voters = {1, 2, 3};
    c.election_tick = 10;
    c.heartbeat_tick = 1;
    c.seed = id;
    std::unique_ptr<LogStore> store;
    if (!dir_.empty()) {
      std::string path = dir_ + "/node" + std::to_string(id);
      std::filesystem::remove_all(path);
      auto s = LogStore::open(path);
      if (!s.is_ok()) {
        std::fprintf(stderr, "%s\n", s.status().message().c_str());
        std::exit(1);
      }
      store = std::move(s).value();
    }
    Raft raft(c, Persisted{});
    Inbox& in = *inboxes_[id];
    auto next_tick = Clock::now();
    std::map<uint64_t, size_t> mine;  // log index -> submission number
    size_t proposed = 0;
    while (!stopping_) {
      std::deque<Message> messages;
      std::deque<std::string> proposals;
      {
        std::unique_lock lock(in.mu);
        in.cv.wait_until(lock, next_tick, [&] {
          return stopping_ || !in.messages.empty() || !in.proposals.empty();
        });
        messages.swap(in.messages);
        proposals.swap(in.proposals);
      }
      if (Clock::now() >= next_tick) {
        raft.tick();
        next_tick = Clock::now() + std::chrono::milliseconds(10);
      }
      for (const auto& m : messages) raft.step(m);
      for (auto& p : proposals) {
        auto r = raft.propose(std::move(p));
        if (r.is_ok()) mine[*r] = proposed;
        ++proposed;
      }
      if (raft.role() == Role::kLeader && leader_ != id) {
        std::lock_guard l(mu_);
        leader_ = id;
        cv_.notify_all();
      }
      if (!raft.has_ready()) continue;
      Ready rd = raft.ready();
      if (store) {
        Status s = store->save(rd);
        if (!s.is_ok()) {
          std::fprintf(stderr, "%s\n", s.message().c_str());
          std::exit(1);
        }
      }
      for (auto& m : rd.messages) {
        Inbox& to = *inboxes_[m.to];
        std::lock_guard l(to.mu);
        to.messages.push_back(std::move(m));
        to.cv.notify_one();
      }
      if (raft.role() == Role::kLeader && !rd.entries.empty()) {
        ++readies_;
        entries_ += rd.entries.size();
      }
      if (!rd.committed.empty() && !mine.empty()) {
        std::lock_guard l(mu_);
        auto now = Clock::now();
        for (const auto& e : rd.committed) {
          auto it = mine.find(e.index);
          if (it == mine.end()) continue;
          latencies_us_.push_back(
              std::chrono::duration<double, std::micro>(now - submit_times_[it->second]).count());
          ++committed_;
          mine.erase(it);
        }
        cv_.notify_all();
      }
      raft.advance(rd);
    }
  }

  std::string dir_;
  size_t window_;
  size_t payload_;
  std::map<NodeId, std::unique_ptr<Inbox>> inboxes_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<NodeId> leader_{0};
  std::deque<Clock::time_point> submit_times_;
  std::vector<double> latencies_us_;
  size_t committed_ = 0;
  std::atomic<size_t> readies_{0};
  std::atomic<size_t> entries_{0};
};

}  // namespace
}  // namespace dfs::raft

int main(int argc, char** argv) {
  double seconds = 3;
  size_t payload = 128;
  std::string dir = std::filesystem::temp_directory_path() / "dfs-raft-bench";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--seconds")) seconds = std::atof(argv[i + 1]);
    if (!std::strcmp(argv[i], "--payload")) payload = std::strtoul(argv[i + 1], nullptr, 10);
    if (!std::strcmp(argv[i], "--dir")) dir = argv[i + 1];
  }
  std::filesystem::create_directories(dir);
  std::printf("3-node group, %zu-byte proposals, %.0f s per line, dir %s\n", payload, seconds,
              dir.c_str());
  for (size_t window : {1, 16, 256}) dfs::raft::Bench("", window, payload).run(seconds);
  for (size_t window : {1, 16, 256}) dfs::raft::Bench(dir, window, payload).run(seconds);
  std::filesystem::remove_all(dir);
  return 0;
}
