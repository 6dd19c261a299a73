// dfs keygen [--ticket] NAME: a CURVE key pair for a process or a user of a
// cluster, or the masters' key pair for signing chunk tickets.
#include <cstdio>

#include "bus/chunk_ticket.h"
#include "bus/curve_keys.h"
#include "client/cli/cli.h"

namespace dfs::cli {

int cmd_keygen(Context& ctx) {
  po::options_description desc("keygen options");
  desc.add_options()("name", po::value<std::string>(), "")(
      "ticket", "a key for the masters to sign chunk tickets with (Ed25519), not a CURVE key");
  po::positional_options_description pos;
  pos.add("name", 1);
  po::variables_map vm;
  int code = 0;
  if (!parse_args(ctx, desc, pos, &vm,
                  "keygen [--ticket] NAME\n"
                  "Writes NAME.key (the secret key, mode 0600) and NAME.pub (the public key,\n"
                  "for the cluster's keyring); prints the public key. Refuses to overwrite.\n"
                  "With --ticket: the masters' ticket key (every master gets NAME.key as\n"
                  "--ticket-key; the keyring lists the public key as 'ticket NAME KEY').",
                  &code)) {
    return code;
  }
  if (!vm.count("name")) {
    std::fprintf(stderr, "dfs keygen: name the key files to write (dfs keygen NAME)\n");
    return 2;
  }
  std::string prefix = vm["name"].as<std::string>();
  const bool ticket = vm.count("ticket") > 0;
  auto pair = ticket ? generate_ticket_key() : generate_key_pair();
  if (!pair.is_ok()) return fail("keygen", pair.status());
  Status s = write_key_files(prefix, pair.value(), ticket ? KeyKind::kTicket : KeyKind::kCurve);
  if (!s.is_ok()) return fail("keygen", s);
  std::printf("%s\n", pair->public_key.c_str());
  return 0;
}

}  // namespace dfs::cli
