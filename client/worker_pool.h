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
  TransferContext(zmq::context_t& ctx, const std::vector<HostPort>& masters,
                  std::chrono::milliseconds timeout)
      : zctx(&ctx), master(std::make_unique<MasterClient>(ctx, masters, timeout)) {}

  // One connection per address and key: a worker that comes back with a
  // new key gets a new connection.
  RpcClient& worker(const std::string& endpoint, const std::string& key) {
    auto& slot = workers[endpoint + " " + key];
    if (!slot) slot = std::make_unique<RpcClient>(*zctx, endpoint, key);
    return *slot;
  }

  zmq::context_t* zctx;
  std::unique_ptr<MasterClient> master;
  std::map<std::string, std::unique_ptr<RpcClient>> workers;
};

}  // namespace dfs
