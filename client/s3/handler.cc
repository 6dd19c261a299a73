#include "client/s3/handler.h"

#include <algorithm>
#include <chrono>

#include "client/file_range.h"
#include "client/s3/digest.h"
#include "client/s3/sigv4.h"
#include "codec/path.h"
#include "codec/sha256.h"

namespace dfs::s3 {
namespace {
constexpr size_t kMaxSmallBody = 2 << 20;  // DeleteObjects: 1000 keys fit easily
}  // namespace

int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<std::string> object_path(const std::string& bucket, const std::string& key) {
  std::string bare = key;
  if (!bare.empty() && bare.back() == '/') bare.pop_back();  // a "directory" key
  const std::string path = "/" + bucket + "/" + bare;
  auto normal = normalize_path(path);
  if (bare.empty() || !normal.is_ok() || normal.value() != path) {
    return invalid_argument("the key '" + key + "' has an empty, '.' or '..' level, which dfs " +
                            "cannot store");
  }
  return path;
}

Result<std::string> copy_source_path(const std::string& header) {
  std::string source = httplib::detail::decode_url(header.substr(0, header.find('?')), false);
  if (!source.empty() && source.front() == '/') source.erase(0, 1);
  const size_t slash = source.find('/');
  if (slash == std::string::npos) return invalid_argument("x-amz-copy-source must be BUCKET/KEY");
  return object_path(source.substr(0, slash), source.substr(slash + 1));
}

uint64_t declared_length(const httplib::Request& req) {
  const std::string v = req.get_header_value("Content-Length");
  if (v.empty() || v.size() > 18 ||
      !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return 0;
  }
  return std::stoull(v);
}

Result<std::string> read_small_body(const httplib::ContentReader& reader,
                                    const std::string& payload_hash) {
  std::string body;
  bool fits = true;
  reader([&](const char* d, size_t n) {
    // Past the bound the rest is read and dropped, so the connection stays
    // in step for the next request.
    fits = fits && body.size() + n <= kMaxSmallBody;
    if (fits) body.append(d, n);
    return true;
  });
  if (!fits) return S3Error{400, "MalformedXML", "the request body is too large"};
  // The document is what was signed, not what a replayer put in its place.
  if (payload_hash != "UNSIGNED-PAYLOAD" && Sha256::hex_of(body) != payload_hash) {
    return S3Error{400, "XAmzContentSHA256Mismatch",
                   "the body's SHA-256 is not the x-amz-content-sha256 it was signed with"};
  }
  return body;
}

void send_xml(httplib::Response& res, const std::string& body) {
  res.status = 200;
  res.set_content(body, "application/xml");
}

Result<std::string> stream_body(const ObjectCall& call, const httplib::ContentReader& reader,
                                UploadWriter& writer) {
  Md5 md5;
  Sha256 sha;
  const bool check_sha = call.payload_hash != "UNSIGNED-PAYLOAD";
  Status failed;
  bool complete = reader([&](const char* data, size_t n) {
    // After a failure the rest is read and dropped, so the connection
    // stays in step for the next request.
    if (!failed.is_ok()) return true;
    md5.update(data, n);
    if (check_sha) sha.update(data, n);
    failed = writer.append(data, n);
    return true;
  });
  if (!failed.is_ok()) return from_status(failed, false);
  if (!complete) return S3Error{400, "IncompleteBody", "the body ended before its length"};
  const std::string raw_md5 = md5.raw();
  if (check_sha && sha.finish_hex() != call.payload_hash) {
    return S3Error{400, "XAmzContentSHA256Mismatch",
                   "the body's SHA-256 is not the x-amz-content-sha256 it was signed with"};
  }
  if (call.req.has_header("Content-MD5") &&
      call.req.get_header_value("Content-MD5") != base64(raw_md5)) {
    return S3Error{400, "BadDigest", "the body's MD5 is not its Content-MD5"};
  }
  return to_hex(raw_md5);
}

Status copy_range(UserConn& user, const std::string& path, const StatReply& file, uint64_t from,
                  uint64_t to, const std::function<bool(const char*, size_t)>& out) {
  for (uint64_t at = from; at < to; at += kStreamPiece) {
    Status s = read_file_range(
        *user.transfer, user.options, path, file, at, std::min(kStreamPiece, to - at),
        [&](const char* d, size_t n) {
          return out(d, n) ? Status::ok() : Status(Code::kCancelled, "the receiver stopped");
        });
    DFS_RETURN_IF_ERROR(s);
  }
  return Status::ok();
}

}  // namespace dfs::s3
