// CURVE key pairs and the files that hold them. A key is 32 bytes, kept as
// 40 characters of Z85 text. A key file is "name = value" lines:
//   public-key = <Z85>
//   secret-key = <Z85>      (only in a secret key file, which must be 0600)
// `dfs keygen NAME` writes NAME.key (both lines) and NAME.pub (public only).
#pragma once

#include <string>
#include <string_view>

#include "codec/status.h"

namespace dfs {

struct KeyPair {
  std::string public_key;  // Z85
  std::string secret_key;  // Z85; empty when only the public half is known
};

// 40 characters of the Z85 alphabet that decode to 32 bytes.
bool is_z85_key(std::string_view s);

// A fresh pair from libsodium's random source.
Result<KeyPair> generate_key_pair();

// CURVE keys connect; ticket keys (Ed25519) sign chunk tickets.
enum class KeyKind { kCurve, kTicket };

// Reads a key file. With `need_secret`, the file must hold a secret key, be
// a regular file readable by its owner only (no group or other bits), and
// its public key must be the one the secret key makes.
Result<KeyPair> load_key_file(const std::string& path, bool need_secret,
                              KeyKind kind = KeyKind::kCurve);

// Writes PREFIX.key (mode 0600, refused if it exists) and PREFIX.pub.
Status write_key_files(const std::string& prefix, const KeyPair& pair,
                       KeyKind kind = KeyKind::kCurve);

}  // namespace dfs
