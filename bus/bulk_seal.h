// The bulk channel's sealing: AES-256-GCM over a dfs message's frames, keyed
// by a session secret that travelled over CURVE (docs/security.md, "The bulk
// channel"). CURVE seals each message with XSalsa20-Poly1305, about a third
// of AES-GCM's speed with AES-NI here, and libzmq offers no other cipher; so
// chunk bytes travel on a second socket without CURVE, sealed by this.
//
// A sealed message is
//   [prefix]   "DFB1", the 16-byte session id, a 64-bit big-endian counter
//   [frame]... each inner frame (header, body, data), encrypted in place
//   [tag]      16 bytes: GCM's tag over the frames, with the prefix and every
//              frame's length as associated data
// The nonce is the direction (client to server, or back) and the counter,
// so one session key never seals two messages under one nonce, and a message
// reflected back to its sender does not open. Receivers refuse a counter they
// have taken before (a window of the last 1024).
#pragma once

#include <zmq.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "codec/status.h"

namespace dfs {

inline constexpr size_t kBulkSessionBytes = 16;
inline constexpr size_t kBulkKeyBytes = 32;
inline constexpr size_t kBulkTagBytes = 16;
inline constexpr size_t kBulkPrefixBytes = 4 + kBulkSessionBytes + 8;
// Inner frames a sealed message may carry (a dfs message has header, body
// and at most one data frame), and their bytes together (a 1 MiB data frame
// and a small body): anything larger is refused before any decryption.
inline constexpr size_t kBulkMaxFrames = 4;
inline constexpr size_t kBulkMaxBytes = 2 << 20;

enum class BulkDirection : uint32_t { kToServer = 1, kToClient = 2 };

// A session's id and key, fresh from the system's random source.
struct BulkSecret {
  std::string session;  // kBulkSessionBytes
  std::string key;      // kBulkKeyBytes
  static Result<BulkSecret> random();
};

// The session id a sealed message names (its first frame), before it is
// opened: kProtocol when the frame is not a bulk prefix.
Result<std::string_view> bulk_session_of(const zmq::message_t& prefix);

// What a server sends, unsealed, to a message naming a session it does not
// hold (expired, or the server restarted): "DFBX" and the session id. Anyone
// can forge it, so it only makes a client open a new session.
std::string bulk_unknown_session(std::string_view session);
// The session an unknown-session notice names, if `frames` are one.
std::optional<std::string_view> bulk_unknown_session_of(const std::vector<zmq::message_t>& frames);

// What a connection to a bulk socket presents (ZeroMQ's PLAIN mechanism) to
// show that it holds a session, so that nobody else can even connect
// (bus/bulk_sessions.h, BulkGate): the session id in hex, and a digest of
// the session's key in hex. Both travel in clear, like the session id in
// every sealed message; neither reveals the key.
std::string bulk_gate_username(std::string_view session);
std::string bulk_gate_password(std::string_view key);

struct CipherContext;  // OpenSSL's, keyed once per sealer or opener

// Seals one direction's messages. Not thread-safe.
class BulkSealer {
 public:
  BulkSealer(const BulkSecret& secret, BulkDirection direction);
  ~BulkSealer();
  BulkSealer(BulkSealer&&) noexcept;
  BulkSealer& operator=(BulkSealer&&) noexcept;

  // Encrypts `frames` in place and wraps them in the prefix and tag. Frames
  // that share their buffer (a zero-copy message) are copied first, so the
  // caller's other references never see ciphertext.
  Status seal(std::vector<zmq::message_t>* frames);
  uint64_t sealed() const { return next_ - 1; }

 private:
  std::string session_;
  BulkDirection direction_;
  std::unique_ptr<CipherContext> cipher_;
  uint64_t next_ = 1;
};

// Opens one direction's messages. Not thread-safe.
class BulkOpener {
 public:
  BulkOpener(const BulkSecret& secret, BulkDirection direction);
  ~BulkOpener();
  BulkOpener(BulkOpener&&) noexcept;
  BulkOpener& operator=(BulkOpener&&) noexcept;

  // Checks and decrypts a sealed message in place: on success `frames` holds
  // the inner frames. kPermissionDenied for a message that does not verify
  // (wrong key, session or direction; altered, cut or reordered frames) or
  // that repeats a counter; kProtocol for one that is not a sealed message.
  // Either way the frames are left in no useful state.
  Status open(std::vector<zmq::message_t>* frames);

 private:
  bool fresh(uint64_t counter) const;
  void take(uint64_t counter);

  std::string session_;
  BulkDirection direction_;
  std::unique_ptr<CipherContext> cipher_;
  // Replay window: the highest counter taken, and which of the 1024 below it were.
  uint64_t highest_ = 0;
  std::vector<uint64_t> seen_;
};

}  // namespace dfs
