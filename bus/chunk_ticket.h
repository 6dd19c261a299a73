// Chunk tickets: the masters' word that a user may read or write one chunk
// until a time, signed with Ed25519 (OpenSSL). A master that checked the
// caller's permission on the file signs one per chunk; a worker serves a
// client's read or write only against a ticket for that chunk and that
// operation, unexpired, signed by a key the keyring lists with the role
// `ticket`. Workers hold only the public half, so a worker cannot forge one.
//
// Ticket keys are 32-byte Ed25519 keys kept as Z85 text, in the same file
// format as CURVE keys (bus/curve_keys.h); `dfs keygen --ticket NAME` makes
// a pair.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bus/curve_keys.h"
#include "codec/messages.h"

namespace dfs {

// How long a ticket is good for: long enough for one large get, short
// enough that a leaked one soon stops opening anything.
inline constexpr std::chrono::hours kTicketLifetime{4};
// A worker's clock may be this far behind the master's.
inline constexpr std::chrono::minutes kTicketClockSkew{5};
// A master hands out the ticket it signed for the same chunk, user and
// operation this recently again, rather than a new one: a chunk read by
// many costs one signature, and workers verify it once (TicketVerifier).
// It is still good for the lifetime less this.
inline constexpr std::chrono::minutes kTicketReuse{10};

// A fresh Ed25519 pair, as Z85.
Result<KeyPair> generate_ticket_key();
// The public half of an Ed25519 secret key (both Z85).
Result<std::string> ticket_public_key(const std::string& secret_z85);

// Signs tickets with one secret key. Thread-compatible.
class TicketSigner {
 public:
  static Result<std::shared_ptr<TicketSigner>> make(const KeyPair& key);
  ~TicketSigner();
  TicketSigner(const TicketSigner&) = delete;
  TicketSigner& operator=(const TicketSigner&) = delete;

  ChunkTicket sign(std::string chunk_id, std::string user, std::string op,
                   int64_t expires_ms) const;
  // A ticket good for kTicketLifetime from `now_ms`: the one issued for the
  // same chunk, user and operation within kTicketReuse, or a new one.
  // Thread-safe.
  ChunkTicket issue(const std::string& chunk_id, const std::string& user, const std::string& op,
                    int64_t now_ms) const;

 private:
  TicketSigner();
  struct Key;
  std::unique_ptr<Key> key_;
  struct Issued;
  std::unique_ptr<Issued> issued_;
};

// Whether `ticket` lets its holder do `op` on `chunk_id` at `now_ms`: signed
// by one of `public_keys` (Z85), for that chunk and operation, unexpired.
// kPermissionDenied, saying which, otherwise.
Status check_ticket(const ChunkTicket& ticket, const std::vector<std::string>& public_keys,
                    std::string_view chunk_id, std::string_view op, int64_t now_ms);

// check_ticket with memory: the parsed keys are kept while the list stays
// the same, and a signature verified once is taken again without another
// Ed25519 verification (every frame of a chunk's write carries the same
// ticket; a master reuses a ticket for a while). The fields are still
// checked each time, and a remembered signature counts only for exactly
// the bytes it was verified over. A change of the key list (a revoked
// ticket key) forgets everything. Not thread-safe.
class TicketVerifier {
 public:
  TicketVerifier();
  ~TicketVerifier();
  TicketVerifier(const TicketVerifier&) = delete;
  TicketVerifier& operator=(const TicketVerifier&) = delete;

  Status check(const ChunkTicket& ticket, const std::vector<std::string>& public_keys,
               std::string_view chunk_id, std::string_view op, int64_t now_ms);
  // Ed25519 verifications done so far (the rest were remembered).
  uint64_t verifications() const { return verifications_; }

 private:
  struct Keys;
  std::unique_ptr<Keys> keys_;
  uint64_t verifications_ = 0;
};

}  // namespace dfs
