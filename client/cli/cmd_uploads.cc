// dfs admin uploads [list] [--json] | show ID [--json] | abort ID: uploads
// in progress (an admin sees every one, a user their own), and dropping one
// whose put will not be run again (its chunks are then collected).
#include <cstdio>
#include <ctime>
#include <iostream>

#include "bus/units.h"
#include "client/cli/cli.h"
#include "client/cli/json.h"

namespace dfs::cli {
namespace {

// A lease of slots for small files has no path of its own: each slot
// becomes a file of its own when committed.
std::string shown_path(const UploadListing& u) {
  return u.path.empty() ? "(slots leased for small files)" : u.path;
}

std::string when(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  char buf[32];
  std::tm tm{};
  ::localtime_r(&t, &tm);
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

void write_listing(JsonWriter& j, const UploadListing& u, bool with_chunks) {
  j.begin_object().key("id").value(u.upload_id).key("path").value(u.path);
  j.key("owner").value(u.owner).key("chunk_size").value(u.chunk_size);
  j.key("replication").value(u.replication).key("last_active_ms").value(u.last_active_ms);
  j.key("chunks_written").value(u.chunks_written).key("bytes_written").value(u.bytes_written);
  if (with_chunks) {
    j.key("chunks").begin_array();
    for (const auto& c : u.chunks) {
      j.begin_object().key("index").value(c.index).key("id").value(c.id);
      j.key("size").value(c.size).key("sha256").value(c.sha256).end_object();
    }
    j.end_array();
  }
  j.end_object();
}

int list(Context& ctx, bool json) {
  auto rep = ctx.client->uploads();
  if (!rep.is_ok()) return fail("admin uploads list", rep.status());
  if (json) {
    JsonWriter j;
    j.begin_object().key("uploads").begin_array();
    for (const auto& u : rep->uploads) write_listing(j, u, false);
    j.end_array().key("truncated").value(rep->truncated).end_object();
    std::cout << j.str() << "\n";
    return 0;
  }
  std::printf("%-32s %-19s %-10s %8s %10s  %s\n", "UPLOAD", "LAST ACTIVE", "OWNER", "CHUNKS",
              "WRITTEN", "PATH");
  for (const auto& u : rep->uploads) {
    std::printf("%-32s %-19s %-10s %8llu %10s  %s\n", u.upload_id.c_str(),
                when(u.last_active_ms).c_str(), u.owner.empty() ? "-" : u.owner.c_str(),
                static_cast<unsigned long long>(u.chunks_written),
                human_size(u.bytes_written).c_str(), shown_path(u).c_str());
  }
  if (rep->truncated) std::printf("(more uploads than one reply holds)\n");
  return 0;
}

int show(Context& ctx, const std::string& id, bool json) {
  auto rep = ctx.client->uploads(id);
  if (!rep.is_ok()) return fail("admin uploads show", rep.status());
  if (rep->uploads.size() != 1) {
    return fail("admin uploads show", protocol_error("the reply does not hold upload " + id));
  }
  const auto& u = rep->uploads[0];
  if (json) {
    JsonWriter j;
    write_listing(j, u, true);
    std::cout << j.str() << "\n";
    return 0;
  }
  std::printf("upload %s to %s, by %s, last active %s\n", u.upload_id.c_str(),
              shown_path(u).c_str(), u.owner.empty() ? "-" : u.owner.c_str(),
              when(u.last_active_ms).c_str());
  std::printf("%llu chunks written (%s), chunk size %s, replication %u\n",
              static_cast<unsigned long long>(u.chunks_written),
              human_size(u.bytes_written).c_str(), human_size(u.chunk_size).c_str(), u.replication);
  for (const auto& c : u.chunks) {
    std::printf("  %6llu %s %10s %s\n", static_cast<unsigned long long>(c.index), c.id.c_str(),
                human_size(c.size).c_str(), c.sha256.c_str());
  }
  return 0;
}

}  // namespace

int admin_uploads(Context& ctx, const std::vector<std::string>& args, bool json) {
  const std::string op = args.empty() ? "list" : args[0];
  if (op == "list" && args.size() == 1) return list(ctx, json);
  if (args.empty()) return list(ctx, json);
  if (op == "show" && args.size() == 2) return show(ctx, args[1], json);
  if (op == "abort" && args.size() == 2) {
    Status s = ctx.client->abort_upload(args[1]);
    if (!s.is_ok()) return fail("admin uploads abort", s);
    std::printf("upload %s aborted: its chunks will be collected\n", args[1].c_str());
    return 0;
  }
  std::fprintf(stderr,
               "usage: dfs admin uploads [list] [--json]\n"
               "       dfs admin uploads show ID [--json]\n"
               "       dfs admin uploads abort ID\n");
  return 2;
}

}  // namespace dfs::cli
