// S3's errors: an HTTP status, a code clients act on (NoSuchKey,
// SignatureDoesNotMatch, ...) and a message, sent as S3's XML error body.
#pragma once

#include <string>
#include <utility>
#include <variant>

#include "codec/status.h"

namespace dfs::s3 {

struct S3Error {
  int http = 500;
  std::string code = "InternalError";
  std::string message;
};

// A value, or the S3 error that stands in its place.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit, as dfs::Result
  Result(S3Error error) : v_(std::move(error)) {}  // NOLINT
  bool ok() const { return v_.index() == 0; }
  const T& value() const { return std::get<0>(v_); }
  T& value() { return std::get<0>(v_); }
  const S3Error& error() const { return std::get<1>(v_); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, S3Error> v_;
};

inline S3Error access_denied(std::string message) {
  return {403, "AccessDenied", std::move(message)};
}
inline S3Error invalid_argument(std::string message) {
  return {400, "InvalidArgument", std::move(message)};
}

// The S3 error for a dfs failure on `resource` (a bucket or key). `is_bucket`:
// a missing path is NoSuchBucket rather than NoSuchKey.
S3Error from_status(const Status& s, bool is_bucket);

}  // namespace dfs::s3
