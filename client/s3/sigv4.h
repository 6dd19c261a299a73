// AWS Signature Version 4, as S3 clients sign requests: in the
// Authorization header, or in the query string of a presigned URL.
//
// A pure core: the request, the secrets and the clock are passed in.
// Only path-style requests are served (/BUCKET/KEY), which is what
// clients use with a custom endpoint.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "client/s3/s3_error.h"

namespace dfs::s3 {

// The parts of an HTTP request a signature covers.
struct SignedRequest {
  std::string method;
  std::string path;                                        // decoded: "/bucket/a key"
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in any order
  // A header's value by lowercase name, if present.
  std::function<std::optional<std::string>(const std::string&)> header;
  // Every header's name, lowercase: an x-amz-* header must be signed.
  std::vector<std::string> header_names;
};

// What a good signature tells the caller.
struct Signer {
  std::string access_key;
  // The body's SHA-256 (hex) the signature covers, or "UNSIGNED-PAYLOAD":
  // the body must be checked against it as it streams in.
  std::string payload_hash;
};

// The secret of an access key id; nullopt if there is no such key.
using SecretLookup = std::function<std::optional<std::string>(const std::string& access_key)>;

// The most a request's time may differ from ours (S3's own figure).
inline constexpr int64_t kMaxClockSkewS = 15 * 60;
// The longest a presigned URL may be valid (S3's: 7 days).
inline constexpr int64_t kMaxPresignedExpiryS = 7 * 24 * 3600;

// Checks the request's signature (header or presigned) at time `now_s`
// (seconds since the epoch). A request with neither is AccessDenied.
Result<Signer> verify(const SignedRequest& request, const SecretLookup& secrets, int64_t now_s);

// Lowercase hex of raw bytes (digests, signatures, the listing's tokens).
std::string to_hex(const std::string& bytes);

// Encodes as SigV4 wants: every byte but A-Z a-z 0-9 - _ . ~ as %XX
// (uppercase), and '/' too unless `keep_slash`.
std::string uri_encode(std::string_view s, bool keep_slash);

// The signature of `string_to_sign` with the key derived from `secret`
// for `date` (YYYYMMDD) and `region`, as lowercase hex. Exposed for tests
// and for signing in the tests' own client.
std::string signature(const std::string& secret, const std::string& date, const std::string& region,
                      const std::string& string_to_sign);

// The canonical request (the thing whose hash is signed), for the named
// signed headers; exposed for tests.
std::string canonical_request(const SignedRequest& request,
                              const std::vector<std::string>& signed_headers,
                              const std::string& payload_hash, bool presigned);

}  // namespace dfs::s3
