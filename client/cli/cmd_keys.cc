// dfs admin keys: the cluster's keyring as the leader has it (the keyring
// file plus the changes made through the log), and changes to it that need
// no file edited on any node: add a key, revoke one. A change is in force on
// the masters once the command returns; it then waits (--wait) until every
// live worker has taken it in, so the new key works everywhere and the
// revoked one nowhere.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

#include "bus/curve_keys.h"
#include "bus/keyring.h"
#include "client/cli/cli.h"
#include "client/cli/json.h"

namespace dfs::cli {
namespace {

// KEY is a public key as text, or a key file (NAME.pub or NAME.key).
Result<std::string> public_key_of(const std::string& arg) {
  if (is_z85_key(arg)) return arg;
  auto pair = load_key_file(arg, /*need_secret=*/false);
  if (!pair.is_ok()) {
    return invalid_argument("'" + arg + "' is neither a public key (40 characters of Z85) nor a " +
                            "key file: " + pair.status().message());
  }
  return pair->public_key;
}

int list(Context& ctx, bool json) {
  auto rep = ctx.client->keys();
  if (!rep.is_ok()) return fail("admin keys list", rep.status());
  auto st = ctx.client->cluster_status();
  std::vector<WorkerInfo> workers = st.is_ok() ? st->workers : std::vector<WorkerInfo>{};
  if (json) {
    JsonWriter j;
    j.begin_object().key("version").value(rep->version).key("keys").begin_array();
    for (const auto& k : rep->keys) {
      auto e = parse_key_line(k.line);
      j.begin_object().key("source").value(k.source).key("revoked").value(k.revoked);
      j.key("line").value(k.line);
      if (e.is_ok()) {
        j.key("role").value(role_name(e->role)).key("name").value(e->name);
        j.key("key").value(e->key);
      }
      j.end_object();
    }
    j.end_array().key("workers").begin_array();
    for (const auto& w : workers) {
      j.begin_object().key("id").value(w.id).key("state").value(w.state);
      j.key("version").value(w.keys_version).end_object();
    }
    j.end_array().end_object();
    std::cout << j.str() << "\n";
    return 0;
  }
  std::printf("%-6s %-8s %-12s %-40s %s\n", "SOURCE", "ROLE", "NAME", "KEY", "");
  for (const auto& k : rep->keys) {
    auto e = parse_key_line(k.line);
    if (!e.is_ok()) {
      std::printf("%-6s %s (unreadable: %s)\n", k.source.c_str(), k.line.c_str(),
                  e.status().message().c_str());
      continue;
    }
    std::string extra;
    if (!e->groups.empty()) {
      extra += "groups=";
      for (size_t i = 0; i < e->groups.size(); ++i) extra += (i ? "," : "") + e->groups[i];
    }
    if (!e->endpoint.empty()) extra += (extra.empty() ? "" : " ") + ("endpoint=" + e->endpoint);
    if (k.revoked) extra += (extra.empty() ? "" : " ") + std::string("(revoked)");
    std::printf("%-6s %-8s %-12s %-40s %s\n", k.source.c_str(),
                std::string(role_name(e->role)).c_str(), e->name.c_str(), e->key.c_str(),
                extra.c_str());
  }
  std::printf("log version %llu", static_cast<unsigned long long>(rep->version));
  for (const auto& w : workers) {
    std::printf("%s %s %llu", &w == &workers.front() ? "; workers at" : ",", w.id.c_str(),
                static_cast<unsigned long long>(w.keys_version));
  }
  std::printf("\n");
  return 0;
}

// Waits until every live worker has taken in the leader's keyring version;
// says which have not when `wait_s` runs out.
int wait_for_workers(Context& ctx, const std::string& what, int wait_s) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::seconds(wait_s);
  std::string behind;
  for (;;) {
    auto rep = ctx.client->keys();
    auto st = ctx.client->cluster_status();
    if (rep.is_ok() && st.is_ok()) {
      behind.clear();
      for (const auto& w : st->workers) {
        if (w.state == "live" && w.keys_version < rep->version) {
          behind += (behind.empty() ? "" : ", ") + w.id;
        }
      }
      if (behind.empty()) return 0;
    } else {
      behind = (rep.is_ok() ? st.status() : rep.status()).message();
    }
    if (Clock::now() >= deadline) {
      std::fprintf(stderr,
                   "dfs: admin keys %s: in force on the masters, but not yet on every worker "
                   "after %d s (behind: %s); a worker takes it in once it hears the leader\n",
                   what.c_str(), wait_s, behind.c_str());
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace

int admin_keys(Context& ctx, const std::vector<std::string>& args, const KeysFlags& flags) {
  const std::string op = args.empty() ? "list" : args[0];
  if (op == "list" && args.size() <= 1) return list(ctx, flags.json);
  if (op == "add" && args.size() == 4) {
    auto key = public_key_of(args[3]);
    if (!key.is_ok()) return fail("admin keys add", key.status());
    std::string line = args[1] + " " + args[2] + " " + key.value();
    if (!flags.groups.empty()) line += " groups=" + flags.groups;
    if (!flags.endpoint.empty()) line += " endpoint=" + flags.endpoint;
    auto entry = parse_key_line(line);
    if (!entry.is_ok()) return fail("admin keys add", entry.status());
    Status s = ctx.client->add_key(line);
    if (!s.is_ok()) return fail("admin keys add", s);
    std::printf("added %s %s %s\n", args[1].c_str(), args[2].c_str(), key->c_str());
    return flags.wait_s > 0 ? wait_for_workers(ctx, "add", flags.wait_s) : 0;
  }
  if (op == "revoke" && args.size() == 2) {
    auto key = public_key_of(args[1]);
    if (!key.is_ok()) return fail("admin keys revoke", key.status());
    Status s = ctx.client->revoke_key(key.value());
    if (!s.is_ok()) return fail("admin keys revoke", s);
    std::printf("revoked %s: refused from now on, its open connections cut\n", key->c_str());
    return flags.wait_s > 0 ? wait_for_workers(ctx, "revoke", flags.wait_s) : 0;
  }
  std::fprintf(stderr,
               "usage: dfs admin keys [list] [--json]\n"
               "       dfs admin keys add ROLE NAME KEY [--groups G1,G2] [--endpoint HOST:PORT]\n"
               "       dfs admin keys revoke KEY\n"
               "KEY: a public key, or a key file (NAME.pub) as dfs keygen writes it\n");
  return 2;
}

}  // namespace dfs::cli
