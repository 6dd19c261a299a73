// admin: operating the cluster itself. `admin members` lists the masters of
// the Raft group and changes it: add a master (a learner, promoted to voter
// once it has caught up), remove one (the leader included: it hands over
// first), or hand the leadership to another.
#include <cstdio>
#include <iostream>

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

}  // namespace

int cmd_admin(Context& ctx) {
  const std::string usage =
      "admin members [list] [--json]\n"
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
