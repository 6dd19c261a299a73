#include "bus/endpoints.h"

#include <charconv>

namespace dfs {

Result<HostPort> parse_endpoint(const std::string& text) {
  std::string s = text;
  if (s.rfind("tcp://", 0) == 0) s = s.substr(6);
  auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return invalid_argument("endpoint '" + text + "' is not host:port");
  }
  HostPort hp;
  hp.host = s.substr(0, colon);
  // A name or IPv4 address, or an IPv6 one in brackets: nothing else, so
  // an endpoint prints back as it was read (the keyring relies on it).
  bool bracketed = hp.host.size() > 2 && hp.host.front() == '[' && hp.host.back() == ']';
  for (size_t i = bracketed ? 1 : 0; i < hp.host.size() - (bracketed ? 1 : 0); ++i) {
    char c = hp.host[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_' || (bracketed && c == ':');
    if (!ok) return invalid_argument("endpoint '" + text + "' has a bad host");
  }
  std::string port = s.substr(colon + 1);
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), hp.port);
  if (ec != std::errc() || p != port.data() + port.size() || hp.port <= 0 || hp.port > 65535 - 3) {
    return invalid_argument("endpoint '" + text + "' has a bad port");
  }
  return hp;
}

Result<std::vector<HostPort>> parse_endpoint_list(const std::string& text) {
  std::vector<HostPort> out;
  size_t i = 0;
  while (i <= text.size()) {
    size_t j = text.find(',', i);
    if (j == std::string::npos) j = text.size();
    std::string item = text.substr(i, j - i);
    if (!item.empty()) {
      auto hp = parse_endpoint(item);
      if (!hp.is_ok()) return hp.status();
      out.push_back(hp.value());
    }
    i = j + 1;
  }
  if (out.empty()) return invalid_argument("no endpoints in '" + text + "'");
  return out;
}

std::string bind_address(const HostPort& hp) {
  std::string host = hp.host == "localhost" ? "127.0.0.1" : hp.host;
  return "tcp://" + host + ":" + std::to_string(hp.port);
}

}  // namespace dfs
