// Incremental SHA-256 over OpenSSL's EVP interface (which uses SHA-NI where the
// CPU has it). Digests travel and are stored as 64 lowercase hex characters.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace dfs {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;

  void update(const void* data, size_t size);
  // The hex digest; the hasher is reset and can be reused.
  std::string finish_hex();

  static std::string hex_of(std::string_view data);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

bool is_sha256_hex(std::string_view s);

}  // namespace dfs
