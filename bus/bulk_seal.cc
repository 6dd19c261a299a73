#include "bus/bulk_seal.h"

#include "codec/sha256.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace dfs {

namespace {

constexpr std::string_view kMagic = "DFB1";
constexpr std::string_view kUnknownMagic = "DFBX";
constexpr size_t kNonceBytes = 12;
constexpr uint64_t kWindow = 1024;

void put_be(uint64_t v, size_t bytes, unsigned char* out) {
  for (size_t i = 0; i < bytes; ++i) out[bytes - 1 - i] = static_cast<unsigned char>(v >> (8 * i));
}

uint64_t get_be64(const unsigned char* in) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | in[i];
  return v;
}

std::array<unsigned char, kNonceBytes> nonce_of(BulkDirection direction, uint64_t counter) {
  std::array<unsigned char, kNonceBytes> nonce{};
  put_be(static_cast<uint32_t>(direction), 4, nonce.data());
  put_be(counter, 8, nonce.data() + 4);
  return nonce;
}

// What GCM authenticates besides the ciphertext: the prefix (session and
// counter) and the length of every frame, so frames cannot be cut, joined,
// split or reordered without the tag failing.
std::string associated_data(const unsigned char* prefix, const zmq::message_t* frames,
                            size_t count) {
  std::string aad(reinterpret_cast<const char*>(prefix), kBulkPrefixBytes);
  unsigned char n[8];
  put_be(count, 4, n);
  aad.append(reinterpret_cast<const char*>(n), 4);
  for (size_t i = 0; i < count; ++i) {
    put_be(frames[i].size(), 8, n);
    aad.append(reinterpret_cast<const char*>(n), 8);
  }
  return aad;
}

std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

}  // namespace

std::string bulk_gate_username(std::string_view session) { return hex(session); }

std::string bulk_gate_password(std::string_view key) {
  return Sha256::hex_of("dfs bulk gate v1:" + std::string(key)).substr(0, 32);
}

struct CipherContext {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  ~CipherContext() { EVP_CIPHER_CTX_free(ctx); }
};

namespace {

// GCM over a message in place, either way (the context was keyed to
// encrypt or to decrypt): a fresh nonce, the associated data, then each
// frame. The tag is the caller's: taken after sealing, checked after opening.
bool crypt_frames(EVP_CIPHER_CTX* ctx, BulkDirection direction, uint64_t counter,
                  const unsigned char* prefix, zmq::message_t* frames, size_t count) {
  std::string aad = associated_data(prefix, frames, count);
  auto nonce = nonce_of(direction, counter);
  int len = 0;
  if (EVP_CipherInit_ex(ctx, nullptr, nullptr, nullptr, nonce.data(), -1) != 1 ||
      EVP_CipherUpdate(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                       static_cast<int>(aad.size())) != 1) {
    return false;
  }
  for (size_t i = 0; i < count; ++i) {
    if (frames[i].size() == 0) continue;
    auto* bytes = frames[i].data<unsigned char>();
    if (EVP_CipherUpdate(ctx, bytes, &len, bytes, static_cast<int>(frames[i].size())) != 1 ||
        static_cast<size_t>(len) != frames[i].size()) {
      return false;
    }
  }
  return true;
}

}  // namespace

Result<BulkSecret> BulkSecret::random() {
  BulkSecret s;
  s.session.resize(kBulkSessionBytes);
  s.key.resize(kBulkKeyBytes);
  if (RAND_bytes(reinterpret_cast<unsigned char*>(s.session.data()), kBulkSessionBytes) != 1 ||
      RAND_bytes(reinterpret_cast<unsigned char*>(s.key.data()), kBulkKeyBytes) != 1) {
    return Status(Code::kInternal, "no random bytes for a bulk session");
  }
  return s;
}

Result<std::string_view> bulk_session_of(const zmq::message_t& prefix) {
  if (prefix.size() != kBulkPrefixBytes ||
      std::memcmp(prefix.data(), kMagic.data(), kMagic.size()) != 0) {
    return protocol_error("not a sealed bulk message");
  }
  return std::string_view(prefix.data<char>() + kMagic.size(), kBulkSessionBytes);
}

std::string bulk_unknown_session(std::string_view session) {
  return std::string(kUnknownMagic) + std::string(session);
}

std::optional<std::string_view> bulk_unknown_session_of(const std::vector<zmq::message_t>& frames) {
  if (frames.size() != 1 || frames[0].size() != kUnknownMagic.size() + kBulkSessionBytes ||
      std::memcmp(frames[0].data(), kUnknownMagic.data(), kUnknownMagic.size()) != 0) {
    return std::nullopt;
  }
  return std::string_view(frames[0].data<char>() + kUnknownMagic.size(), kBulkSessionBytes);
}

BulkSealer::BulkSealer(const BulkSecret& secret, BulkDirection direction)
    : session_(secret.session), direction_(direction), cipher_(std::make_unique<CipherContext>()) {
  EVP_EncryptInit_ex(cipher_->ctx, EVP_aes_256_gcm(), nullptr,
                     reinterpret_cast<const unsigned char*>(secret.key.data()), nullptr);
}
BulkSealer::~BulkSealer() = default;
BulkSealer::BulkSealer(BulkSealer&&) noexcept = default;
BulkSealer& BulkSealer::operator=(BulkSealer&&) noexcept = default;

Status BulkSealer::seal(std::vector<zmq::message_t>* frames) {
  if (frames->empty() || frames->size() > kBulkMaxFrames) {
    return invalid_argument("a sealed message carries 1 to 4 frames");
  }
  uint64_t counter = next_++;
  zmq::message_t prefix(kBulkPrefixBytes);
  auto* p = prefix.data<unsigned char>();
  std::memcpy(p, kMagic.data(), kMagic.size());
  std::memcpy(p + kMagic.size(), session_.data(), kBulkSessionBytes);
  put_be(counter, 8, p + kMagic.size() + kBulkSessionBytes);
  for (auto& f : *frames) {
    // Another holder of a shared buffer must never see it encrypted.
    if (f.size() > 0 && zmq_msg_get(f.handle(), ZMQ_SHARED) == 1) {
      zmq::message_t own(f.data(), f.size());
      f = std::move(own);
    }
  }
  EVP_CIPHER_CTX* ctx = cipher_->ctx;
  bool ok = crypt_frames(ctx, direction_, counter, p, frames->data(), frames->size());
  zmq::message_t tag(kBulkTagBytes);
  unsigned char rest[16];
  int len = 0;
  ok = ok && EVP_EncryptFinal_ex(ctx, rest, &len) == 1 && len == 0 &&
       EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kBulkTagBytes, tag.data()) == 1;
  if (!ok) return Status(Code::kInternal, "AES-256-GCM sealing failed");
  frames->insert(frames->begin(), std::move(prefix));
  frames->push_back(std::move(tag));
  return Status::ok();
}

BulkOpener::BulkOpener(const BulkSecret& secret, BulkDirection direction)
    : session_(secret.session),
      direction_(direction),
      cipher_(std::make_unique<CipherContext>()),
      seen_(kWindow / 64, 0) {
  EVP_DecryptInit_ex(cipher_->ctx, EVP_aes_256_gcm(), nullptr,
                     reinterpret_cast<const unsigned char*>(secret.key.data()), nullptr);
}
BulkOpener::~BulkOpener() = default;
BulkOpener::BulkOpener(BulkOpener&&) noexcept = default;
BulkOpener& BulkOpener::operator=(BulkOpener&&) noexcept = default;

bool BulkOpener::fresh(uint64_t counter) const {
  if (counter == 0) return false;
  if (counter > highest_) return true;
  if (highest_ - counter >= kWindow) return false;
  uint64_t bit = counter % kWindow;
  return (seen_[bit / 64] & (uint64_t{1} << (bit % 64))) == 0;
}

void BulkOpener::take(uint64_t counter) {
  if (counter > highest_) {
    // The counters between the old highest and this one were never seen.
    uint64_t gap = counter - highest_;
    if (gap >= kWindow) {
      std::fill(seen_.begin(), seen_.end(), 0);
    } else {
      for (uint64_t c = highest_ + 1; c < counter; ++c) {
        uint64_t bit = c % kWindow;
        seen_[bit / 64] &= ~(uint64_t{1} << (bit % 64));
      }
    }
    highest_ = counter;
  }
  uint64_t bit = counter % kWindow;
  seen_[bit / 64] |= uint64_t{1} << (bit % 64);
}

Status BulkOpener::open(std::vector<zmq::message_t>* frames) {
  if (frames->size() < 3 || frames->size() > kBulkMaxFrames + 2) {
    return protocol_error("a sealed message has a prefix, 1 to 4 frames and a tag");
  }
  size_t bytes = 0;
  for (size_t i = 1; i + 1 < frames->size(); ++i) bytes += (*frames)[i].size();
  if (bytes > kBulkMaxBytes) return protocol_error("a sealed message larger than 2 MiB");
  auto session = bulk_session_of(frames->front());
  if (!session.is_ok()) return session.status();
  const zmq::message_t& tag = frames->back();
  if (tag.size() != kBulkTagBytes) return protocol_error("a sealed message's tag is 16 bytes");
  if (session.value() != session_) {
    return Status(Code::kPermissionDenied, "a sealed message of another session");
  }
  const auto* p = frames->front().data<unsigned char>();
  uint64_t counter = get_be64(p + kMagic.size() + kBulkSessionBytes);
  if (!fresh(counter)) {
    return Status(Code::kPermissionDenied,
                  "a sealed message repeats counter " + std::to_string(counter));
  }
  size_t inner = frames->size() - 2;
  zmq::message_t* body = frames->data() + 1;
  EVP_CIPHER_CTX* ctx = cipher_->ctx;
  bool ok = crypt_frames(ctx, direction_, counter, p, body, inner);
  unsigned char expected[kBulkTagBytes];
  std::memcpy(expected, tag.data(), kBulkTagBytes);
  unsigned char rest[16];
  int len = 0;
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kBulkTagBytes, expected) == 1 &&
       EVP_DecryptFinal_ex(ctx, rest, &len) == 1;
  if (!ok) return Status(Code::kPermissionDenied, "a sealed message does not verify");
  take(counter);
  frames->pop_back();
  frames->erase(frames->begin());
  return Status::ok();
}

}  // namespace dfs
