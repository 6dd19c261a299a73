// dfs-s3: an S3-compatible HTTP gateway in front of the cluster.
//
// Buckets are top-level directories; a key is a path under its bucket, each
// '/' a directory level. Requests are signed with AWS Signature V4 against
// access keys (client/s3/credentials.h), each of which names a dfs user
// whose own dfs key the gateway uses for that user's requests: the masters
// check every request as that user's. Bodies stream in both directions a
// chunk at a time, so memory stays bounded whatever the object's size.
#pragma once

#include <string>

#include "client/client.h"

namespace dfs::s3 {

struct GatewayOptions {
  ClientOptions client;  // masters, timeouts (the key comes per access key)
  std::string listen = "127.0.0.1";
  int port = 9000;
  std::string credentials;  // the access keys file
  int threads = 16;         // requests served at once
  std::string region = "us-east-1";
};

// Serves until SIGTERM or SIGINT. Returns the process exit code.
int run_gateway(const GatewayOptions& options);

}  // namespace dfs::s3
