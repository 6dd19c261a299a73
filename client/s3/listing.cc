#include "client/s3/listing.h"

#include <algorithm>

namespace dfs::s3 {
namespace {

bool starts_with(const std::string& s, const std::string& p) {
  return s.compare(0, p.size(), p) == 0;
}

class Walk {
 public:
  Walk(const std::string& bucket, const ListQuery& q, const Lister& lister)
      : bucket_(bucket), q_(q), lister_(lister) {}

  Result<Listing> run() {
    // The deepest directory the prefix names whole, and what is left of it.
    const size_t slash = q_.prefix.rfind('/');
    const std::string base = slash == std::string::npos ? "" : q_.prefix.substr(0, slash + 1);
    auto top = lister_("/" + bucket_);
    if (!top.is_ok()) return from_status(top.status(), /*is_bucket=*/true);
    Status s =
        visit(base, base.empty() ? std::move(top).value() : std::vector<EntryInfo>{}, base.empty());
    if (!s.is_ok()) return from_status(s, false);
    return std::move(out_);
  }

 private:
  // Visits the directory whose keys start with `dir_key` ("" or "a/b/").
  // `entries` are given for the bucket's root, else read here.
  Status visit(const std::string& dir_key, std::vector<EntryInfo> entries, bool have) {
    if (!have) {
      std::string path = "/" + bucket_ + "/" + dir_key.substr(0, dir_key.size() - 1);
      auto listed = lister_(path);
      if (!listed.is_ok()) {
        Code c = listed.status().code();
        // A prefix naming no directory lists nothing.
        return c == Code::kNotFound || c == Code::kNotADirectory ? Status::ok() : listed.status();
      }
      entries = std::move(listed).value();
    }
    // Keys in byte order: a directory N sorts as "N/".
    auto sort_name = [](const EntryInfo& e) { return e.is_dir() ? e.name + "/" : e.name; };
    std::sort(entries.begin(), entries.end(),
              [&](const EntryInfo& a, const EntryInfo& b) { return sort_name(a) < sort_name(b); });
    for (const auto& e : entries) {
      if (done_) return Status::ok();
      const std::string key = dir_key + sort_name(e);
      if (!starts_with(key, q_.prefix) && !starts_with(q_.prefix, key)) continue;
      if (e.is_dir()) {
        // Every key under it starts with `key`: skipped whole when the
        // start lies past all of them.
        if (!q_.start_after.empty() && q_.start_after > key && !starts_with(q_.start_after, key)) {
          continue;
        }
        if (q_.delimiter == "/" && starts_with(key, q_.prefix) && key.size() > q_.prefix.size()) {
          emit_prefix(key);
          continue;
        }
        DFS_RETURN_IF_ERROR(visit(key, {}, false));
        continue;
      }
      if (!starts_with(key, q_.prefix)) continue;
      if (!q_.delimiter.empty()) {
        size_t at = key.find(q_.delimiter, q_.prefix.size());
        if (at != std::string::npos) {
          emit_prefix(key.substr(0, at + q_.delimiter.size()));
          continue;
        }
      }
      if (!q_.start_after.empty() && key <= q_.start_after) continue;
      if (!room()) return Status::ok();
      out_.objects.push_back(ListedObject{key, e});
      out_.next_after = key;
    }
    return Status::ok();
  }

  void emit_prefix(const std::string& prefix) {
    if (!out_.common_prefixes.empty() && out_.common_prefixes.back() == prefix) return;
    if (!q_.start_after.empty() && prefix <= q_.start_after) return;
    if (!room()) return;
    out_.common_prefixes.push_back(prefix);
    out_.next_after = prefix;
  }

  // Whether one more item fits; the first that does not ends the walk and
  // marks the listing truncated.
  bool room() {
    if (out_.objects.size() + out_.common_prefixes.size() < q_.max_keys) return true;
    out_.truncated = q_.max_keys > 0;
    done_ = true;
    return false;
  }

  const std::string& bucket_;
  const ListQuery& q_;
  const Lister& lister_;
  Listing out_;
  bool done_ = false;
};

}  // namespace

Result<Listing> list_objects(const std::string& bucket, const ListQuery& query,
                             const Lister& lister) {
  return Walk(bucket, query, lister).run();
}

}  // namespace dfs::s3
