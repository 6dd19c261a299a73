#include "client/locality.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <unistd.h>

#include <set>

#include "bus/endpoints.h"

namespace dfs {
namespace {

std::set<std::string> local_names() {
  std::set<std::string> names{"localhost", "::1"};
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) == 0) names.insert(host);
  ifaddrs* ifs = nullptr;
  if (::getifaddrs(&ifs) != 0) return names;
  for (ifaddrs* i = ifs; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    char buf[INET6_ADDRSTRLEN] = {};
    if (i->ifa_addr->sa_family == AF_INET) {
      auto* a = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
      if (::inet_ntop(AF_INET, &a->sin_addr, buf, sizeof(buf))) names.insert(buf);
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(i->ifa_addr);
      if (::inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof(buf))) names.insert(buf);
    }
  }
  ::freeifaddrs(ifs);
  return names;
}

}  // namespace

bool is_local_endpoint(const std::string& endpoint) {
  static const std::set<std::string> names = local_names();
  auto hp = parse_endpoint(endpoint);
  if (!hp.is_ok()) return false;
  const std::string& host = hp->host;
  return host.rfind("127.", 0) == 0 || names.count(host) > 0;
}

}  // namespace dfs
