// Where things listen. A master named by its api endpoint tcp://H:P owns four
// consecutive ports: P api (ROUTER), P+1 raft peers (ROUTER), P+2 events
// (SUB, heartbeats in), P+3 jobs (PUB, jobs and events out). Workers and
// clients are configured with api endpoints only and derive the rest.
#pragma once

#include <string>
#include <vector>

#include "codec/status.h"

namespace dfs {

struct HostPort {
  std::string host;
  int port = 0;
  std::string tcp() const { return "tcp://" + host + ":" + std::to_string(port); }
};

// Accepts "tcp://host:port" or "host:port".
Result<HostPort> parse_endpoint(const std::string& text);
// Splits a comma-separated list and parses each.
Result<std::vector<HostPort>> parse_endpoint_list(const std::string& text);

inline std::string master_api(const HostPort& m) { return m.tcp(); }
inline std::string master_peer(const HostPort& m) { return HostPort{m.host, m.port + 1}.tcp(); }
inline std::string master_events(const HostPort& m) { return HostPort{m.host, m.port + 2}.tcp(); }
inline std::string master_jobs(const HostPort& m) { return HostPort{m.host, m.port + 3}.tcp(); }

// A bind address for an endpoint: tcp://host:port -> tcp://host:port, with
// "localhost" spelled 127.0.0.1 since ZeroMQ binds to interfaces.
std::string bind_address(const HostPort& hp);

}  // namespace dfs
