// CreateMultipartUpload, UploadPart (and UploadPartCopy),
// CompleteMultipartUpload, AbortMultipartUpload, ListParts and
// ListMultipartUploads.
#include "client/s3/multipart.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "bus/socket.h"
#include "client/s3/digest.h"
#include "client/s3/sigv4.h"
#include "client/s3/xml.h"
#include "codec/path.h"

namespace dfs::s3 {
namespace {

constexpr uint64_t kMinPartSize = 5 << 20;  // S3's, for every part but the last
constexpr uint64_t kMaxPartBytes = uint64_t{5} << 30;

S3Error no_such_upload(const std::string& id) {
  return S3Error{404, "NoSuchUpload",
                 "upload " + id + " does not exist (completed, aborted or expired)"};
}

// Upload `id` with its parts after `after_part`, if it is a multipart
// upload to call.path that the caller may see.
Result<UploadsReply> find_upload(const ObjectCall& call, const std::string& id,
                                 uint32_t after_part) {
  if (id.size() != 32 || id.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return no_such_upload(id);
  }
  auto r = call.user.client->uploads(id, 0, after_part);
  if (!r.is_ok()) {
    if (r.status().code() == Code::kNotFound) return no_such_upload(id);
    return from_status(r.status(), false);
  }
  if (r->uploads.size() != 1 || !r->uploads[0].multipart || r->uploads[0].path != call.path) {
    return no_such_upload(id);
  }
  return std::move(r).value();
}

// A decimal query parameter in [low, high], or `fallback` when absent.
Result<uint32_t> number_param(const httplib::Request& req, const std::string& name, uint32_t low,
                              uint32_t high, uint32_t fallback) {
  if (!req.has_param(name)) return fallback;
  const std::string v = req.get_param_value(name);
  if (v.empty() || v.size() > 9 || v.find_first_not_of("0123456789") != std::string::npos) {
    return invalid_argument(name + " must be a number from " + std::to_string(low) + " to " +
                            std::to_string(high));
  }
  return std::clamp(static_cast<uint32_t>(std::stoul(v)), low, high);
}

Result<uint32_t> part_number(const httplib::Request& req) {
  const std::string v = req.get_param_value("partNumber");
  if (v.empty() || v.size() > 5 || v.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(v) == 0 || std::stoul(v) > kMaxParts) {
    return invalid_argument("partNumber must be a number from 1 to " + std::to_string(kMaxParts));
  }
  return static_cast<uint32_t>(std::stoul(v));
}

XmlWriter& owner(XmlWriter& w, const std::string& tag, const std::string& user) {
  const std::string name = user.empty() ? "admin" : user;
  return w.open(tag).leaf("ID", name).leaf("DisplayName", name).close(tag);
}

void create_upload(const ObjectCall& call) {
  if (call.key.back() == '/') {
    return call.error(invalid_argument("a key ending in '/' is a directory, not an object"));
  }
  PutOptions put;
  put.overwrite = true;
  Client& client = *call.user.client;
  auto created = client.create_multipart(call.path, put);
  if (!created.is_ok() && created.status().code() == Code::kNotFound) {
    // S3 has no directories to make first.
    Status s = client.mkdir(parent_path(call.path), /*parents=*/true);
    if (!s.is_ok()) return call.error(from_status(s, false));
    created = client.create_multipart(call.path, put);
  }
  if (!created.is_ok()) return call.error(from_status(created.status(), false));
  send_xml(call.res, XmlWriter()
                         .open("InitiateMultipartUploadResult", true)
                         .leaf("Bucket", call.bucket)
                         .leaf("Key", call.key)
                         .leaf("UploadId", created->upload_id)
                         .close("InitiateMultipartUploadResult")
                         .str());
}

// A part's bytes from a request body, or from a range of another object
// (UploadPartCopy).
void upload_part(const ObjectCall& call, const httplib::ContentReader& reader) {
  auto number = part_number(call.req);
  if (!number.ok()) return call.error(number.error());
  const std::string id = call.req.get_param_value("uploadId");
  auto upload = find_upload(call, id, UINT32_MAX);
  if (!upload.ok()) return call.error(upload.error());
  auto writer =
      UploadWriter::part(process_context(), call.user.options, id, upload->uploads[0].chunk_size,
                         number.value(), call.user.writers.get());
  const bool copy = call.req.has_header("x-amz-copy-source");
  Result<std::string> etag = std::string();
  int64_t source_mtime_ms = 0;
  if (!copy) {
    etag = stream_body(call, reader, *writer);
  } else {
    auto source = copy_source_path(call.req.get_header_value("x-amz-copy-source"));
    if (!source.ok()) return call.error(source.error());
    auto file = call.user.client->stat(source.value(), /*for_read=*/true);
    if (!file.is_ok()) return call.error(from_status(file.status(), false));
    if (file->entry.is_dir()) return call.error(S3Error{404, "NoSuchKey", "no such key"});
    source_mtime_ms = file->entry.mtime_ms;
    uint64_t from = 0, to = file->entry.size;
    if (call.req.has_header("x-amz-copy-source-range")) {
      const std::string range = call.req.get_header_value("x-amz-copy-source-range");
      unsigned long long a = 0, b = 0;
      char tail = 0;
      if (range.compare(0, 6, "bytes=") != 0 ||
          range.find_first_not_of("0123456789-", 6) != std::string::npos ||
          std::sscanf(range.c_str(), "bytes=%llu-%llu%c", &a, &b, &tail) != 2 || b < a) {
        return call.error(invalid_argument("x-amz-copy-source-range must be bytes=FIRST-LAST"));
      }
      if (b >= file->entry.size) {
        return call.error(S3Error{416, "InvalidRange",
                                  "x-amz-copy-source-range is past the source object's end"});
      }
      from = a;
      to = b + 1;
    }
    if (to - from > kMaxPartBytes) {
      return call.error(S3Error{400, "EntityTooLarge", "a part is at most 5 GiB"});
    }
    Md5 md5;
    Status failed;
    Status s =
        copy_range(call.user, source.value(), file.value(), from, to, [&](const char* d, size_t n) {
          md5.update(d, n);
          failed = writer->append(d, n);
          return failed.is_ok();
        });
    if (!failed.is_ok()) s = failed;
    if (s.is_ok()) {
      etag = to_hex(md5.raw());
    } else {
      etag = from_status(s, false);
    }
  }
  if (!etag.ok()) return call.error(etag.error());
  Status s = writer->finish(etag.value());
  if (!s.is_ok()) return call.error(from_status(s, false));
  if (!copy) {
    call.res.status = 200;
    call.res.set_header("ETag", quote_etag(etag.value()));
    return;
  }
  send_xml(call.res, XmlWriter()
                         .open("CopyPartResult", true)
                         .leaf("LastModified", iso8601(source_mtime_ms))
                         .leaf("ETag", quote_etag(etag.value()))
                         .close("CopyPartResult")
                         .str());
}

void send_completed(const ObjectCall& call, const std::string& etag) {
  send_xml(call.res, XmlWriter()
                         .open("CompleteMultipartUploadResult", true)
                         .leaf("Location", "/" + call.bucket + "/" + call.key)
                         .leaf("Bucket", call.bucket)
                         .leaf("Key", call.key)
                         .leaf("ETag", quote_etag(etag))
                         .close("CompleteMultipartUploadResult")
                         .str());
}

// Whether the object at the key is what completing these parts made: a
// client that lost the answer to its Complete and sends it again is told
// it succeeded, as S3 does.
bool already_completed(const ObjectCall& call, const std::vector<PartRef>& parts) {
  std::vector<std::string> etags;
  for (const auto& p : parts) etags.push_back(p.etag);
  const std::string etag = multipart_etag(etags);
  auto file = call.user.client->stat(call.path);
  if (etag.empty() || !file.is_ok() || file->entry.etag != etag) return false;
  send_completed(call, etag);
  return true;
}

void complete_upload(const ObjectCall& call, const httplib::ContentReader& reader) {
  const std::string id = call.req.get_param_value("uploadId");
  auto body = read_small_body(reader, call.payload_hash);
  if (!body.ok()) return call.error(body.error());
  auto named = parse_complete(body.value());
  if (!named.ok()) return call.error(named.error());
  // Every part written, a page at a time: their sizes decide whether the
  // parts are big enough, and their ETags whether they are the ones named.
  std::map<uint32_t, PartListing> written;
  for (uint32_t after = 0;;) {
    auto page = find_upload(call, id, after);
    if (!page.ok() && page.error().code == "NoSuchUpload" &&
        already_completed(call, named.value())) {
      return;  // a retry of a Complete whose answer was lost
    }
    if (!page.ok()) return call.error(page.error());
    for (auto& p : page->uploads[0].parts) written[p.number] = std::move(p);
    if (!page->truncated || written.empty() || written.rbegin()->first <= after) break;
    after = written.rbegin()->first;
  }
  uint64_t size = 0;
  std::vector<std::string> etags;
  const auto& parts = named.value();
  for (size_t i = 0; i < parts.size(); ++i) {
    auto it = written.find(parts[i].number);
    if (it == written.end() || it->second.etag != parts[i].etag) {
      return call.error(S3Error{400, "InvalidPart",
                                "part " + std::to_string(parts[i].number) +
                                    " was not uploaded, or not with ETag " + parts[i].etag});
    }
    if (i + 1 < parts.size() && it->second.size < kMinPartSize) {
      return call.error(S3Error{400, "EntityTooSmall",
                                "part " + std::to_string(parts[i].number) + " is " +
                                    std::to_string(it->second.size) +
                                    " bytes; every part but the last must be at least 5 MiB"});
    }
    size += it->second.size;
    etags.push_back(it->second.etag);
  }
  const std::string etag = multipart_etag(etags);
  Client& client = *call.user.client;
  Status s = client.commit_parts(id, size, parts, etag);
  if (s.code() == Code::kNotFound) {
    if (!client.uploads(id).is_ok()) return call.error(no_such_upload(id));
    // The key's directory went meanwhile (the last key beside it was
    // deleted, which prunes it): S3 has none, so make it again.
    Status made = client.mkdir(parent_path(call.path), /*parents=*/true);
    s = made.is_ok() ? client.commit_parts(id, size, parts, etag) : made;
  }
  // Parts the masters find changed since they were checked here.
  if (s.code() == Code::kInvalidArgument)
    return call.error(S3Error{400, "InvalidPart", s.message()});
  if (!s.is_ok()) return call.error(from_status(s, false));
  send_completed(call, etag);
}

void abort_upload(const ObjectCall& call) {
  const std::string id = call.req.get_param_value("uploadId");
  auto upload = find_upload(call, id, UINT32_MAX);
  if (!upload.ok()) return call.error(upload.error());
  Status s = call.user.client->abort_upload(id);
  if (s.code() == Code::kNotFound) return call.error(no_such_upload(id));
  if (!s.is_ok()) return call.error(from_status(s, false));
  call.res.status = 204;
}

void list_parts(const ObjectCall& call) {
  const std::string id = call.req.get_param_value("uploadId");
  auto max = number_param(call.req, "max-parts", 1, kMaxPartsListed, kMaxPartsListed);
  if (!max.ok()) return call.error(max.error());
  auto marker = number_param(call.req, "part-number-marker", 0, kMaxParts, 0);
  if (!marker.ok()) return call.error(marker.error());
  auto page = find_upload(call, id, marker.value());
  if (!page.ok()) return call.error(page.error());
  const UploadListing& upload = page->uploads[0];
  std::vector<PartListing> parts = upload.parts;
  bool truncated = page->truncated;
  if (parts.size() > max.value()) {
    parts.resize(max.value());
    truncated = true;
  }
  XmlWriter w;
  w.open("ListPartsResult", true)
      .leaf("Bucket", call.bucket)
      .leaf("Key", call.key)
      .leaf("UploadId", id);
  owner(w, "Initiator", upload.owner);
  owner(w, "Owner", upload.owner);
  w.leaf("StorageClass", "STANDARD")
      .leaf("PartNumberMarker", std::to_string(marker.value()))
      .leaf("NextPartNumberMarker",
            std::to_string(parts.empty() ? marker.value() : parts.back().number))
      .leaf("MaxParts", std::to_string(max.value()))
      .leaf("IsTruncated", truncated ? "true" : "false");
  for (const auto& p : parts) {
    w.open("Part")
        .leaf("PartNumber", std::to_string(p.number))
        .leaf("LastModified", iso8601(p.mtime_ms))
        .leaf("ETag", quote_etag(p.etag))
        .leaf("Size", std::to_string(p.size))
        .close("Part");
  }
  w.close("ListPartsResult");
  send_xml(call.res, w.str());
}

// The bucket's multipart uploads in progress that the caller may see, in
// key order (then upload id), after key-marker / upload-id-marker.
void list_uploads(const ObjectCall& call) {
  const httplib::Request& req = call.req;
  auto max = number_param(req, "max-uploads", 1, 1000, 1000);
  if (!max.ok()) return call.error(max.error());
  const std::string prefix = req.get_param_value("prefix");
  const std::string delimiter = req.get_param_value("delimiter");
  const std::string key_marker = req.get_param_value("key-marker");
  const std::string id_marker = req.get_param_value("upload-id-marker");
  auto all = call.user.client->uploads();
  if (!all.is_ok()) return call.error(from_status(all.status(), true));
  const std::string root = "/" + call.bucket + "/";
  std::vector<std::tuple<std::string, std::string, const UploadListing*>> found;
  for (const auto& u : all->uploads) {
    if (!u.multipart || u.path.compare(0, root.size(), root) != 0) continue;
    std::string key = u.path.substr(root.size());
    if (key.compare(0, prefix.size(), prefix) != 0) continue;
    if (key < key_marker || (key == key_marker && (id_marker.empty() || u.upload_id <= id_marker)))
      continue;
    // A marker that is a common prefix given before: everything under it was.
    if (!delimiter.empty() && key_marker.size() >= delimiter.size() &&
        key_marker.compare(key_marker.size() - delimiter.size(), delimiter.size(), delimiter) ==
            0 &&
        key.compare(0, key_marker.size(), key_marker) == 0)
      continue;
    found.emplace_back(std::move(key), u.upload_id, &u);
  }
  std::sort(found.begin(), found.end());
  XmlWriter w;
  w.open("ListMultipartUploadsResult", true)
      .leaf("Bucket", call.bucket)
      .leaf("KeyMarker", key_marker)
      .leaf("UploadIdMarker", id_marker)
      .leaf("Prefix", prefix);
  if (!delimiter.empty()) w.leaf("Delimiter", delimiter);
  w.leaf("MaxUploads", std::to_string(max.value()));
  size_t given = 0;
  bool truncated = false;
  std::string next_key, next_id, last_prefix;
  std::vector<std::string> prefixes;
  for (const auto& [key, upload_id, u] : found) {
    if (!delimiter.empty()) {
      size_t at = key.find(delimiter, prefix.size());
      if (at != std::string::npos) {
        std::string common = key.substr(0, at + delimiter.size());
        if (common == last_prefix) continue;
        if (given == max.value()) {
          truncated = true;
          break;
        }
        last_prefix = common;
        prefixes.push_back(common);
        ++given;
        next_key = common;
        next_id.clear();
        continue;
      }
    }
    if (given == max.value()) {
      truncated = true;
      break;
    }
    ++given;
    next_key = key;
    next_id = upload_id;
    w.open("Upload").leaf("Key", key).leaf("UploadId", upload_id);
    owner(w, "Initiator", u->owner);
    owner(w, "Owner", u->owner);
    w.leaf("StorageClass", "STANDARD")
        .leaf("Initiated", iso8601(u->created_ms ? u->created_ms : u->last_active_ms))
        .close("Upload");
  }
  for (const auto& p : prefixes) w.open("CommonPrefixes").leaf("Prefix", p).close("CommonPrefixes");
  // Only the caller's first 10,000 uploads in the cluster are looked at
  // (docs/s3.md): a page is truncated only where it was cut here.
  w.leaf("IsTruncated", truncated ? "true" : "false");
  if (truncated) w.leaf("NextKeyMarker", next_key).leaf("NextUploadIdMarker", next_id);
  w.close("ListMultipartUploadsResult");
  send_xml(call.res, w.str());
}

}  // namespace

bool is_multipart_request(const httplib::Request& req) {
  return req.has_param("uploads") || req.has_param("uploadId") || req.has_param("partNumber");
}

void handle_multipart(const ObjectCall& call, const httplib::ContentReader* reader) {
  const std::string& method = call.req.method;
  const bool has_id = call.req.has_param("uploadId");
  if (call.key.empty()) {
    if (method == "GET" && call.req.has_param("uploads") && !has_id) return list_uploads(call);
    return call.error(S3Error{400, "InvalidRequest", "multipart operations name a key"});
  }
  if (call.req.has_param("partNumber") && !(method == "PUT" && has_id)) {
    return call.error(S3Error{501, "NotImplemented", "?partNumber is served on UploadPart only"});
  }
  if (method == "POST" && call.req.has_param("uploads") && !has_id) return create_upload(call);
  if (!has_id) return call.error(S3Error{400, "InvalidRequest", "uploadId is missing"});
  if (method == "PUT") return upload_part(call, *reader);
  if (method == "POST") return complete_upload(call, *reader);
  if (method == "DELETE") return abort_upload(call);
  if (method == "GET") return list_parts(call);
  return call.error(
      S3Error{405, "MethodNotAllowed", method + " is not allowed on a multipart upload"});
}

}  // namespace dfs::s3
