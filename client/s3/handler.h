// What the gateway's operation handlers share: the caller's connections,
// how an error is sent, and the few steps several operations take (a key's
// path, a small XML body, a range of an object copied out).
#pragma once

#include <httplib.h>

#include <functional>
#include <memory>
#include <string>

#include "client/client.h"
#include "client/s3/s3_error.h"
#include "client/upload_writer.h"
#include "client/worker_pool.h"

namespace dfs::s3 {

inline constexpr uint64_t kStreamPiece = 8 << 20;  // read from dfs per write to the socket

// One user's connections on one server thread: a client for the
// namespace and a transfer context for bytes.
struct UserConn {
  std::string public_key;
  ClientOptions options;
  std::unique_ptr<Client> client;
  std::unique_ptr<TransferContext> transfer;
  std::unique_ptr<TransferPool> writers;  // connections for uploads, kept between requests
};

using ErrorFn = std::function<void(const S3Error&)>;

// One request on an object (or, for a few operations, on a bucket: `key`
// and `path` empty), as verified.
struct ObjectCall {
  UserConn& user;
  const httplib::Request& req;
  httplib::Response& res;
  const ErrorFn& error;
  std::string bucket;
  std::string key;
  std::string path;          // of the key in dfs
  std::string payload_hash;  // x-amz-content-sha256 as signed
};

inline std::string quote_etag(const std::string& etag) { return "\"" + etag + "\""; }
int64_t now_s();
// The dfs path of a key, if the key is one a path can hold: no empty, "."
// or ".." levels (S3 allows them; a file system cannot).
Result<std::string> object_path(const std::string& bucket, const std::string& key);
// The path an x-amz-copy-source header ("BUCKET/KEY", URL-encoded) names.
Result<std::string> copy_source_path(const std::string& header);
// A request body of at most 2 MiB (an XML document), whole, checked
// against the SHA-256 it was signed with.
// The body's length as Content-Length declares it; 0 when absent or
// unreadable (a hint only: the body itself is what counts).
uint64_t declared_length(const httplib::Request& req);
Result<std::string> read_small_body(const httplib::ContentReader& reader,
                                    const std::string& payload_hash);
void send_xml(httplib::Response& res, const std::string& body);
// Streams the request body into `writer`: the body's MD5 in hex, once the
// body is whole and matches the SHA-256 it was signed with and any
// Content-MD5.
Result<std::string> stream_body(const ObjectCall& call, const httplib::ContentReader& reader,
                                UploadWriter& writer);
// Streams [from, to) of `file` into `out`, a piece at a time.
Status copy_range(UserConn& user, const std::string& path, const StatReply& file, uint64_t from,
                  uint64_t to, const std::function<bool(const char*, size_t)>& out);

}  // namespace dfs::s3
