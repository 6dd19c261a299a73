#include "codec/status.h"

namespace dfs {

std::string_view code_name(Code code) {
  switch (code) {
    case Code::kOk:
      return "ok";
    case Code::kInvalidArgument:
      return "invalid argument";
    case Code::kNotFound:
      return "not found";
    case Code::kAlreadyExists:
      return "already exists";
    case Code::kNotADirectory:
      return "not a directory";
    case Code::kIsADirectory:
      return "is a directory";
    case Code::kDirectoryNotEmpty:
      return "directory not empty";
    case Code::kDiskFull:
      return "disk full";
    case Code::kChecksumMismatch:
      return "checksum mismatch";
    case Code::kUnavailable:
      return "unavailable";
    case Code::kTimeout:
      return "timeout";
    case Code::kIoError:
      return "I/O error";
    case Code::kCorruption:
      return "corruption";
    case Code::kNotLeader:
      return "not leader";
    case Code::kProtocol:
      return "protocol error";
    case Code::kInternal:
      return "internal error";
    case Code::kCancelled:
      return "cancelled";
    case Code::kBusy:
      return "busy";
    case Code::kPermissionDenied:
      return "permission denied";
  }
  return "unknown error";
}

std::string Status::to_string() const {
  if (is_ok()) return "ok";
  std::string out(code_name(code_));
  if (!message_.empty()) {
    out += ": ";
    out += message_;
  }
  return out;
}

}  // namespace dfs
