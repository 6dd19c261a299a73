// admin: operating the cluster itself. `admin status` shows the whole
// cluster at once. `admin members` lists the masters of
// the Raft group and changes it: add a master (a learner, promoted to voter
// once it has caught up), remove one (the leader included: it hands over
// first), or hand the leadership to another.
#include <cstdio>
#include <iostream>

#include <map>

#include "bus/units.h"
#include "client/capacity.h"
#include "client/cli/cli.h"
#include "client/cli/json.h"

namespace dfs::cli {
namespace {

int list_members(Context& ctx, bool json) {
  auto rep = ctx.client->members();
  if (!rep.is_ok()) return fail("admin members", rep.status());
  if (json) {
    JsonWriter j;
    j.begin_object().key("answered_by").value(rep->self).key("term").value(rep->term);
    j.key("commit_index").value(rep->commit_index).key("applied_index").value(rep->applied_index);
    j.key("members").begin_array();
    for (const auto& m : rep->members) {
      j.begin_object().key("id").value(m.id).key("api").value(m.api).key("role").value(m.role);
      j.key("match").value(m.match).key("last_contact_ms").value(m.last_contact_ms).end_object();
    }
    j.end_array().end_object();
    std::cout << j.str() << "\n";
    return 0;
  }
  std::printf("%-4s %-26s %-8s %10s %14s\n", "ID", "API", "ROLE", "MATCH", "LAST CONTACT");
  for (const auto& m : rep->members) {
    std::string contact = m.id == rep->self       ? "(this master)"
                          : m.last_contact_ms < 0 ? "never"
                                                  : std::to_string(m.last_contact_ms) + " ms ago";
    std::printf("%-4llu %-26s %-8s %10llu %14s\n", static_cast<unsigned long long>(m.id),
                m.api.c_str(), m.role.c_str(), static_cast<unsigned long long>(m.match),
                contact.c_str());
  }
  std::printf("term %llu, commit index %llu, applied %llu (answered by master %llu)\n",
              static_cast<unsigned long long>(rep->term),
              static_cast<unsigned long long>(rep->commit_index),
              static_cast<unsigned long long>(rep->applied_index),
              static_cast<unsigned long long>(rep->self));
  return 0;
}

// The whole cluster on one screen: the masters, the workers, space, and
// repair as the leader sees it.
int status(Context& ctx, bool json) {
  auto members = ctx.client->members();
  if (!members.is_ok()) return fail("admin status", members.status());
  auto st = ctx.client->cluster_status();
  if (!st.is_ok()) return fail("admin status", st.status());
  SpaceTotals space = live_space(st->workers);
  const RepairStatus& r = st->repair;
  std::map<std::string, size_t> states;
  for (const auto& w : st->workers) ++states[w.state];
  if (json) {
    JsonWriter j;
    j.begin_object().key("term").value(members->term);
    j.key("commit_index").value(members->commit_index);
    j.key("masters").begin_array();
    for (const auto& m : members->members) {
      j.begin_object().key("id").value(m.id).key("api").value(m.api).key("role").value(m.role);
      j.key("match").value(m.match).end_object();
    }
    j.end_array().key("workers").begin_array();
    for (const auto& w : st->workers) {
      j.begin_object().key("id").value(w.id).key("state").value(w.state);
      j.key("capacity").value(w.capacity).key("used").value(w.used);
      j.key("chunks").value(w.chunk_count).end_object();
    }
    j.end_array();
    j.key("capacity").value(space.capacity).key("used").value(space.used);
    j.key("free").value(space.free).key("files").value(st->files);
    j.key("repair").begin_object().key("under_replicated").value(r.queued + r.running);
    j.key("lost").value(r.lost).key("queued").value(r.queued).key("running").value(r.running);
    j.key("copied").value(r.copied).key("copied_bytes").value(r.copied_bytes);
    j.key("bytes_per_second").value(r.bytes_per_second).key("failed").value(r.failed);
    j.end_object().end_object();
    std::cout << j.str() << "\n";
    return 0;
  }
  std::printf("masters (term %llu, commit index %llu):\n",
              static_cast<unsigned long long>(members->term),
              static_cast<unsigned long long>(members->commit_index));
  for (const auto& m : members->members) {
    std::printf("  %-4llu %-26s %-8s match %llu\n", static_cast<unsigned long long>(m.id),
                m.api.c_str(), m.role.c_str(), static_cast<unsigned long long>(m.match));
  }
  std::string counts;
  for (const auto& [state, n] : states) {
    counts += (counts.empty() ? "" : ", ") + std::to_string(n) + " " + state;
  }
  std::printf("workers: %s\n", counts.empty() ? "none" : counts.c_str());
  for (const auto& w : st->workers) {
    std::printf("  %-10s %-8s %10s used of %-10s %8llu chunks\n", w.id.c_str(), w.state.c_str(),
                human_size(w.used).c_str(), human_size(w.capacity).c_str(),
                static_cast<unsigned long long>(w.chunk_count));
  }
  std::printf("space: %s used, %s free of %s (%zu filesystems); %llu files\n",
              human_size(space.used).c_str(), human_size(space.free).c_str(),
              human_size(space.capacity).c_str(), space.filesystems,
              static_cast<unsigned long long>(st->files));
  std::printf(
      "repair: %llu chunks under-replicated (%llu waiting, %llu copying), %llu lost; "
      "%llu copies done (%s), %s/s now, %llu failed\n",
      static_cast<unsigned long long>(r.queued + r.running),
      static_cast<unsigned long long>(r.queued), static_cast<unsigned long long>(r.running),
      static_cast<unsigned long long>(r.lost), static_cast<unsigned long long>(r.copied),
      human_size(r.copied_bytes).c_str(), human_size(r.bytes_per_second).c_str(),
      static_cast<unsigned long long>(r.failed));
  return 0;
}

}  // namespace

int cmd_admin(Context& ctx) {
  const std::string usage =
      "admin status [--json]\n"
      "       dfs admin members [list] [--json]\n"
      "       dfs admin members add HOST:PORT [--id N]\n"
      "       dfs admin members remove ID\n"
      "       dfs admin members transfer ID";
  po::options_description desc("admin options");
  desc.add_options()("json", "print JSON")("id", po::value<uint64_t>()->default_value(0),
                                           "the new master's id (default: the next free one)")(
      "area", po::value<std::string>(), "")("op", po::value<std::string>(), "")(
      "arg", po::value<std::string>(), "");
  po::positional_options_description pos;
  pos.add("area", 1).add("op", 1).add("arg", 1);
  po::variables_map vm;
  int code = 0;
  if (!parse_args(ctx, desc, pos, &vm, usage, &code)) return code;
  if (vm.count("area") && vm["area"].as<std::string>() == "status") {
    return status(ctx, vm.count("json") > 0);
  }
  if (!vm.count("area") || vm["area"].as<std::string>() != "members") {
    std::fprintf(stderr, "usage: dfs %s\n", usage.c_str());
    return 2;
  }
  std::string op = vm.count("op") ? vm["op"].as<std::string>() : "list";
  if (op == "list") return list_members(ctx, vm.count("json") > 0);
  if (!vm.count("arg") || (op != "add" && op != "remove" && op != "transfer")) {
    std::fprintf(stderr, "usage: dfs %s\n", usage.c_str());
    return 2;
  }
  std::string arg = vm["arg"].as<std::string>();
  uint64_t id = vm["id"].as<uint64_t>();
  std::string endpoint;
  if (op == "add") {
    endpoint = arg;
  } else {
    try {
      id = std::stoull(arg);
    } catch (const std::exception&) {
      std::fprintf(stderr, "dfs admin members %s: '%s' is not a master id\n", op.c_str(),
                   arg.c_str());
      return 2;
    }
  }
  auto rep = ctx.client->change_member(op, id, endpoint);
  if (!rep.is_ok()) return fail("admin members " + op, rep.status());
  if (op == "add") {
    std::printf(
        "master %llu at %s added: it joins as a learner and becomes a voter once caught "
        "up. Start it with --node-id %llu --join.\n",
        static_cast<unsigned long long>(rep->id), endpoint.c_str(),
        static_cast<unsigned long long>(rep->id));
  } else if (op == "remove") {
    std::printf("master %llu is being removed from the group\n",
                static_cast<unsigned long long>(rep->id));
  } else {
    std::printf("master %llu is taking over the leadership\n",
                static_cast<unsigned long long>(rep->id));
  }
  return 0;
}

}  // namespace dfs::cli
