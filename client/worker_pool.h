// One thread's connections: a MasterClient and one RpcClient per worker
// endpoint, made on first use; and a pool of them to lend.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bus/rpc_client.h"
#include "client/master_client.h"
#include "client/slot_leases.h"

namespace dfs {

struct TransferContext {
  // `identity`: the key pair presented to masters and workers (null: the
  // process's own).
  TransferContext(zmq::context_t& ctx, const std::vector<HostPort>& masters,
                  std::chrono::milliseconds timeout,
                  std::shared_ptr<const KeyPair> identity = nullptr)
      : zctx(&ctx),
        master(std::make_unique<MasterClient>(ctx, masters, timeout, identity)),
        identity(std::move(identity)) {}

  // One connection per address and key: a worker that comes back with a
  // new key gets a new connection.
  RpcClient& worker(const std::string& endpoint, const std::string& key) {
    auto& slot = workers[endpoint + " " + key];
    if (!slot) {
      slot = std::make_unique<RpcClient>(*zctx, endpoint, key, kWorkerConnectWait, 64, identity,
                                         /*bulk=*/true);
    }
    return *slot;
  }

  // How long a first request waits for a worker's connection (a refused
  // one fails at once). A worker busy receiving other chunks handshakes new
  // connections behind them on its I/O thread: 2 s once failed a 200 MiB
  // put on a loaded machine. As long as a pipeline hop may be silent.
  static constexpr std::chrono::milliseconds kWorkerConnectWait{5000};

  zmq::context_t* zctx;
  std::unique_ptr<MasterClient> master;
  std::map<std::string, std::unique_ptr<RpcClient>> workers;
  std::shared_ptr<const KeyPair> identity;
};

// Connections lent out and given back. Each new connection costs a CURVE
// handshake on both ends (and libsodium's guarded allocations, with their
// page-table flushes): a program that writes or reads many files (the mount,
// the S3 gateway) keeps them instead. Thread-safe; keeps at most kKept idle.
class TransferPool {
 public:
  TransferPool(zmq::context_t& ctx, std::vector<HostPort> masters,
               std::chrono::milliseconds timeout, std::shared_ptr<const KeyPair> identity = nullptr)
      : ctx_(ctx),
        masters_(std::move(masters)),
        timeout_(timeout),
        identity_(std::move(identity)) {}

  std::unique_ptr<TransferContext> take() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!free_.empty()) {
        auto ctx = std::move(free_.back());
        free_.pop_back();
        return ctx;
      }
    }
    return std::make_unique<TransferContext>(ctx_, masters_, timeout_, identity_);
  }
  // Takes back connections that are still of use (after a failure too: an
  // RpcClient recovers from a lost peer by itself).
  void give(std::unique_ptr<TransferContext> ctx) {
    if (!ctx) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (free_.size() < kKept) free_.push_back(std::move(ctx));
  }
  // Slots for this identity's small files (UploadWriter).
  SlotLeases& slots() { return slots_; }

 private:
  static constexpr size_t kKept = 32;
  zmq::context_t& ctx_;
  const std::vector<HostPort> masters_;
  const std::chrono::milliseconds timeout_;
  const std::shared_ptr<const KeyPair> identity_;
  std::mutex mu_;
  std::vector<std::unique_ptr<TransferContext>> free_;
  SlotLeases slots_;
};

}  // namespace dfs
