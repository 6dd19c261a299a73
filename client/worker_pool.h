// One thread's connections: a MasterClient and one RpcClient per worker
// endpoint, made on first use.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "bus/rpc_client.h"
#include "client/master_client.h"

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
      slot = std::make_unique<RpcClient>(*zctx, endpoint, key, std::chrono::milliseconds(2000), 64,
                                         identity);
    }
    return *slot;
  }

  zmq::context_t* zctx;
  std::unique_ptr<MasterClient> master;
  std::map<std::string, std::unique_ptr<RpcClient>> workers;
  std::shared_ptr<const KeyPair> identity;
};

}  // namespace dfs
