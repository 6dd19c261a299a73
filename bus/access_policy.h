// Who may connect to which socket and send what there: the rules the ZAP
// handler applies at connection time and servers apply per message. Pure:
// no sockets, no state.
#pragma once

#include <optional>
#include <string_view>

#include "bus/keyring.h"
#include "codec/msg_type.h"
#include "codec/status.h"

namespace dfs {

// A bound socket's ZAP domain: which socket of which process a peer reaches.
enum class Domain : uint8_t {
  kMasterApi,       // ROUTER: namespace requests, status, admin commands
  kMasterPeer,      // ROUTER: Raft between masters
  kMasterEvents,    // SUB: heartbeats and reports from workers
  kMasterJobs,      // PUB: jobs to workers, cluster events to monitors
  kWorkerData,      // ROUTER: chunk reads and writes
  kWorkerPipeline,  // PULL: frames and acks between workers
};

std::string_view domain_name(Domain domain);
std::optional<Domain> parse_domain(std::string_view text);

// Whether a key of `role` may complete a handshake with a `domain` socket.
bool may_connect(Role role, Domain domain);

// Whether `sender` may send a message of `type` on `domain` (kPermissionDenied
// naming both if not). Checked per message, so a key revoked after its
// connection was made is refused from its next message on.
Status may_send(const KeyEntry& sender, Domain domain, MsgType type);

}  // namespace dfs
