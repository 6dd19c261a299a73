#include "bus/chunk_ticket.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>

#include <zmq.h>

namespace dfs {
namespace {

constexpr size_t kKeyBytes = 32;
constexpr size_t kSignatureBytes = 64;

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

std::string to_z85(const uint8_t* bytes) {
  std::array<char, 41> text{};
  zmq_z85_encode(text.data(), bytes, kKeyBytes);
  return text.data();
}

bool from_z85(const std::string& text, std::array<uint8_t, kKeyBytes>* out) {
  return is_z85_key(text) && zmq_z85_decode(out->data(), text.c_str()) != nullptr;
}

// The bytes a signature covers: every field, each with its length, after a
// label no other signed thing in dfs starts with.
std::string signed_bytes(const ChunkTicket& t) {
  std::string out = "dfs chunk ticket v1";
  auto add = [&](std::string_view field) {
    out += std::to_string(field.size());
    out += ':';
    out += field;
  };
  add(t.chunk_id);
  add(t.user);
  add(t.op);
  add(std::to_string(t.expires_ms));
  return out;
}

Pkey private_key(const std::string& secret_z85) {
  std::array<uint8_t, kKeyBytes> raw{};
  if (!from_z85(secret_z85, &raw)) return nullptr;
  return Pkey(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, raw.data(), raw.size()));
}

}  // namespace

struct TicketSigner::Key {
  Pkey pkey;
};

Result<KeyPair> generate_ticket_key() {
  std::array<uint8_t, kKeyBytes> seed{};
  if (RAND_bytes(seed.data(), seed.size()) != 1) {
    return Status(Code::kInternal, "no randomness for a ticket key");
  }
  KeyPair pair;
  pair.secret_key = to_z85(seed.data());
  auto pub = ticket_public_key(pair.secret_key);
  if (!pub.is_ok()) return pub.status();
  pair.public_key = pub.value();
  return pair;
}

Result<std::string> ticket_public_key(const std::string& secret_z85) {
  Pkey key = private_key(secret_z85);
  if (!key) return invalid_argument("not an Ed25519 secret key");
  std::array<uint8_t, kKeyBytes> pub{};
  size_t len = pub.size();
  if (EVP_PKEY_get_raw_public_key(key.get(), pub.data(), &len) != 1 || len != kKeyBytes) {
    return Status(Code::kInternal, "cannot derive an Ed25519 public key");
  }
  return to_z85(pub.data());
}

Result<std::shared_ptr<TicketSigner>> TicketSigner::make(const KeyPair& key) {
  auto pub = ticket_public_key(key.secret_key);
  if (!pub.is_ok()) return pub.status();
  if (!key.public_key.empty() && key.public_key != pub.value()) {
    return invalid_argument("the ticket key's public half does not match its secret half");
  }
  std::shared_ptr<TicketSigner> signer(new TicketSigner());
  signer->key_ = std::make_unique<Key>();
  signer->key_->pkey = private_key(key.secret_key);
  return signer;
}

TicketSigner::~TicketSigner() = default;

ChunkTicket TicketSigner::sign(std::string chunk_id, std::string user, std::string op,
                               int64_t expires_ms) const {
  ChunkTicket t{std::move(chunk_id), std::move(user), std::move(op), expires_ms, ""};
  std::string message = signed_bytes(t);
  std::array<uint8_t, kSignatureBytes> sig{};
  size_t len = sig.size();
  MdCtx ctx(EVP_MD_CTX_new());
  if (ctx && EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_->pkey.get()) == 1 &&
      EVP_DigestSign(ctx.get(), sig.data(), &len, reinterpret_cast<const uint8_t*>(message.data()),
                     message.size()) == 1) {
    t.signature.assign(reinterpret_cast<const char*>(sig.data()), len);
  }
  return t;  // unsigned if signing failed: every worker refuses it
}

Status check_ticket(const ChunkTicket& ticket, const std::vector<std::string>& public_keys,
                    std::string_view chunk_id, std::string_view op, int64_t now_ms) {
  auto refuse = [&](const std::string& why) {
    return Status(Code::kPermissionDenied, "no valid ticket to " + std::string(op) + " chunk " +
                                               std::string(chunk_id) + ": " + why);
  };
  if (ticket.signature.empty()) return refuse("none given (ask the master: dfs get does)");
  if (ticket.chunk_id != chunk_id) return refuse("the ticket is for another chunk");
  if (ticket.op != op) return refuse("the ticket is for " + ticket.op);
  const int64_t skew = std::chrono::milliseconds(kTicketClockSkew).count();
  if (ticket.expires_ms + skew < now_ms) return refuse("the ticket has expired");
  if (ticket.signature.size() != kSignatureBytes) return refuse("the signature is malformed");
  std::string message = signed_bytes(ticket);
  for (const auto& key_text : public_keys) {
    std::array<uint8_t, kKeyBytes> raw{};
    if (!from_z85(key_text, &raw)) continue;
    Pkey key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw.data(), raw.size()));
    MdCtx ctx(EVP_MD_CTX_new());
    if (!key || !ctx) continue;
    if (EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) == 1 &&
        EVP_DigestVerify(ctx.get(), reinterpret_cast<const uint8_t*>(ticket.signature.data()),
                         ticket.signature.size(), reinterpret_cast<const uint8_t*>(message.data()),
                         message.size()) == 1) {
      return Status::ok();
    }
  }
  return refuse("the signature is not the masters'");
}

}  // namespace dfs
