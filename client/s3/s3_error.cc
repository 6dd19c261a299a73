#include "client/s3/s3_error.h"

namespace dfs::s3 {

S3Error from_status(const Status& s, bool is_bucket) {
  const std::string& m = s.message();
  switch (s.code()) {
    case Code::kNotFound:
      return is_bucket ? S3Error{404, "NoSuchBucket", m} : S3Error{404, "NoSuchKey", m};
    case Code::kPermissionDenied:
      return access_denied(m);
    case Code::kDirectoryNotEmpty:
      return {409, "BucketNotEmpty", m};
    case Code::kAlreadyExists:
      return {409, "OperationAborted", m};
    case Code::kDiskFull:
      return {507, "InsufficientStorage", m};
    case Code::kInvalidArgument:
    case Code::kNotADirectory:
    case Code::kIsADirectory:
      return invalid_argument(m);
    case Code::kUnavailable:
    case Code::kTimeout:
    case Code::kNotLeader:
    case Code::kBusy:
      return {503, "ServiceUnavailable", m};
    default:
      return {500, "InternalError", m};
  }
}

}  // namespace dfs::s3
