#include "client/s3/credentials.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

namespace dfs::s3 {

Result<Credentials> Credentials::load(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return not_found(path + ": no such credentials file");
  if ((st.st_mode & 077) != 0) {
    return invalid_argument(path + " holds secrets: it must not be readable by group or others " +
                            "(chmod 600 it)");
  }
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof()) return io_error("read " + path);
  return parse(text.str(), path, true);
}

Result<Credentials> Credentials::parse(const std::string& text, const std::string& origin,
                                       bool load_keys) {
  Credentials out;
  std::istringstream lines(text);
  std::string line;
  for (int n = 1; std::getline(lines, line); ++n) {
    auto hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    std::istringstream words(line);
    std::string id, secret, key_file, extra;
    if (!(words >> id)) continue;
    const std::string where = origin + ":" + std::to_string(n) + ": ";
    if (!(words >> secret >> key_file) || (words >> extra)) {
      return invalid_argument(where + "want ACCESS-KEY-ID SECRET-ACCESS-KEY DFS-KEY-FILE");
    }
    if (id.size() < 3 || id.size() > 128 || secret.size() < 8 || secret.size() > 128) {
      return invalid_argument(where + "an access key id is 3 to 128 characters, a secret 8 to 128");
    }
    if (out.keys_.count(id)) return invalid_argument(where + "access key " + id + " again");
    AccessKey key{secret, key_file, {}};
    if (load_keys && key_file != "-") {
      auto pair = load_key_file(key_file, /*need_secret=*/true);
      if (!pair.is_ok()) return Status(pair.status().code(), where + pair.status().message());
      key.dfs_key = pair.value();
    }
    out.keys_.emplace(id, std::move(key));
  }
  return out;
}

const AccessKey* Credentials::find(const std::string& access_key) const {
  auto it = keys_.find(access_key);
  return it == keys_.end() ? nullptr : &it->second;
}

}  // namespace dfs::s3
