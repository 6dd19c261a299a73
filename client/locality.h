// Whether a worker runs on this host, judged from its endpoint: reading a
// replica on the same host spares the network.
#pragma once

#include <string>

namespace dfs {

// True when the host of `endpoint` (tcp://host:port) is a loopback address,
// this machine's name, or an address of one of its interfaces.
bool is_local_endpoint(const std::string& endpoint);

}  // namespace dfs
