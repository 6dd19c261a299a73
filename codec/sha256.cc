#include "codec/sha256.h"

#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>

namespace dfs {

struct Sha256::Impl {
  EVP_MD_CTX* ctx = nullptr;
};

namespace {
void init_or_die(EVP_MD_CTX* ctx) {
  // Failing to initialise a digest means the crypto library is unusable;
  // continuing would store chunks without a valid checksum.
  if (EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1) {
    std::fprintf(stderr, "fatal: EVP_DigestInit_ex(sha256) failed\n");
    std::abort();
  }
}
}  // namespace

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {
  impl_->ctx = EVP_MD_CTX_new();
  if (impl_->ctx == nullptr) std::abort();
  init_or_die(impl_->ctx);
}

Sha256::~Sha256() {
  if (impl_) EVP_MD_CTX_free(impl_->ctx);
}

Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(const void* data, size_t size) {
  if (size > 0) EVP_DigestUpdate(impl_->ctx, data, size);
}

std::string Sha256::finish_hex() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(impl_->ctx, digest, &len);
  init_or_die(impl_->ctx);
  static const char kHex[] = "0123456789abcdef";
  std::string out(static_cast<size_t>(len) * 2, '0');
  for (unsigned int i = 0; i < len; ++i) {
    out[2 * static_cast<size_t>(i)] = kHex[digest[i] >> 4];
    out[2 * static_cast<size_t>(i) + 1] = kHex[digest[i] & 15];
  }
  return out;
}

std::string Sha256::hex_of(std::string_view data) {
  Sha256 h;
  h.update(data.data(), data.size());
  return h.finish_hex();
}

bool is_sha256_hex(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace dfs
