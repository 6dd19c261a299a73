// df: the cluster's workers, their capacity and use.
#include <cstdio>
#include <iostream>

#include "bus/units.h"
#include "client/capacity.h"
#include "client/cli/cli.h"
#include "client/cli/json.h"

namespace dfs::cli {

int cmd_df(Context& ctx) {
  po::options_description desc("df options");
  desc.add_options()("json", "print JSON");
  po::positional_options_description pos;
  po::variables_map vm;
  int code = 0;
  if (!parse_args(ctx, desc, pos, &vm, "df [--json]", &code)) return code;
  auto st = ctx.client->cluster_status();
  if (!st.is_ok()) return fail("df", st.status());
  if (vm.count("json")) {
    JsonWriter j;
    j.begin_object().key("master").value(st->master_id).key("role").value(st->role);
    j.key("term").value(st->term).key("commit_index").value(st->commit_index);
    j.key("applied_index").value(st->applied_index).key("leader").value(st->leader);
    j.key("files").value(st->files).key("directories").value(st->directories);
    j.key("garbage_chunks").value(st->garbage_chunks);
    j.key("workers").begin_array();
    for (const auto& w : st->workers) {
      j.begin_object()
          .key("id")
          .value(w.id)
          .key("endpoint")
          .value(w.endpoint)
          .key("state")
          .value(w.state);
      j.key("capacity").value(w.capacity).key("used").value(w.used);
      j.key("free").value(w.capacity > w.used ? w.capacity - w.used : 0);
      j.key("chunks").value(w.chunk_count).key("silent_ms").value(w.silent_ms).end_object();
    }
    j.end_array();
    SpaceTotals t = live_space(st->workers);
    j.key("live_total").begin_object().key("capacity").value(t.capacity).key("used").value(t.used);
    j.key("free").value(t.free).key("workers").value(static_cast<uint64_t>(t.workers));
    j.key("filesystems").value(static_cast<uint64_t>(t.filesystems)).end_object();
    const RepairStatus& r = st->repair;
    j.key("repair").begin_object();
    j.key("queued").value(r.queued).key("running").value(r.running).key("lost").value(r.lost);
    j.key("copied").value(r.copied).key("copied_bytes").value(r.copied_bytes);
    j.key("failed").value(r.failed).key("dropped").value(r.dropped).end_object();
    j.end_object();
    std::cout << j.str() << "\n";
    return 0;
  }
  std::printf("%-10s %-24s %-8s %10s %10s %10s %5s %8s\n", "WORKER", "ENDPOINT", "STATE",
              "CAPACITY", "USED", "FREE", "USE%", "CHUNKS");
  for (const auto& w : st->workers) {
    uint64_t free = w.capacity > w.used ? w.capacity - w.used : 0;
    int pct = w.capacity ? static_cast<int>(100.0 * static_cast<double>(w.used) /
                                            static_cast<double>(w.capacity))
                         : 0;
    std::printf("%-10s %-24s %-8s %10s %10s %10s %4d%% %8llu\n", w.id.c_str(), w.endpoint.c_str(),
                w.state.c_str(), human_size(w.capacity).c_str(), human_size(w.used).c_str(),
                human_size(free).c_str(), pct, static_cast<unsigned long long>(w.chunk_count));
  }
  SpaceTotals t = live_space(st->workers);
  std::printf(
      "live total: %s used, %s free of %s (%zu workers on %zu filesystems); %llu files, "
      "%llu directories\n",
      human_size(t.used).c_str(), human_size(t.free).c_str(), human_size(t.capacity).c_str(),
      t.workers, t.filesystems, static_cast<unsigned long long>(st->files),
      static_cast<unsigned long long>(st->directories));
  const RepairStatus& r = st->repair;
  if (r.queued || r.running || r.lost || r.copied || r.failed) {
    std::printf(
        "repair: %llu chunks waiting, %llu copying, %llu lost; %llu copies (%s) done, %llu "
        "failed\n",
        static_cast<unsigned long long>(r.queued), static_cast<unsigned long long>(r.running),
        static_cast<unsigned long long>(r.lost), static_cast<unsigned long long>(r.copied),
        human_size(r.copied_bytes).c_str(), static_cast<unsigned long long>(r.failed));
  }
  return 0;
}

}  // namespace dfs::cli
