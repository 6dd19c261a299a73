// admin: operating the cluster itself. `admin status` shows the whole
// cluster at once. `admin decommission` drains a worker (every chunk it
// holds copied elsewhere, then dropped from it) and, with --wait, says when
// it is safe to stop; `admin recommission` puts it back in service.
// `admin members` lists the masters of the Raft group and changes it: add a
// master (a learner, promoted to voter once it has caught up), remove one
// (the leader included: it hands over first), or hand the leadership to
// another. `admin keys` (cmd_keys.cc) lists and changes the keyring.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <thread>

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

// ", draining (N chunks to move)" or ", drained: safe to stop", or "".
std::string drain_note(const WorkerInfo& w) {
  if (!w.draining) return "";
  if (w.safe_to_stop()) return ", drained: safe to stop";
  if (w.recorded_chunks < 0) return ", draining";
  return ", draining (" + std::to_string(w.recorded_chunks) + " chunks to move)";
}

// Starts or undoes a worker's drain; with `wait_s` > 0 waits, printing
// progress, until no chunk needs the worker.
int drain(Context& ctx, const std::string& worker, bool draining, int wait_s) {
  const std::string what = draining ? "admin decommission" : "admin recommission";
  Status s = ctx.client->drain_worker(worker, draining);
  if (!s.is_ok()) return fail(what + " " + worker, s);
  if (!draining) {
    std::printf("worker %s is back in service: it takes new chunks again\n", worker.c_str());
    return 0;
  }
  if (wait_s <= 0) {
    std::printf(
        "worker %s is draining: its chunks are being copied elsewhere (`dfs admin status` shows "
        "what is left; --wait N waits up to N seconds for it to be safe to stop)\n",
        worker.c_str());
    return 0;
  }
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::seconds(wait_s);
  int64_t last = -1;  // chunks still to move as last reported (-1: not yet known)
  std::string why;    // why the last look told nothing
  for (;;) {
    auto st = ctx.client->cluster_status();
    why = st.is_ok() ? "the leader does not list " + worker + " (no heartbeat heard yet)"
                     : st.status().message();
    for (const auto& w : st.is_ok() ? st->workers : std::vector<WorkerInfo>{}) {
      if (w.id != worker) continue;
      if (w.safe_to_stop()) {
        std::printf("worker %s is drained: no chunk needs it; it is safe to stop\n",
                    worker.c_str());
        return 0;
      }
      if (!w.draining) {
        std::fprintf(stderr, "dfs: %s %s: it was recommissioned while draining\n", what.c_str(),
                     worker.c_str());
        return 1;
      }
      why = w.recorded_chunks < 0 ? "the leader is still reading its records" : "";
      if (w.recorded_chunks >= 0 && w.recorded_chunks != last) {
        std::printf("worker %s: %lld chunks still to move\n", worker.c_str(),
                    static_cast<long long>(w.recorded_chunks));
        std::fflush(stdout);
        last = w.recorded_chunks;
      }
    }
    if (Clock::now() >= deadline) {
      std::string left = last < 0 ? "nothing known of its chunks: " + why
                                  : std::to_string(last) +
                                        " chunks still to move; too few other workers with room?";
      std::fprintf(stderr,
                   "dfs: %s %s: still draining after %d s (%s); it goes on in the background\n",
                   what.c_str(), worker.c_str(), wait_s, left.c_str());
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
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
      j.key("chunks").value(w.chunk_count).key("draining").value(w.draining);
      j.key("recorded_chunks").value(w.recorded_chunks);
      j.key("safe_to_stop").value(w.safe_to_stop()).end_object();
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
    std::printf("  %-10s %-8s %10s used of %-10s %8llu chunks%s\n", w.id.c_str(), w.state.c_str(),
                human_size(w.used).c_str(), human_size(w.capacity).c_str(),
                static_cast<unsigned long long>(w.chunk_count), drain_note(w).c_str());
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
      "       dfs admin members transfer ID\n"
      "       dfs admin decommission WORKER [--wait SECONDS]\n"
      "       dfs admin recommission WORKER\n"
      "       dfs admin keys [list] [--json]\n"
      "       dfs admin keys add ROLE NAME KEY [--groups G1,G2] [--endpoint HOST:PORT]\n"
      "       dfs admin keys revoke KEY\n"
      "       dfs admin uploads [list] [--json]\n"
      "       dfs admin uploads show ID [--json]\n"
      "       dfs admin uploads abort ID";
  po::options_description desc("admin options");
  desc.add_options()("json", "print JSON")("id", po::value<uint64_t>()->default_value(0),
                                           "the new master's id (default: the next free one)")(
      "wait", po::value<int>(),
      "decommission: wait up to this many seconds until the worker is safe to stop (default "
      "0); keys: until every live worker has the change (default 10)")(
      "groups", po::value<std::string>()->default_value(""),
      "keys add: the user's groups, comma-separated")(
      "endpoint", po::value<std::string>()->default_value(""),
      "keys add: a master's api HOST:PORT")("area", po::value<std::string>(), "")(
      "op", po::value<std::string>(), "")("arg", po::value<std::vector<std::string>>(), "");
  po::positional_options_description pos;
  pos.add("area", 1).add("op", 1).add("arg", -1);
  po::variables_map vm;
  int code = 0;
  if (!parse_args(ctx, desc, pos, &vm, usage, &code)) return code;
  if (vm.count("area") && vm["area"].as<std::string>() == "status") {
    return status(ctx, vm.count("json") > 0);
  }
  const std::string area = vm.count("area") ? vm["area"].as<std::string>() : "";
  std::vector<std::string> rest =
      vm.count("arg") ? vm["arg"].as<std::vector<std::string>>() : std::vector<std::string>{};
  if (area == "keys") {
    KeysFlags flags;
    flags.json = vm.count("json") > 0;
    flags.groups = vm["groups"].as<std::string>();
    flags.endpoint = vm["endpoint"].as<std::string>();
    if (vm.count("wait")) flags.wait_s = vm["wait"].as<int>();
    if (vm.count("op")) rest.insert(rest.begin(), vm["op"].as<std::string>());
    return admin_keys(ctx, rest, flags);
  }
  if (area == "uploads") {
    if (vm.count("op")) rest.insert(rest.begin(), vm["op"].as<std::string>());
    return admin_uploads(ctx, rest, vm.count("json") > 0);
  }
  if (area == "decommission" || area == "recommission") {
    if (!vm.count("op") || !rest.empty()) {
      std::fprintf(stderr, "usage: dfs %s\n", usage.c_str());
      return 2;
    }
    return drain(ctx, vm["op"].as<std::string>(), area == "decommission",
                 vm.count("wait") ? vm["wait"].as<int>() : 0);
  }
  if (area != "members") {
    std::fprintf(stderr, "usage: dfs %s\n", usage.c_str());
    return 2;
  }
  std::string op = vm.count("op") ? vm["op"].as<std::string>() : "list";
  if (op == "list") return list_members(ctx, vm.count("json") > 0);
  if (rest.size() != 1 || (op != "add" && op != "remove" && op != "transfer")) {
    std::fprintf(stderr, "usage: dfs %s\n", usage.c_str());
    return 2;
  }
  std::string arg = rest[0];
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
