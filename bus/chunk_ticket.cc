#include "bus/chunk_ticket.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <mutex>

#include <zmq.h>

#include "bus/fifo_memo.h"

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

TicketSigner::TicketSigner() : issued_(std::make_unique<Issued>()) {}
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

namespace {

Status refusal(std::string_view chunk_id, std::string_view op, const std::string& why) {
  return Status(Code::kPermissionDenied, "no valid ticket to " + std::string(op) + " chunk " +
                                             std::string(chunk_id) + ": " + why);
}

// Everything but the signature: the chunk, the operation, the time.
Status check_fields(const ChunkTicket& ticket, std::string_view chunk_id, std::string_view op,
                    int64_t now_ms) {
  if (ticket.signature.empty()) {
    return refusal(chunk_id, op, "none given (ask the master: dfs get does)");
  }
  if (ticket.chunk_id != chunk_id) return refusal(chunk_id, op, "the ticket is for another chunk");
  if (ticket.op != op) return refusal(chunk_id, op, "the ticket is for " + ticket.op);
  const int64_t skew = std::chrono::milliseconds(kTicketClockSkew).count();
  if (ticket.expires_ms + skew < now_ms) return refusal(chunk_id, op, "the ticket has expired");
  if (ticket.signature.size() != kSignatureBytes) {
    return refusal(chunk_id, op, "the signature is malformed");
  }
  return Status::ok();
}

std::vector<Pkey> public_keys_of(const std::vector<std::string>& texts) {
  std::vector<Pkey> keys;
  for (const auto& text : texts) {
    std::array<uint8_t, kKeyBytes> raw{};
    if (!from_z85(text, &raw)) continue;
    Pkey key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw.data(), raw.size()));
    if (key) keys.push_back(std::move(key));
  }
  return keys;
}

bool signed_by_one_of(const std::vector<Pkey>& keys, const std::string& signature,
                      const std::string& message) {
  for (const auto& key : keys) {
    MdCtx ctx(EVP_MD_CTX_new());
    if (!ctx) continue;
    if (EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) == 1 &&
        EVP_DigestVerify(ctx.get(), reinterpret_cast<const uint8_t*>(signature.data()),
                         signature.size(), reinterpret_cast<const uint8_t*>(message.data()),
                         message.size()) == 1) {
      return true;
    }
  }
  return false;
}

}  // namespace

Status check_ticket(const ChunkTicket& ticket, const std::vector<std::string>& public_keys,
                    std::string_view chunk_id, std::string_view op, int64_t now_ms) {
  DFS_RETURN_IF_ERROR(check_fields(ticket, chunk_id, op, now_ms));
  if (!signed_by_one_of(public_keys_of(public_keys), ticket.signature, signed_bytes(ticket))) {
    return refusal(chunk_id, op, "the signature is not the masters'");
  }
  return Status::ok();
}

// Signatures remembered by a worker: enough for every chunk being written
// or read at once many times over; about 200 bytes each.
constexpr size_t kVerifiedRemembered = 16384;

struct TicketVerifier::Keys {
  std::vector<std::string> texts;  // what `parsed` was made from
  std::vector<Pkey> parsed;
  FifoMemo<std::string, std::string> verified{kVerifiedRemembered};  // signature -> its bytes
};

TicketVerifier::TicketVerifier() : keys_(std::make_unique<Keys>()) {}
TicketVerifier::~TicketVerifier() = default;

Status TicketVerifier::check(const ChunkTicket& ticket, const std::vector<std::string>& public_keys,
                             std::string_view chunk_id, std::string_view op, int64_t now_ms) {
  DFS_RETURN_IF_ERROR(check_fields(ticket, chunk_id, op, now_ms));
  if (public_keys != keys_->texts) {
    keys_->texts = public_keys;
    keys_->parsed = public_keys_of(public_keys);
    keys_->verified.clear();
  }
  std::string message = signed_bytes(ticket);
  if (const std::string* seen = keys_->verified.find(ticket.signature); seen && *seen == message) {
    return Status::ok();
  }
  ++verifications_;
  if (!signed_by_one_of(keys_->parsed, ticket.signature, message)) {
    return refusal(chunk_id, op, "the signature is not the masters'");
  }
  keys_->verified.put(ticket.signature, std::move(message));
  return Status::ok();
}

// Tickets issued lately, by chunk, user and operation.
constexpr size_t kIssuedRemembered = 65536;

struct TicketSigner::Issued {
  std::mutex mu;
  FifoMemo<std::string, ChunkTicket> tickets{kIssuedRemembered};
};

ChunkTicket TicketSigner::issue(const std::string& chunk_id, const std::string& user,
                                const std::string& op, int64_t now_ms) const {
  const int64_t lifetime = std::chrono::milliseconds(kTicketLifetime).count();
  const int64_t reuse = std::chrono::milliseconds(kTicketReuse).count();
  // Lengths first: no two (chunk, user, op) make the same key.
  std::string key = signed_bytes(ChunkTicket{chunk_id, user, op, 0, ""});
  {
    std::lock_guard lock(issued_->mu);
    const ChunkTicket* t = issued_->tickets.find(key);
    // Issued within the reuse window, and not from a clock that went back.
    if (t && t->expires_ms - lifetime + reuse > now_ms && t->expires_ms - lifetime <= now_ms) {
      return *t;
    }
  }
  ChunkTicket fresh = sign(chunk_id, user, op, now_ms + lifetime);
  if (!fresh.signature.empty()) {
    std::lock_guard lock(issued_->mu);
    issued_->tickets.put(key, fresh);
  }
  return fresh;
}

}  // namespace dfs
