#include "bus/curve_keys.h"

#include "bus/chunk_ticket.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include <array>
#include <cerrno>
#include <fstream>
#include <sstream>

#include "bus/files.h"

namespace dfs {
namespace {

std::string trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

Status write_new_file(const std::string& path, const std::string& text, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Status(Code::kInvalidArgument, errno_text("cannot create " + path, errno));
  Status s = write_all(fd, text.data(), text.size(), 0);
  if (s.is_ok() && ::fchmod(fd, mode) != 0)
    s = Status(Code::kIoError, errno_text("chmod " + path, errno));
  if (s.is_ok() && ::fsync(fd) != 0) s = Status(Code::kIoError, errno_text("fsync " + path, errno));
  ::close(fd);
  return s;
}

}  // namespace

bool is_z85_key(std::string_view s) {
  if (s.size() != 40) return false;
  std::array<uint8_t, 32> raw{};
  std::string copy(s);
  return zmq_z85_decode(raw.data(), copy.c_str()) != nullptr;
}

Result<KeyPair> generate_key_pair() {
  std::array<char, 41> pub{}, sec{};
  if (zmq_curve_keypair(pub.data(), sec.data()) != 0) {
    return Status(Code::kInternal, std::string("cannot make a CURVE key pair: ") +
                                       zmq_strerror(zmq_errno()) +
                                       " (is libzmq built with libsodium?)");
  }
  return KeyPair{pub.data(), sec.data()};
}

Result<KeyPair> load_key_file(const std::string& path, bool need_secret, KeyKind kind) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return Status(Code::kInvalidArgument, errno_text("cannot read key file " + path, errno));
  struct stat st {};
  int rc = ::fstat(fd, &st);
  ::close(fd);
  if (rc != 0 || !S_ISREG(st.st_mode)) {
    return invalid_argument("key file " + path + " is not a regular file");
  }
  if (st.st_size > 4096) return invalid_argument("key file " + path + " is too big to be one");
  std::ifstream in(path);
  KeyPair pair;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    size_t eq = t.find('=');
    std::string name = trim(t.substr(0, eq == std::string::npos ? t.size() : eq));
    std::string value = eq == std::string::npos ? "" : trim(t.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    std::string where = path + ":" + std::to_string(line_no);
    if (name != "public-key" && name != "secret-key") {
      return invalid_argument(where + ": expected 'public-key = ...' or 'secret-key = ...'");
    }
    if (!is_z85_key(value)) return invalid_argument(where + ": " + name + " is not a Z85 key");
    (name == "public-key" ? pair.public_key : pair.secret_key) = value;
  }
  if (!need_secret) {
    if (pair.public_key.empty()) return invalid_argument("key file " + path + " has no public-key");
    return pair;
  }
  if (pair.secret_key.empty()) {
    return invalid_argument("key file " + path + " has no secret-key (a .pub file?)");
  }
  if ((st.st_mode & 077) != 0) {
    std::ostringstream mode;
    mode << std::oct << (st.st_mode & 0777);
    return invalid_argument("secret key file " + path + " is open to others (mode 0" + mode.str() +
                            "); chmod 600 it");
  }
  std::string derived;
  if (kind == KeyKind::kTicket) {
    auto pub = ticket_public_key(pair.secret_key);
    if (pub.is_ok()) derived = pub.value();
  } else {
    std::array<char, 41> text{};
    if (zmq_curve_public(text.data(), pair.secret_key.c_str()) == 0) derived = text.data();
  }
  if (derived.empty()) {
    return invalid_argument("key file " + path + ": cannot derive the public key");
  }
  if (pair.public_key.empty()) pair.public_key = derived;
  if (pair.public_key != derived) {
    return invalid_argument("key file " + path + ": public-key does not match secret-key");
  }
  return pair;
}

Status write_key_files(const std::string& prefix, const KeyPair& pair, KeyKind kind) {
  const std::string what = kind == KeyKind::kTicket ? "ticket signing" : "CURVE";
  std::string pub = "public-key = " + pair.public_key + "\n";
  Status s = write_new_file(prefix + ".key",
                            "# dfs " + what + " secret key: keep it private (mode 0600)\n" + pub +
                                "secret-key = " + pair.secret_key + "\n",
                            0600);
  if (!s.is_ok()) return s;
  return write_new_file(prefix + ".pub", "# dfs " + what + " public key\n" + pub, 0644);
}

}  // namespace dfs
