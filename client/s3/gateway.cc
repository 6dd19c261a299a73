// The gateway's HTTP side: one handler per S3 operation, each a few calls
// into the client library. Signing, listing and XML live in their own files.
#include "client/s3/gateway.h"

#include <httplib.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <map>
#include <optional>
#include <random>

#include "bus/socket.h"
#include "client/file_range.h"
#include "client/s3/credentials.h"
#include "client/s3/digest.h"
#include "client/s3/handler.h"
#include "client/s3/listing.h"
#include "client/s3/multipart.h"
#include "client/s3/sigv4.h"
#include "client/s3/xml.h"
#include "client/upload_writer.h"
#include "codec/path.h"
#include "codec/sha256.h"

namespace dfs::s3 {
namespace {

using httplib::ContentReader;
using httplib::Request;
using httplib::Response;

// An object's ETag when its MD5 was never recorded (written by dfs put):
// the "-N" form, which clients know not to compare with an MD5.
std::string derived_etag(const StatReply& file) {
  std::string all;
  for (const auto& c : file.chunks) all += c.sha256;
  return Sha256::hex_of(all).substr(0, 32) + "-" +
         std::to_string(std::max<size_t>(1, file.chunks.size()));
}

std::string new_request_id() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

// S3's rule for bucket names, which keeps them valid directory names too.
bool valid_bucket(const std::string& b) {
  if (b.size() < 3 || b.size() > 63) return false;
  for (char c : b) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) return false;
  }
  return b.front() != '-' && b.front() != '.' && b.back() != '-' && b.back() != '.';
}

// The query parameters of the operations served; any other names a
// sub-resource (acl, tagging, versioning, ...) that is not.
bool served_parameter(const std::string& name) {
  static const char* kServed[] = {"list-type",
                                  "prefix",
                                  "delimiter",
                                  "max-keys",
                                  "marker",
                                  "start-after",
                                  "encoding-type",
                                  "fetch-owner",
                                  "continuation-token",
                                  "location",
                                  "delete",
                                  "x-id",
                                  "uploads",
                                  "uploadId",
                                  "partNumber",
                                  "max-parts",
                                  "part-number-marker",
                                  "max-uploads",
                                  "key-marker",
                                  "upload-id-marker"};
  if (name.compare(0, 6, "X-Amz-") == 0 || name.compare(0, 9, "response-") == 0) return true;
  for (const char* s : kServed) {
    if (name == s) return true;
  }
  return false;
}

// One byte range of an object of `size` bytes, as [from, to): "bytes=A-B",
// "bytes=A-" or "bytes=-N". nullopt for anything else (several ranges, a
// malformed header): the whole object is sent, as S3 does. A start at or
// past the end comes back as from >= size (unsatisfiable).
std::optional<std::pair<uint64_t, uint64_t>> parse_range(const std::string& header, uint64_t size) {
  const std::string prefix = "bytes=";
  if (header.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  const std::string spec = header.substr(prefix.size());
  const size_t dash = spec.find('-');
  if (dash == std::string::npos || spec.find_first_not_of("0123456789-") != std::string::npos ||
      spec.find('-', dash + 1) != std::string::npos) {
    return std::nullopt;
  }
  const std::string a = spec.substr(0, dash), b = spec.substr(dash + 1);
  if (a.size() > 19 || b.size() > 19 || (a.empty() && b.empty())) return std::nullopt;
  if (a.empty()) {  // the last N bytes
    uint64_t n = static_cast<uint64_t>(std::stoull(b));
    return std::make_pair(size - std::min(n, size), size);
  }
  uint64_t from = static_cast<uint64_t>(std::stoull(a));
  uint64_t to = b.empty() ? size : std::min<uint64_t>(std::stoull(b) + 1, size);
  if (!b.empty() && std::stoull(b) < from) return std::nullopt;
  return std::make_pair(from, std::max(from, to));
}

// The access keys, read again when their file changes (checked at most
// once a second), so keys are added and removed without a restart. A file
// that no longer parses keeps the keys in force, with a warning.
class KeyStore {
 public:
  KeyStore(std::string path, Credentials first)
      : path_(std::move(path)), keys_(std::make_shared<Credentials>(std::move(first))) {
    stamp_ = file_stamp();
  }
  // The key for `access_key` as of now (a copy: a reload may replace it).
  std::optional<AccessKey> find(const std::string& access_key) {
    std::lock_guard<std::mutex> lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    if (now - checked_ >= std::chrono::seconds(1)) {
      checked_ = now;
      auto stamp = file_stamp();
      if (stamp != stamp_) {
        stamp_ = stamp;
        auto again = Credentials::load(path_);
        if (again.is_ok()) {
          keys_ = std::make_shared<Credentials>(std::move(again).value());
          spdlog::info("{}: {} access key(s)", path_, keys_->size());
        } else {
          spdlog::warn("{}: keeping the keys in force: {}", path_, again.status().message());
        }
      }
    }
    const AccessKey* k = keys_->find(access_key);
    return k ? std::optional<AccessKey>(*k) : std::nullopt;
  }

 private:
  std::string file_stamp() const {
    struct stat st {};
    if (::stat(path_.c_str(), &st) != 0) return "";
    return std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + "/" +
           std::to_string(st.st_size) + "/" + std::to_string(st.st_ino);
  }
  const std::string path_;
  std::mutex mu_;
  std::shared_ptr<Credentials> keys_;
  std::string stamp_;
  std::chrono::steady_clock::time_point checked_{};
};

// Users whose connections one server thread keeps at once.
constexpr size_t kMaxConnsPerThread = 32;

class Gateway {
 public:
  Gateway(const GatewayOptions& options, Credentials credentials)
      : options_(options), credentials_(options.credentials, std::move(credentials)) {}

  void route(httplib::Server& server) {
    server.Get(".*", [this](const Request& req, Response& res) { handle(req, res, nullptr); });
    server.Delete(".*", [this](const Request& req, Response& res) { handle(req, res, nullptr); });
    server.Put(".*", [this](const Request& req, Response& res, const ContentReader& reader) {
      handle(req, res, &reader);
    });
    server.Post(".*", [this](const Request& req, Response& res, const ContentReader& reader) {
      handle(req, res, &reader);
    });
  }

 private:
  // `key` is the access key's entry as the request was verified against.
  UserConn& conn(const std::string& access_key, const AccessKey& key) {
    thread_local std::map<std::string, UserConn> conns;
    // Bounded: a thread that has served many keys starts its set again
    // (each entry holds sockets to the masters and workers).
    if (conns.size() >= kMaxConnsPerThread && conns.count(access_key) == 0) conns.clear();
    auto& c = conns[access_key];
    // A key file changed since (a reload): new connections, with the new key.
    const std::string public_key = key.key_file == "-" ? "" : key.dfs_key.public_key;
    if (c.client && c.public_key != public_key) c = UserConn{};
    if (!c.client) {
      c.public_key = public_key;
      c.options = options_.client;
      if (key.key_file != "-") c.options.identity = std::make_shared<KeyPair>(key.dfs_key);
      c.client = std::make_unique<Client>(c.options);
      c.transfer = std::make_unique<TransferContext>(process_context(), c.options.masters,
                                                     c.options.timeout, c.options.identity);
      c.writers = std::make_unique<TransferPool>(process_context(), c.options.masters,
                                                 c.options.timeout, c.options.identity);
    }
    return c;
  }

  void fail(Response& res, const S3Error& e, const std::string& resource, const std::string& id,
            bool head) {
    res.status = e.http;
    if (e.http >= 500) spdlog::warn("{} {}: {} {}", id, resource, e.code, e.message);
    if (!head) res.set_content(error_document(e, resource, id), "application/xml");
  }

  void handle(const Request& req, Response& res, const ContentReader* given) {
    // A body not read by the time the response goes (a request refused
    // before its body) is read and dropped: the connection stays in step,
    // never taking the rest of a body for the next request.
    bool body_read = false;
    std::optional<ContentReader> tracked;
    if (given != nullptr) {
      tracked.emplace(
          [&](httplib::ContentReceiver receive) {
            body_read = true;
            return (*given)(std::move(receive));
          },
          [&](httplib::MultipartContentHeader header, httplib::ContentReceiver receive) {
            body_read = true;
            return (*given)(std::move(header), std::move(receive));
          });
    }
    const ContentReader* reader = tracked ? &*tracked : nullptr;
    struct DrainAtEnd {
      const ContentReader* reader;
      bool& read;
      ~DrainAtEnd() {
        if (reader != nullptr && !read) (*reader)([](const char*, size_t) { return true; });
      }
    } drain{reader, body_read};
    const std::string id = new_request_id();
    const bool head = req.method == "HEAD";
    res.set_header("x-amz-request-id", id);
    res.set_header("Server", "dfs-s3");
    // The path after the leading '/': "" (the service), "bucket" or "bucket/key".
    const std::string rest = req.path.size() > 1 ? req.path.substr(1) : "";
    const size_t slash = rest.find('/');
    const std::string bucket = rest.substr(0, slash);
    const std::string key = slash == std::string::npos ? "" : rest.substr(slash + 1);
    SignedRequest signed_req{req.method,
                             req.path,
                             {req.params.begin(), req.params.end()},
                             [&req](const std::string& name) -> std::optional<std::string> {
                               if (!req.has_header(name)) return std::nullopt;
                               return req.get_header_value(name);
                             },
                             {}};
    for (const auto& [name, value] : req.headers) {
      std::string lower = name;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      signed_req.header_names.push_back(lower);
    }
    std::optional<AccessKey> access;
    auto signer = verify(
        signed_req,
        [&](const std::string& k) -> std::optional<std::string> {
          access = credentials_.find(k);
          return access ? std::optional<std::string>(access->secret) : std::nullopt;
        },
        now_s());
    if (!signer.ok()) return fail(res, signer.error(), req.path, id, head);
    UserConn& user = conn(signer->access_key, *access);
    auto error = [&](const S3Error& e) { fail(res, e, req.path, id, head); };
    if (!bucket.empty() && !valid_bucket(bucket)) {
      return error(S3Error{400, "InvalidBucketName",
                           "the bucket name '" + bucket + "' is not valid (3-63 of a-z 0-9 . -)"});
    }
    const bool get = req.method == "GET" || head;
    if (bucket.empty()) {
      if (get) return list_buckets(user, signer->access_key, res, error);
      return error(S3Error{405, "MethodNotAllowed", "the service supports GET only"});
    }
    // A sub-resource this gateway does not serve (?acl, ?tagging, ...) must
    // not fall through to the plain object or bucket operation: a PUT ?acl
    // would empty the object, a DELETE ?tagging delete it.
    for (const auto& [name, value] : req.params) {
      if (!served_parameter(name)) {
        return error(S3Error{501, "NotImplemented", "?" + name + " is not supported"});
      }
    }
    if (is_multipart_request(req)) {
      std::string path;
      if (!key.empty()) {
        auto p = object_path(bucket, key);
        if (!p.ok()) return error(p.error());
        path = p.value();
      }
      return handle_multipart(
          ObjectCall{user, req, res, error, bucket, key, path, signer->payload_hash}, reader);
    }
    if (key.empty()) {
      if (req.method == "PUT") return create_bucket(user, bucket, res, error);
      if (req.method == "DELETE") return delete_bucket(user, bucket, res, error);
      if (req.method == "POST" && req.has_param("delete")) {
        return delete_objects(user, bucket, signer->payload_hash, *reader, res, error);
      }
      if (get && req.has_param("location")) {
        return send_xml(
            res, XmlWriter().open("LocationConstraint", true).close("LocationConstraint").str());
      }
      if (head) return head_bucket(user, bucket, res, error);
      if (get) return list_objects(user, bucket, req, res, error);
      return error(S3Error{405, "MethodNotAllowed", req.method + " is not allowed on a bucket"});
    }
    auto path = object_path(bucket, key);
    if (!path.ok()) return error(path.error());
    if (req.method == "PUT" && req.has_header("x-amz-copy-source")) {
      return copy_object(user, bucket, path.value(), req.get_header_value("x-amz-copy-source"), res,
                         error);
    }
    if (req.method == "PUT") {
      return put_object(
          ObjectCall{user, req, res, error, bucket, key, path.value(), signer->payload_hash},
          *reader);
    }
    if (get) return get_object(user, req, path.value(), res, error);
    if (req.method == "DELETE") return delete_object(user, bucket, path.value(), res, error);
    return error(S3Error{405, "MethodNotAllowed", req.method + " is not allowed on an object"});
  }

  void list_buckets(UserConn& user, const std::string& access_key, Response& res,
                    const ErrorFn& error) {
    auto entries = user.client->list("/", "");
    if (!entries.is_ok()) return error(from_status(entries.status(), true));
    XmlWriter w;
    w.open("ListAllMyBucketsResult", true)
        .open("Owner")
        .leaf("ID", access_key)
        .leaf("DisplayName", access_key)
        .close("Owner")
        .open("Buckets");
    for (const auto& e : entries.value()) {
      if (!e.is_dir() || !valid_bucket(e.name)) continue;
      w.open("Bucket")
          .leaf("Name", e.name)
          .leaf("CreationDate", iso8601(e.mtime_ms))
          .close("Bucket");
    }
    w.close("Buckets").close("ListAllMyBucketsResult");
    send_xml(res, w.str());
  }

  void create_bucket(UserConn& user, const std::string& bucket, Response& res,
                     const ErrorFn& error) {
    Status s = user.client->mkdir("/" + bucket, false);
    if (s.code() == Code::kAlreadyExists) {
      return error(S3Error{409, "BucketAlreadyOwnedByYou", "bucket " + bucket + " exists"});
    }
    if (!s.is_ok()) return error(from_status(s, true));
    res.status = 200;
    res.set_header("Location", "/" + bucket);
  }

  void delete_bucket(UserConn& user, const std::string& bucket, Response& res,
                     const ErrorFn& error) {
    auto st = user.client->stat("/" + bucket);
    if (!st.is_ok()) return error(from_status(st.status(), true));
    if (!st->entry.is_dir()) return error(S3Error{404, "NoSuchBucket", bucket + " is no bucket"});
    Status s = user.client->remove("/" + bucket, false);
    if (!s.is_ok()) return error(from_status(s, true));
    res.status = 204;
  }

  void head_bucket(UserConn& user, const std::string& bucket, Response& res, const ErrorFn& error) {
    auto st = user.client->stat("/" + bucket);
    if (!st.is_ok()) return error(from_status(st.status(), true));
    if (!st->entry.is_dir()) return error(S3Error{404, "NoSuchBucket", bucket + " is no bucket"});
    res.status = 200;
  }

  void list_objects(UserConn& user, const std::string& bucket, const Request& req, Response& res,
                    const ErrorFn& error) {
    const bool v2 = req.get_param_value("list-type") == "2";
    const bool url = req.get_param_value("encoding-type") == "url";
    ListQuery q;
    q.prefix = req.get_param_value("prefix");
    q.delimiter = req.get_param_value("delimiter");
    if (req.has_param("max-keys")) {
      try {
        q.max_keys = static_cast<size_t>(
            std::clamp(std::stoll(req.get_param_value("max-keys")), 0LL, 1000LL));
      } catch (const std::exception&) {
        return error(invalid_argument("max-keys must be a number"));
      }
    }
    const std::string token = req.get_param_value("continuation-token");
    if (v2) {
      q.start_after = req.get_param_value("start-after");
      if (!token.empty()) {
        // The token is the hex of the last key or prefix given.
        if (token.size() % 2 != 0 || token.size() > 4096 ||
            token.find_first_not_of("0123456789abcdef") != std::string::npos) {
          return error(invalid_argument("the continuation token is not one this gateway gave"));
        }
        std::string after;
        for (size_t i = 0; i + 1 < token.size(); i += 2) {
          after.push_back(static_cast<char>(std::stoi(token.substr(i, 2), nullptr, 16)));
        }
        q.start_after = std::max(q.start_after, after);
      }
    } else {
      q.start_after = req.get_param_value("marker");
    }
    Client& client = *user.client;
    auto listing =
        s3::list_objects(bucket, q, [&](const std::string& dir) { return client.list(dir, ""); });
    if (!listing.ok()) return error(listing.error());
    auto enc = [&](const std::string& s) { return url ? uri_encode(s, true) : s; };
    XmlWriter w;
    w.open("ListBucketResult", true).leaf("Name", bucket).leaf("Prefix", enc(q.prefix));
    if (!q.delimiter.empty()) w.leaf("Delimiter", enc(q.delimiter));
    w.leaf("MaxKeys", std::to_string(q.max_keys));
    if (url) w.leaf("EncodingType", "url");
    w.leaf("IsTruncated", listing->truncated ? "true" : "false");
    if (v2) {
      w.leaf("KeyCount", std::to_string(listing->objects.size() + listing->common_prefixes.size()));
      if (!token.empty()) w.leaf("ContinuationToken", token);
      if (req.has_param("start-after"))
        w.leaf("StartAfter", enc(req.get_param_value("start-after")));
      if (listing->truncated) w.leaf("NextContinuationToken", to_hex(listing->next_after));
    } else {
      w.leaf("Marker", enc(q.start_after));
      if (listing->truncated) w.leaf("NextMarker", enc(listing->next_after));
    }
    for (const auto& o : listing->objects) {
      w.open("Contents")
          .leaf("Key", enc(o.key))
          .leaf("LastModified", iso8601(o.entry.mtime_ms))
          .leaf("ETag", quote_etag(o.entry.etag.empty() ? (o.entry.size == 0 ? kEmptyMd5 : "-")
                                                        : o.entry.etag))
          .leaf("Size", std::to_string(o.entry.size))
          .leaf("StorageClass", "STANDARD")
          .close("Contents");
    }
    for (const auto& p : listing->common_prefixes) {
      w.open("CommonPrefixes").leaf("Prefix", enc(p)).close("CommonPrefixes");
    }
    w.close("ListBucketResult");
    send_xml(res, w.str());
  }

  // An upload that replaces the object at `path`, making the directories
  // above it that are missing (S3 has none to create).
  // `size`: the object's size when known (0: not known).
  dfs::Result<std::unique_ptr<UploadWriter>> object_writer(UserConn& user, const std::string& path,
                                                           uint64_t size) {
    PutOptions put;
    put.overwrite = true;
    put.resume = false;
    put.size_hint = size;
    put.make_parents = true;
    return UploadWriter::begin(process_context(), user.options, path, put, user.writers.get());
  }

  void put_object(const ObjectCall& call, const ContentReader& reader) {
    if (call.key.back() == '/') {
      // A "folder" marker: an empty object whose key ends in '/' is a directory.
      std::string body;
      reader([&](const char* d, size_t n) {
        if (body.empty()) body.append(d, std::min<size_t>(n, 1));
        return true;  // read whole, so the connection stays in step
      });
      if (!body.empty())
        return call.error(invalid_argument("an object whose key ends in '/' must be empty"));
      if (call.payload_hash != "UNSIGNED-PAYLOAD" && Sha256::hex_of("") != call.payload_hash) {
        return call.error(
            S3Error{400, "XAmzContentSHA256Mismatch", "the body is not the one signed"});
      }
      Status s = call.user.client->mkdir(call.path, true);
      if (!s.is_ok()) return call.error(from_status(s, false));
      call.res.status = 200;
      call.res.set_header("ETag", quote_etag(kEmptyMd5));
      return;
    }
    auto writer = object_writer(call.user, call.path, declared_length(call.req));
    if (!writer.is_ok()) return call.error(from_status(writer.status(), false));
    auto etag = stream_body(call, reader, *writer.value());
    if (!etag.ok()) return call.error(etag.error());
    Status s = writer.value()->finish(etag.value());
    if (!s.is_ok()) return call.error(from_status(s, false));
    call.res.status = 200;
    call.res.set_header("ETag", quote_etag(etag.value()));
  }

  void get_object(UserConn& user, const Request& req, const std::string& path, Response& res,
                  const ErrorFn& error) {
    auto file = user.client->stat(path, /*for_read=*/true);
    if (!file.is_ok()) return error(from_status(file.status(), false));
    if (file->entry.is_dir()) return error(S3Error{404, "NoSuchKey", "no such key"});
    const uint64_t size = file->entry.size;
    uint64_t from = 0, to = size;
    // One range, as S3 serves: bytes=A-B, bytes=A-, bytes=-N. The library's
    // own range handling is turned off: this handler does it.
    const_cast<Request&>(req).ranges.clear();
    if (req.has_header("Range")) {
      auto range = parse_range(req.get_header_value("Range"), size);
      if (range) std::tie(from, to) = *range;
      if (from >= size && size > 0) {
        res.set_header("Content-Range", "bytes */" + std::to_string(size));
        return error(S3Error{416, "InvalidRange", "the range is not satisfiable"});
      }
      if (from > 0 || to < size) {
        res.status = 206;
        res.set_header("Content-Range", "bytes " + std::to_string(from) + "-" +
                                            std::to_string(to - 1) + "/" + std::to_string(size));
      }
    }
    if (res.status != 206) res.status = 200;
    const std::string etag =
        file->entry.etag.empty() ? (size == 0 ? kEmptyMd5 : derived_etag(*file)) : file->entry.etag;
    res.set_header("ETag", quote_etag(etag));
    res.set_header("Last-Modified", http_date(file->entry.mtime_ms));
    res.set_header("Accept-Ranges", "bytes");
    if (to == from) {  // nothing to stream (an empty object)
      res.set_content("", "binary/octet-stream");
      return;
    }
    auto held = std::make_shared<StatReply>(std::move(file).value());
    res.set_content_provider(
        static_cast<size_t>(to - from), "binary/octet-stream",
        [this, &user, path, held, from](size_t offset, size_t length, httplib::DataSink& sink) {
          // Bytes are checked block by block before they are given; a
          // failure part way ends the response short, which clients see.
          uint64_t at = from + offset;
          uint64_t n = std::min<uint64_t>(length, kStreamPiece);
          Status s = copy_range(user, path, *held, at, at + n,
                                [&](const char* d, size_t len) { return sink.write(d, len); });
          if (!s.is_ok()) spdlog::warn("GET {}: {}", path, s.to_string());
          return s.is_ok();
        });
  }

  // Removes the directories above a deleted key that it left empty, as S3
  // has no directories to leave behind.
  void prune_parents(Client& client, const std::string& bucket, std::string path) {
    const std::string root = "/" + bucket;
    for (path = parent_path(path); path != root && path != "/"; path = parent_path(path)) {
      if (!client.remove(path, false).is_ok()) break;
    }
  }

  Status delete_one(UserConn& user, const std::string& bucket, const std::string& path) {
    Status s = user.client->remove(path, false);
    if (s.code() == Code::kNotFound) return Status::ok();  // S3 deletes are idempotent
    DFS_RETURN_IF_ERROR(s);
    prune_parents(*user.client, bucket, path);
    return Status::ok();
  }

  void delete_object(UserConn& user, const std::string& bucket, const std::string& path,
                     Response& res, const ErrorFn& error) {
    Status s = delete_one(user, bucket, path);
    if (!s.is_ok()) return error(from_status(s, false));
    res.status = 204;
  }

  void delete_objects(UserConn& user, const std::string& bucket, const std::string& payload_hash,
                      const ContentReader& reader, Response& res, const ErrorFn& error) {
    auto body = read_small_body(reader, payload_hash);
    if (!body.ok()) return error(body.error());
    auto doc = parse_delete(body.value());
    if (!doc.ok()) return error(doc.error());
    XmlWriter w;
    w.open("DeleteResult", true);
    for (const auto& key : doc->keys) {
      auto path = object_path(bucket, key);
      Status s = path.ok() ? delete_one(user, bucket, path.value())
                           : Status(Code::kInvalidArgument, path.error().message);
      if (s.is_ok()) {
        if (!doc->quiet) w.open("Deleted").leaf("Key", key).close("Deleted");
      } else {
        S3Error e = from_status(s, false);
        w.open("Error")
            .leaf("Key", key)
            .leaf("Code", e.code)
            .leaf("Message", e.message)
            .close("Error");
      }
    }
    w.close("DeleteResult");
    send_xml(res, w.str());
  }

  void copy_object(UserConn& user, const std::string& bucket, const std::string& path,
                   const std::string& source, Response& res, const ErrorFn& error) {
    auto from = copy_source_path(source);
    if (!from.ok()) return error(from.error());
    auto file = user.client->stat(from.value(), /*for_read=*/true);
    if (!file.is_ok()) return error(from_status(file.status(), false));
    if (file->entry.is_dir()) return error(S3Error{404, "NoSuchKey", "no such key"});
    auto writer = object_writer(user, path, file->entry.size);
    if (!writer.is_ok()) return error(from_status(writer.status(), false));
    Md5 md5;
    Status failed;
    Status s = copy_range(user, from.value(), file.value(), 0, file->entry.size,
                          [&](const char* d, size_t n) {
                            md5.update(d, n);
                            failed = writer.value()->append(d, n);
                            return failed.is_ok();
                          });
    if (!failed.is_ok()) s = failed;
    const std::string etag = to_hex(md5.raw());
    if (s.is_ok()) s = writer.value()->finish(etag);
    if (!s.is_ok()) return error(from_status(s, false));
    (void)bucket;
    send_xml(res, XmlWriter()
                      .open("CopyObjectResult", true)
                      .leaf("LastModified", iso8601(now_s() * 1000))
                      .leaf("ETag", quote_etag(etag))
                      .close("CopyObjectResult")
                      .str());
  }

  const GatewayOptions options_;
  KeyStore credentials_;
};

}  // namespace

int run_gateway(const GatewayOptions& options) {
  auto credentials = Credentials::load(options.credentials);
  if (!credentials.is_ok()) {
    std::fprintf(stderr, "dfs-s3: --credentials: %s\n", credentials.status().message().c_str());
    return 2;
  }
  if (credentials->size() == 0) {
    std::fprintf(stderr, "dfs-s3: %s lists no access key\n", options.credentials.c_str());
    return 2;
  }
  // SIGTERM and SIGINT are taken by one thread, which stops the server;
  // every other thread (started after this) has them blocked.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  Gateway gateway(options, std::move(credentials).value());
  httplib::Server server;
  const int threads = std::max(1, options.threads);
  server.new_task_queue = [threads] {
    return new httplib::ThreadPool(static_cast<size_t>(threads));
  };
  server.set_read_timeout(60);
  server.set_write_timeout(60);
  // A connection holds a server thread while it is open, idle or not: an
  // idle one is let go after 5 s, so clients that pool connections (boto3
  // keeps ten) cannot hold every thread.
  server.set_keep_alive_timeout(5);
  server.set_keep_alive_max_count(1000);
  // Headers and a small body go out in separate writes; with Nagle's
  // algorithm the second waits for the client's delayed ACK (40 ms).
  server.set_tcp_nodelay(true);
  gateway.route(server);
  // Only PUT and POST have bodies, read by their handlers a piece at a
  // time. Any other request with a body is refused before the library
  // reads it (it would buffer all of it, signed or not).
  server.set_pre_routing_handler([](const Request& req, Response& res) {
    const bool has_body =
        req.has_header("Transfer-Encoding") ||
        (req.has_header("Content-Length") && req.get_header_value("Content-Length") != "0");
    if (has_body && req.method != "PUT" && req.method != "POST") {
      res.status = 400;
      res.set_content(
          error_document({400, "InvalidRequest", req.method + " takes no body"}, req.path, ""),
          "application/xml");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // S3's largest single PUT.
  server.set_payload_max_length(size_t{5} << 30);
  if (!server.bind_to_port(options.listen.c_str(), options.port)) {
    std::fprintf(stderr, "dfs-s3: cannot listen on %s:%d\n", options.listen.c_str(), options.port);
    return 1;
  }
  std::thread stopper([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    spdlog::info("signal {}: stopping", sig);
    server.stop();
  });
  spdlog::info("dfs-s3 serving http://{}:{} for {} access key(s)", options.listen, options.port,
               options.credentials);
  bool ok = server.listen_after_bind();
  // Wakes the stopper if the server ended on its own.
  if (stopper.joinable()) {
    pthread_kill(stopper.native_handle(), SIGTERM);
    stopper.join();
  }
  return ok ? 0 : 1;
}

}  // namespace dfs::s3
