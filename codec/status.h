// Status and Result<T>: how every fallible call in dfs reports failure.
// Nothing throws across a library boundary; exceptions from cppzmq, msgpack or
// RocksDB are caught where they arise and turned into a Status.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace dfs {

// One table of codes for the whole system. The numbers travel on the wire
// (codec/PROTOCOL.md), so never renumber: append.
enum class Code : uint16_t {
  kOk = 0,
  kInvalidArgument = 1,  // a malformed request or a path the namespace cannot hold
  kNotFound = 2,
  kAlreadyExists = 3,
  kNotADirectory = 4,
  kIsADirectory = 5,
  kDirectoryNotEmpty = 6,
  kDiskFull = 7,          // a worker has no room for the chunk
  kChecksumMismatch = 8,  // bytes do not match their SHA-256
  kUnavailable = 9,       // a peer cannot be reached, or no live worker fits
  kTimeout = 10,
  kIoError = 11,
  kCorruption = 12,  // stored data fails its own checks
  kNotLeader = 13,
  kProtocol = 14,  // a message that does not decode or does not validate
  kInternal = 15,
  kCancelled = 16,
  kBusy = 17,  // the master's queue of requests in progress is full: retry after a pause
  kPermissionDenied = 18,  // the sender's key or user may not do this
};

inline constexpr Code kLastCode = Code::kPermissionDenied;  // the highest code on the wire

std::string_view code_name(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }

  bool is_ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "not found: /a/b" style, for logs and for the CLI's one-line errors.
  std::string to_string() const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline Status invalid_argument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
inline Status not_found(std::string m) { return {Code::kNotFound, std::move(m)}; }
inline Status io_error(std::string m) { return {Code::kIoError, std::move(m)}; }
inline Status protocol_error(std::string m) { return {Code::kProtocol, std::move(m)}; }

// Result<T> holds a T or a non-ok Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT: implicit by design

  bool is_ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOkStatus;
    return is_ok() ? kOkStatus : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace dfs

// Propagate a failed Status from an expression that yields a Status.
#define DFS_RETURN_IF_ERROR(expr)                 \
  do {                                            \
    ::dfs::Status dfs_status_ = (expr);           \
    if (!dfs_status_.is_ok()) return dfs_status_; \
  } while (0)
