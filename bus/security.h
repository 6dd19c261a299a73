// The process's security: its own CURVE key pair and the cluster keyring,
// or --insecure. Every binary sets it once at start (init_security); sockets
// (make_socket) and servers (authorize) read it. Thread-safe.
//
// Secure mode: every bound TCP socket is a CURVE server with a ZAP domain,
// every connecting one a CURVE client that must know the server's key. One
// ZapHandler per ZeroMQ context admits a peer only if its key is in the
// keyring with a role allowed on that domain, and names the key as the
// connection's User-Id, so servers can check each message against the
// keyring as it is now.
#pragma once

#include <boost/program_options.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include <zmq.hpp>

#include "bus/access_policy.h"
#include "bus/connection_table.h"
#include "bus/curve_keys.h"
#include "bus/keyring.h"
#include "bus/wire.h"

namespace dfs {

struct SecurityFlags {
  bool insecure = false;
  std::string key_file;      // this process's secret key
  std::string keyring_file;  // the cluster's allow-list
};

// Adds --key, --keyring and --insecure (so DFS_KEY, DFS_KEYRING and
// DFS_INSECURE and config files work as for any other flag).
void add_security_options(boost::program_options::options_description& desc);
SecurityFlags security_flags(const boost::program_options::variables_map& vm);
// From DFS_KEY, DFS_KEYRING and DFS_INSECURE (non-empty: insecure), for
// tools that take no flags for it.
SecurityFlags security_flags_from_env();

class Security {
 public:
  bool secure() const { return secure_; }
  const KeyPair& own() const { return own_; }
  std::shared_ptr<const Keyring> keyring() const;
  // Whether this process's own key is in the keyring as `role` `name`, so
  // its peers will let it in (always true in insecure mode).
  Status check_self(Role role, const std::string& name) const;
  // The keyring file as last read, without the log's changes.
  std::shared_ptr<const Keyring> file_keyring() const;
  // Rereads the keyring file if it changed since the last look (its size or
  // mtime); a file that no longer parses is reported and the old keyring
  // kept. Whether it took a new file in.
  bool reload_keyring_if_changed();
  // Takes in the keyring changes made through the log (one older than those
  // held is ignored): later handshakes and messages are checked against the
  // file and the log together (effective_keyring). The open connections of
  // every key no longer listed are cut by cut_removed().
  void set_log_keys(const KeyringUpdate& log);
  KeyringUpdate log_keys() const;
  uint64_t log_keys_version() const;
  // Cuts the open connections of the keys that left the keyring since the
  // last call; returns how many. Left to the caller, so a master answers an
  // admin who revoked their own key before cutting them off.
  size_t cut_removed();
  // How many times a key left the keyring: a server that must close
  // connections it cannot cut one by one (a PUB's subscribers) rebinds when
  // this moves.
  uint64_t removals() const { return removals_.load(); }

  // The key the master whose api is at `endpoint` presents ("" when insecure).
  Result<std::string> master_key(const std::string& endpoint) const;
  Result<std::string> master_key(const HostPort& master) const {
    return master_key(master.host + ":" + std::to_string(master.port));
  }
  // Who sent `env`, as the keyring has the key now; nullopt when the key is
  // not (or no longer) listed, or in insecure mode.
  std::optional<KeyEntry> sender(const Envelope& env) const;
  // The public keys chunk tickets must be signed with (the keyring's ticket
  // lines). None, or insecure mode: workers need no tickets.
  std::vector<std::string> ticket_keys() const;
  // Whether `env` must carry a chunk ticket: secure mode, ticket keys
  // listed, and a sender that is not a worker or master.
  bool needs_ticket(const Envelope& env) const;
  // Whose authority a request has: the user its key names (admins and
  // masters are the superuser), or the superuser in insecure mode, where
  // nobody is told apart.
  Caller caller(const Envelope& env) const;
  // Whether `env` may be taken on `domain` (always, in insecure mode). A
  // message from a key the keyring does not list gets its connection cut.
  Status authorize(const Envelope& env, Domain domain) const;
  // Whether `env` came from a key listed under `name`: a worker or master
  // speaks only for itself (always true in insecure mode).
  Status check_name(const Envelope& env, std::string_view name) const;

 private:
  friend Status init_security(const SecurityFlags& flags, const std::string& who);
  bool secure_ = false;
  KeyPair own_;
  std::string keyring_file_;
  std::string keyring_stamp_;  // size and mtime of the file last read
  // Recomputes the keyring in force from the file's and the log's, and
  // notes the keys it lost for cut_removed().
  void install(std::shared_ptr<const Keyring> file, std::optional<KeyringUpdate> log);
  mutable std::mutex mu_;
  std::shared_ptr<const Keyring> file_keyring_;
  KeyringUpdate log_keys_;
  std::shared_ptr<const Keyring> keyring_;  // in force: the file's and the log's
  std::vector<std::string> ticket_keys_;    // its ticket lines' keys
  std::set<std::string> removed_;           // keys that left, their connections not yet cut
  mutable ConnectionTable connections_;
  std::atomic<uint64_t> removals_{0};
};

// Never initialised means insecure: unit tests that run servers in-process.
Security& process_security();

// Loads the key and keyring (unless insecure). `who` names the process in
// errors ("dfs-worker w1").
Status init_security(const SecurityFlags& flags, const std::string& who);

// Answers ZAP requests for one context (inproc://zeromq.zap.01) on its own
// thread until destroyed, and rereads a changed keyring file once a second.
// Create it before binding any CURVE socket there: without a handler,
// libzmq admits every key.
class ZapHandler {
 public:
  explicit ZapHandler(zmq::context_t& ctx);
  ~ZapHandler();
  ZapHandler(const ZapHandler&) = delete;
  ZapHandler& operator=(const ZapHandler&) = delete;
  uint64_t refused() const { return refused_.load(); }

 private:
  void run();
  zmq::socket_t socket_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> refused_{0};
  std::thread thread_;
};

}  // namespace dfs
