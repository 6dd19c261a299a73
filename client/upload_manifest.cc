#include "client/upload_manifest.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>

#include "bus/files.h"
#include "codec/sha256.h"

namespace dfs {
namespace {

constexpr size_t kMaxManifestBytes = 64 << 10;

template <typename T>
bool parse_number(const std::string& text, T* out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

bool is_upload_id(const std::string& s) {
  if (s.size() != 32) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

LocalFileIdentity identity_of(const std::string& absolute_path, const struct stat& st) {
  LocalFileIdentity id;
  id.path = absolute_path;
  id.size = static_cast<uint64_t>(st.st_size);
  id.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  id.inode = static_cast<uint64_t>(st.st_ino);
  id.device = static_cast<uint64_t>(st.st_dev);
  return id;
}

std::string format_manifest(const UploadManifest& m) {
  std::ostringstream out;
  out << "# dfs put: an upload in progress; removed once it commits\n"
      << "remote = " << m.remote << "\n"
      << "upload-id = " << m.upload_id << "\n"
      << "chunk-size = " << m.chunk_size << "\n"
      << "local-path = " << m.local.path << "\n"
      << "local-size = " << m.local.size << "\n"
      << "local-mtime-ns = " << m.local.mtime_ns << "\n"
      << "local-inode = " << m.local.inode << "\n"
      << "local-device = " << m.local.device << "\n"
      << "option-chunk-size = " << m.options.chunk_size << "\n"
      << "option-replication = " << m.options.replication << "\n"
      << "option-min-replication = " << m.options.min_replication << "\n"
      << "option-overwrite = " << (m.options.overwrite ? 1 : 0) << "\n";
  return out.str();
}

Result<UploadManifest> parse_manifest(const std::string& text) {
  if (text.size() > kMaxManifestBytes) return invalid_argument("manifest too big");
  std::map<std::string, std::string> fields;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto eq = line.find(" = ");
    if (eq == std::string::npos) return invalid_argument("manifest line without ' = '");
    fields[line.substr(0, eq)] = line.substr(eq + 3);
  }
  auto field = [&](const char* name) -> const std::string* {
    auto it = fields.find(name);
    return it == fields.end() ? nullptr : &it->second;
  };
  UploadManifest m;
  const std::string* remote = field("remote");
  const std::string* id = field("upload-id");
  const std::string* path = field("local-path");
  if (remote == nullptr || remote->empty() || remote->front() != '/') {
    return invalid_argument("manifest: no remote path");
  }
  if (id == nullptr || !is_upload_id(*id)) return invalid_argument("manifest: bad upload-id");
  if (path == nullptr || path->empty() || path->front() != '/') {
    return invalid_argument("manifest: no local-path");
  }
  m.remote = *remote;
  m.upload_id = *id;
  m.local.path = *path;
  auto num = [&](const char* name, auto* out) {
    const std::string* v = field(name);
    return v != nullptr && parse_number(*v, out);
  };
  unsigned overwrite = 0;
  if (!num("chunk-size", &m.chunk_size) || m.chunk_size == 0 || !num("local-size", &m.local.size) ||
      !num("local-mtime-ns", &m.local.mtime_ns) || !num("local-inode", &m.local.inode) ||
      !num("local-device", &m.local.device) || !num("option-chunk-size", &m.options.chunk_size) ||
      !num("option-replication", &m.options.replication) ||
      !num("option-min-replication", &m.options.min_replication) ||
      !num("option-overwrite", &overwrite) || overwrite > 1) {
    return invalid_argument("manifest: a missing or malformed number");
  }
  m.options.overwrite = overwrite == 1;
  return m;
}

std::string default_manifest_dir() {
  const char* state = std::getenv("XDG_STATE_HOME");
  if (state != nullptr && state[0] == '/') return std::string(state) + "/dfs/uploads";
  const char* home = std::getenv("HOME");
  if (home != nullptr && home[0] == '/') return std::string(home) + "/.local/state/dfs/uploads";
  return "";
}

std::string manifest_path(const std::string& dir, const std::string& cluster,
                          const std::string& remote) {
  // Hashed: a remote path may be longer than a file name, and hold any byte.
  return dir + "/" + Sha256::hex_of(cluster + "\n" + remote).substr(0, 32) + ".upload";
}

Result<std::optional<UploadManifest>> load_manifest(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<UploadManifest>();
    return io_error(errno_text("cannot read " + path, errno));
  }
  std::string text(kMaxManifestBytes + 1, '\0');
  ssize_t n = ::read(fd, text.data(), text.size());
  int err = errno;
  ::close(fd);
  if (n < 0) return io_error(errno_text("cannot read " + path, err));
  text.resize(static_cast<size_t>(n));
  auto m = parse_manifest(text);
  if (!m.is_ok()) return Status(m.status().code(), path + ": " + m.status().message());
  return std::optional<UploadManifest>(std::move(m).value());
}

Status save_manifest(const std::string& path, const UploadManifest& m) {
  if (m.local.path.find('\n') != std::string::npos || m.remote.find('\n') != std::string::npos) {
    return invalid_argument("a path with a newline cannot be kept in a manifest");
  }
  std::error_code ec;
  auto dir = std::filesystem::path(path).parent_path();
  std::filesystem::create_directories(dir, ec);
  if (ec) return io_error("cannot create " + dir.string() + ": " + ec.message());
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, ec);
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return io_error(errno_text("cannot write " + tmp, errno));
  std::string text = format_manifest(m);
  Status s = write_all(fd, text.data(), text.size(), 0);
  ::close(fd);
  if (s.is_ok() && std::rename(tmp.c_str(), path.c_str()) != 0) {
    s = io_error(errno_text("cannot rename " + tmp, errno));
  }
  if (!s.is_ok()) ::unlink(tmp.c_str());
  return s;
}

void remove_manifest(const std::string& path) { ::unlink(path.c_str()); }

}  // namespace dfs
