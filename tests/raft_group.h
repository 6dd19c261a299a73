// Masters' services, each on a RaftLog over its own RocksDB log and
// namespace, in one process with a message queue for a network: the driver
// rules that the sockets cannot show deterministically. Clients talk to each
// service directly, so a node cut from its peers still hears its clients.
#pragma once

#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "master/raft_log.h"
#include "tests/test_util.h"

namespace dfs::test {

using Clock = std::chrono::steady_clock;

class Group {
 public:
  struct Options {
    uint64_t snapshot_entries = 0;  // 0: no snapshots
    uint64_t piece_bytes = 1u << 20;
  };
  explicit Group(int n) : Group(n, Options{}) {}
  Group(int n, Options options) : n_(n), options_(options) {
    for (int i = 1; i <= n; ++i) start(i);
  }

  void start(int i, bool joining = false) {
    Node& node = nodes_[i];
    std::string meta = dir_ / ("meta" + std::to_string(i));
    auto ns = Namespace::open(meta, false);
    ASSERT_TRUE(ns.is_ok()) << ns.status().to_string();
    std::unique_ptr<Namespace> names = std::move(ns).value();
    RaftLog::Options lo;
    lo.core.id = i;
    lo.core.joining = joining;
    for (int j = 1; j <= n_; ++j) {
      lo.core.voters.push_back(j);
      lo.apis[j] = "tcp://m" + std::to_string(j) + ":1";
    }
    lo.core.seed = 100 + i;
    lo.snapshot_entries = options_.snapshot_entries;
    lo.fetch.piece_bytes = options_.piece_bytes;
    lo.fetch.retry = std::chrono::milliseconds(1);  // rounds are fast: ask again soon
    lo.currency_probe = std::chrono::milliseconds(1);
    auto log = RaftLog::open(lo, dir_ / ("raft" + std::to_string(i)), meta, &names);
    ASSERT_TRUE(log.is_ok()) << log.status().to_string();
    node.log = std::move(log).value();
    MasterOptions mo;
    mo.id = "m" + std::to_string(i);
    node.service = std::make_unique<MasterService>(mo, std::move(names), node.log.get());
    node.up = true;
  }
  void crash(int i) {
    nodes_[i].service.reset();
    nodes_[i].log.reset();
    nodes_[i].up = false;
  }
  // Loses node i's disk: its namespace, log and snapshots.
  void wipe(int i) {
    crash(i);
    std::filesystem::remove_all(dir_ / ("meta" + std::to_string(i)));
    std::filesystem::remove_all(dir_ / ("raft" + std::to_string(i)));
  }
  const TempDir& dir() const { return dir_; }

  // One round: every node ticks, then messages are delivered until none are
  // left (or a bound), each node pumping after what it received.
  void round() {
    for (auto& [id, node] : nodes_) {
      if (node.up) node.log->tick();
    }
    for (int hop = 0; hop < 50; ++hop) {
      for (auto& [id, node] : nodes_) {
        if (!node.up) continue;
        int from = id;
        node.log->pump(
            *node.service,
            [&](raft::NodeId to, Envelope&& env) {
              wire_.push_back({from, static_cast<int>(to), std::move(env)});
            },
            Clock::now());
      }
      if (wire_.empty()) break;
      auto batch = std::exchange(wire_, {});
      for (auto& [from, to, env] : batch) {
        auto it = nodes_.find(to);
        if (it == nodes_.end() || !it->second.up || cut_.count(to) || cut_.count(from) ||
            muted_.count(from)) {
          continue;
        }
        if (env.header.type == MsgType::kSnapshotFileReply && drop_file_replies_ &&
            ++file_replies_ % drop_file_replies_ == 0) {
          continue;
        }
        Status s = it->second.log->receive("m" + std::to_string(from), env, Clock::now());
        EXPECT_TRUE(s.is_ok()) << s.to_string();
      }
    }
  }
  // Runs rounds until `cond` holds; false after `limit` rounds.
  bool until(const std::function<bool()>& cond, int limit = 300) {
    for (int i = 0; i < limit; ++i) {
      if (cond()) return true;
      round();
    }
    return cond();
  }
  // As until, bounded by time rather than rounds: for conditions that wait
  // on work off the rounds' thread (a checkpoint is described on its own
  // thread, which a slow sanitizer build may not finish within 300 rounds).
  bool until_within(const std::function<bool()>& cond, std::chrono::milliseconds limit) {
    auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      if (cond()) return true;
      round();
    }
    return cond();
  }
  int leader() {
    for (auto& [id, node] : nodes_) {
      if (node.up && !cut_.count(id) && node.service->is_leader()) return id;
    }
    return 0;
  }
  MasterService& service(int i) { return *nodes_[i].service; }
  bool up(int i) { return nodes_[i].up; }
  int size() const { return n_; }
  const RaftLog& log(int i) { return *nodes_[i].log; }
  void cut(int i) { cut_.insert(i); }
  // Loses what node i sends, and nothing sent to it (a link broken one way).
  void mute(int i) { muted_.insert(i); }
  void heal() {
    cut_.clear();
    muted_.clear();
  }
  // Drops every n-th snapshot file piece on the way (0: none).
  void drop_file_replies(int n) { drop_file_replies_ = n; }

  // Sends a request to node i and returns its replies after it was handled.
  template <typename Req>
  void send(int i, const Req& req, uint64_t id) {
    Envelope env = make_envelope(req, id);
    env.routing_id = "c";
    nodes_[i].service->handle(env, Clock::now());
  }
  // Makes directories /d<first>../d<last> through the leader and waits until it applied them.
  bool mkdirs(int first, int last) {
    int l = leader();
    if (l == 0) return false;
    for (int i = first; i <= last; ++i) {
      send(l, MkdirRequest{"/d" + std::to_string(i), false, {9, static_cast<uint64_t>(i)}},
           static_cast<uint64_t>(i));
    }
    return until([&] {
      (void)service(l).take_replies();
      return service(l).names().lookup("/d" + std::to_string(last)).is_ok();
    });
  }

 private:
  struct Node {
    std::unique_ptr<RaftLog> log;
    std::unique_ptr<MasterService> service;
    bool up = false;
  };
  struct InFlight {
    int from;
    int to;
    Envelope env;
  };
  int n_;
  Options options_;
  TempDir dir_;
  std::map<int, Node> nodes_;
  std::vector<InFlight> wire_;
  std::set<int> cut_;
  std::set<int> muted_;
  int drop_file_replies_ = 0;
  int file_replies_ = 0;
};

}  // namespace dfs::test
