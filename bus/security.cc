#include "bus/security.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <zmq.h>

#include <array>
#include <cstdlib>
#include <set>
#include <vector>

#include "bus/bulk_sessions.h"
#include "bus/warn_limiter.h"

namespace dfs {

namespace po = boost::program_options;

void add_security_options(po::options_description& desc) {
  desc.add_options()                                                                          //
      ("key", po::value<std::string>()->default_value(""), "this process's secret key file")  //
      ("keyring", po::value<std::string>()->default_value(""),
       "the cluster's keyring: the keys allowed in, with their roles")  //
      ("insecure", po::bool_switch(),
       "no CURVE: plain TCP, anyone may connect (a local demo only; every process must agree)");
}

SecurityFlags security_flags(const po::variables_map& vm) {
  SecurityFlags f;
  f.insecure = vm.count("insecure") && vm["insecure"].as<bool>();
  if (vm.count("key")) f.key_file = vm["key"].as<std::string>();
  if (vm.count("keyring")) f.keyring_file = vm["keyring"].as<std::string>();
  return f;
}

namespace {
std::string file_stamp(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "";
  return std::to_string(st.st_size) + "/" + std::to_string(st.st_mtim.tv_sec) + "." +
         std::to_string(st.st_mtim.tv_nsec);
}
}  // namespace

bool Security::reload_keyring_if_changed() {
  if (!secure_) return false;
  std::string stamp = file_stamp(keyring_file_);
  {
    std::lock_guard lock(mu_);
    if (stamp.empty() || stamp == keyring_stamp_) return false;
    keyring_stamp_ = stamp;
  }
  auto ring = Keyring::load(keyring_file_);
  // A file caught mid-write (empty, or cut at a line) is looked at again
  // when it next changes; one that no longer lists this process would shut
  // out its own peers, and is refused.
  if (ring.is_ok() && file_stamp(keyring_file_) != stamp) {
    std::lock_guard lock(mu_);
    keyring_stamp_.clear();  // changed while read: read again next time
    return false;
  }
  if (ring.is_ok() && !ring->find(own_.public_key)) {
    ring = invalid_argument(keyring_file_ + " no longer lists this process's own key");
  }
  if (!ring.is_ok()) {
    spdlog::error("keeping the keyring as it was: {}", ring.status().message());
    return false;
  }
  spdlog::info("reread the keyring {}: {} keys", keyring_file_, ring->entries().size());
  install(std::make_shared<const Keyring>(std::move(ring).value()), std::nullopt);
  return true;
}

void Security::set_log_keys(const KeyringUpdate& log) {
  if (!secure_) return;
  {
    std::lock_guard lock(mu_);
    if (log.version <= log_keys_.version) return;
  }
  install(nullptr, log);
}

KeyringUpdate Security::log_keys() const {
  std::lock_guard lock(mu_);
  return log_keys_;
}

uint64_t Security::log_keys_version() const {
  std::lock_guard lock(mu_);
  return log_keys_.version;
}

size_t Security::cut_removed() {
  std::set<std::string> keys;
  {
    std::lock_guard lock(mu_);
    keys.swap(removed_);
  }
  if (keys.empty()) return 0;
  size_t cut = connections_.cut(keys);
  spdlog::info("{} key{} left the keyring; {} open connection{} cut", keys.size(),
               keys.size() == 1 ? "" : "s", cut, cut == 1 ? "" : "s");
  return cut;
}

void Security::install(std::shared_ptr<const Keyring> file, std::optional<KeyringUpdate> log) {
  bool lost = false;
  std::vector<std::string> skipped;
  {
    std::lock_guard lock(mu_);
    if (file) file_keyring_ = std::move(file);
    if (log) {
      if (log->version < log_keys_.version) return;  // overtaken while we waited
      log_keys_ = std::move(*log);
    }
    auto ring = std::make_shared<const Keyring>(
        effective_keyring(file_keyring_ ? *file_keyring_ : Keyring{}, log_keys_, &skipped));
    if (keyring_) {
      for (const auto& e : keyring_->entries()) {
        if (!ring->find(e.key)) lost = removed_.insert(e.key).second || lost;
      }
    }
    ticket_keys_.clear();
    for (const auto& e : ring->entries()) {
      if (e.role == Role::kTicket) ticket_keys_.push_back(e.key);
    }
    keyring_ = std::move(ring);
  }
  for (const auto& why : skipped) spdlog::warn("keyring change not applied: {}", why);
  if (lost) removals_.fetch_add(1);
}

SecurityFlags security_flags_from_env() {
  auto env = [](const char* name) {
    const char* v = std::getenv(name);
    return std::string(v ? v : "");
  };
  return SecurityFlags{!env("DFS_INSECURE").empty(), env("DFS_KEY"), env("DFS_KEYRING")};
}

Security& process_security() {
  static Security* s = new Security();
  return *s;
}

Status init_security(const SecurityFlags& flags, const std::string& who) {
  Security& s = process_security();
  if (flags.insecure) {
    s.secure_ = false;
    return Status::ok();
  }
  if (flags.key_file.empty() || flags.keyring_file.empty()) {
    return invalid_argument(who + " needs --key and --keyring (or --insecure for a demo)");
  }
  auto pair = load_key_file(flags.key_file, /*need_secret=*/true);
  if (!pair.is_ok()) return pair.status();
  auto ring = Keyring::load(flags.keyring_file);
  if (!ring.is_ok()) return ring.status();
  s.secure_ = true;
  s.own_ = pair.value();
  s.keyring_file_ = flags.keyring_file;
  s.keyring_stamp_ = file_stamp(flags.keyring_file);
  s.install(std::make_shared<const Keyring>(std::move(ring).value()), std::nullopt);
  return Status::ok();
}

std::shared_ptr<const Keyring> Security::keyring() const {
  std::lock_guard lock(mu_);
  return keyring_;
}

std::shared_ptr<const Keyring> Security::file_keyring() const {
  std::lock_guard lock(mu_);
  return file_keyring_;
}

Status Security::check_self(Role role, const std::string& name) const {
  if (!secure_) return Status::ok();
  auto ring = keyring();
  const KeyEntry* e = ring ? ring->find(own_.public_key) : nullptr;
  std::string want = std::string(role_name(role)) + " " + name;
  if (!e) {
    return invalid_argument("this process's key is not in the keyring " + keyring_file_ +
                            " (add a line: " + want + " " + own_.public_key + ")");
  }
  if (e->role != role || e->name != name) {
    return invalid_argument("this process's key is listed as " + std::string(role_name(e->role)) +
                            " " + e->name + " in " + keyring_file_ + ", not as " + want);
  }
  return Status::ok();
}

Result<std::string> Security::master_key(const std::string& endpoint) const {
  if (!secure_) return std::string();
  auto ring = keyring();
  const KeyEntry* e = ring ? ring->master_at(endpoint) : nullptr;
  if (!e) {
    return invalid_argument("no key known for the master at " + endpoint + " (keyring " +
                            keyring_file_ + " has no 'master NAME KEY endpoint=" + endpoint +
                            "' line)");
  }
  return e->key;
}

std::optional<KeyEntry> Security::sender(const Envelope& env) const {
  if (!secure_ || env.peer_key.empty()) return std::nullopt;
  auto ring = keyring();
  const KeyEntry* e = ring ? ring->find(env.peer_key) : nullptr;
  if (!e) return std::nullopt;
  return *e;
}

std::vector<std::string> Security::ticket_keys() const {
  std::lock_guard lock(mu_);
  return ticket_keys_;
}

bool Security::needs_ticket(const Envelope& env) const {
  if (!secure_) return false;
  // Once per data frame: no copies, no walk over the keyring.
  std::lock_guard lock(mu_);
  if (ticket_keys_.empty()) return false;
  const KeyEntry* who = keyring_ ? keyring_->find(env.peer_key) : nullptr;
  return !(who && (who->role == Role::kWorker || who->role == Role::kMaster));
}

Caller Security::caller(const Envelope& env) const {
  if (!secure_) return Caller{};
  auto who = sender(env);
  if (!who) return user_caller("nobody", {});  // authorize() refuses it anyway
  if (who->role == Role::kAdmin || who->role == Role::kMaster) {
    Caller super;
    super.user = who->name;
    super.groups = who->groups;
    return super;
  }
  return user_caller(who->name, who->groups);
}

Status Security::authorize(const Envelope& env, Domain domain) const {
  if (!secure_) return Status::ok();
  // Recorded before the key is looked up: a revocation taken in between
  // then finds the connection to cut.
  connections_.record(env.source_fd, env.peer_key);
  auto who = sender(env);
  if (!who) {
    // Admitted once, revoked since: its connection goes too.
    connections_.cut_one(env.source_fd, env.peer_key);
    return Status(Code::kPermissionDenied,
                  "key " + env.peer_key.substr(0, 8) + "... is not in the keyring (revoked?)");
  }
  return may_send(*who, domain, env.header.type);
}

Status Security::check_name(const Envelope& env, std::string_view name) const {
  if (!secure_) return Status::ok();
  auto who = sender(env);
  if (who && who->name == name) return Status::ok();
  return Status(Code::kPermissionDenied,
                (who ? std::string(role_name(who->role)) + " " + who->name : "an unknown key") +
                    " may not speak for " + std::string(name));
}

ZapHandler::ZapHandler(zmq::context_t& ctx) : socket_(ctx, zmq::socket_type::rep) {
  socket_.set(zmq::sockopt::linger, 0);
  socket_.bind("inproc://zeromq.zap.01");
  thread_ = std::thread([this] { run(); });
}

ZapHandler::~ZapHandler() {
  stop_.store(true);
  thread_.join();
}

void ZapHandler::run() {
  WarnLimiter limiter;
  zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
  auto next_reload = std::chrono::steady_clock::now();
  while (!stop_.load()) {
    if (std::chrono::steady_clock::now() >= next_reload) {
      if (process_security().reload_keyring_if_changed()) process_security().cut_removed();
      next_reload = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    }
    try {
      if (zmq::poll(&item, 1, std::chrono::milliseconds(200)) == 0) continue;
    } catch (const zmq::error_t& e) {
      if (e.num() == ETERM) return;
      continue;
    }
    std::vector<zmq::message_t> req;
    try {
      if (!zmq::recv_multipart(socket_, std::back_inserter(req), zmq::recv_flags::dontwait)) {
        continue;
      }
    } catch (const zmq::error_t& e) {
      // Without its handler no handshake completes: say so and stop.
      spdlog::critical("the ZAP handler cannot receive: {}", e.what());
      std::abort();
    }
    // version, request id, domain, address, routing id, mechanism, credentials...
    std::string request_id = req.size() > 1 ? req[1].to_string() : "";
    std::string domain = req.size() > 2 ? req[2].to_string() : "";
    std::string address = req.size() > 3 ? req[3].to_string() : "";
    std::string mechanism = req.size() > 5 ? req[5].to_string() : "";
    std::string key;
    std::string refusal;
    if (req.size() < 6 || req[0].to_string() != "1.0") {
      refusal = "a malformed ZAP request";
    } else if (domain == kBulkZapDomain) {
      // A bulk socket: only a connection that shows it holds a session.
      if (mechanism != "PLAIN" || req.size() < 8) {
        refusal = "mechanism " + mechanism + " (the bulk socket takes PLAIN)";
      } else if (!process_bulk_gate().admits(req[6].to_string(), req[7].to_string())) {
        refusal = "no bulk session held";
      }
    } else if (mechanism != "CURVE" || req.size() < 7 || req[6].size() != 32) {
      refusal = "mechanism " + mechanism + " (only CURVE is accepted)";
    } else {
      std::array<char, 41> z85{};
      zmq_z85_encode(z85.data(), static_cast<const uint8_t*>(req[6].data()), 32);
      key = z85.data();
      auto ring = process_security().keyring();
      const KeyEntry* e = ring ? ring->find(key) : nullptr;
      if (!e && process_security().reload_keyring_if_changed()) {
        // A key listed since this process last looked (once a second): the
        // masters may let it in already, so a worker must not refuse it.
        process_security().cut_removed();
        ring = process_security().keyring();
        e = ring ? ring->find(key) : nullptr;
      }
      auto d = parse_domain(domain);
      if (!e) {
        refusal = "key " + key + " is not in the keyring";
      } else if (!d || !may_connect(e->role, *d)) {
        refusal = std::string(role_name(e->role)) + " " + e->name + " may not connect to " + domain;
      }
    }
    bool ok = refusal.empty();
    if (!ok) {
      refused_.fetch_add(1);
      // By address: fresh keys on every attempt do not earn a line each.
      uint64_t n = limiter.admit(address, WarnLimiter::Clock::now());
      if (n > 0) {
        spdlog::warn(
            "refused a connection from {} to {}: {} ({} refusal{} from there in the last "
            "minute)",
            address, domain, refusal, n, n == 1 ? "" : "s");
      }
    }
    std::array<zmq::const_buffer, 6> reply = {
        zmq::str_buffer("1.0"),
        zmq::buffer(request_id),
        ok ? zmq::str_buffer("200") : zmq::str_buffer("400"),
        zmq::buffer(ok ? std::string_view("OK") : std::string_view("not allowed")),
        zmq::buffer(key),
        zmq::const_buffer(nullptr, 0)};
    try {
      zmq::send_multipart(socket_, reply);
    } catch (const zmq::error_t& e) {
      spdlog::critical("the ZAP handler cannot answer: {}", e.what());
      std::abort();
    }
  }
}

}  // namespace dfs
