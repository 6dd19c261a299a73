// Small files per second: 4 KiB PUTs and GETs through the S3 gateway at
// C concurrent HTTP clients, next to the same through the client library in
// this process, as the gateway itself makes them, at the same concurrency:
// puts (UploadWriter told the size, connections pooled), gets (a stat and a
// ranged read on held connections), stats, and deletes of every file the
// put phase wrote. Prints ops/s and p50/p99 latency per phase; asserts
// nothing, but a failed operation is counted and printed. Without
// --endpoint, only the library's phases run.
//
// Each S3 client is a thread with its own keep-alive connection that signs
// every request with SigV4, as awscli and boto3 do.
//
//   build/bin/s3_small_bench [--endpoint HOST:PORT --access-key K --secret S]
//                            --masters H:P[,...] [--clients 16] [--seconds 3] [--size 4096]
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench/figures.h"
#include "bus/endpoints.h"
#include "bus/process.h"
#include "bus/security.h"
#include "bus/socket.h"
#include "client/client.h"
#include "client/file_range.h"
#include "client/s3/sigv4.h"
#include "client/upload_writer.h"
#include "codec/sha256.h"

namespace dfs {
namespace {

using Clock = std::chrono::steady_clock;

// The first failure of a phase, printed with its figures.
std::mutex first_failure_mu;
std::string first_failure;
bool failed(const std::string& why) {
  std::lock_guard<std::mutex> lock(first_failure_mu);
  if (first_failure.empty()) first_failure = why;
  return false;
}

// Runs op(client, i) from `clients` threads until `seconds` pass (or, with
// `more`, until more(client, i) is false).
Figures run_phase(int clients, double seconds, const std::function<bool(int, uint64_t)>& op,
                  const std::function<bool(int, uint64_t)>& more = {}) {
  std::vector<std::vector<double>> latencies(clients);
  std::atomic<uint64_t> failures{0};
  const auto start = Clock::now();
  const auto deadline =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      for (uint64_t i = 0; Clock::now() < deadline && (!more || more(c, i)); ++i) {
        auto t0 = Clock::now();
        if (!op(c, i)) ++failures;
        latencies[c].push_back(
            std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      }
    });
  }
  for (auto& t : threads) t.join();
  return summarize(latencies, failures,
                   std::chrono::duration<double>(Clock::now() - start).count());
}

void print(const char* name, int clients, const Figures& f) {
  std::printf("%-10s c=%-3d %8.0f ops/s  p50 %6.2f ms  p99 %6.2f ms  (%llu ops, %llu failed)\n",
              name, clients, f.seconds > 0 ? static_cast<double>(f.ops) / f.seconds : 0.0, f.p50_ms,
              f.p99_ms, static_cast<unsigned long long>(f.ops),
              static_cast<unsigned long long>(f.failures));
  std::lock_guard<std::mutex> lock(first_failure_mu);
  if (!first_failure.empty()) std::printf("           first failure: %s\n", first_failure.c_str());
  first_failure.clear();
}

// SigV4 in the Authorization header, as an S3 client signs.
class S3Signer {
 public:
  S3Signer(std::string access_key, std::string secret)
      : access_key_(std::move(access_key)), secret_(std::move(secret)) {}

  httplib::Headers sign(const std::string& method, const std::string& path, const std::string& host,
                        const std::string& body) const {
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char stamp[17], date[9];
    std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    std::strftime(date, sizeof date, "%Y%m%d", &tm);
    const std::string payload = Sha256::hex_of(body);
    httplib::Headers headers{
        {"Host", host}, {"x-amz-date", stamp}, {"x-amz-content-sha256", payload}};
    s3::SignedRequest req{method,
                          path,
                          {},
                          [&](const std::string& name) -> std::optional<std::string> {
                            if (name == "host") return host;
                            if (name == "x-amz-date") return std::string(stamp);
                            if (name == "x-amz-content-sha256") return payload;
                            return std::nullopt;
                          },
                          {"host", "x-amz-content-sha256", "x-amz-date"}};
    const std::vector<std::string> signed_headers{"host", "x-amz-content-sha256", "x-amz-date"};
    const std::string scope = std::string(date) + "/us-east-1/s3/aws4_request";
    const std::string to_sign = std::string("AWS4-HMAC-SHA256\n") + stamp + "\n" + scope + "\n" +
                                Sha256::hex_of(s3::canonical_request(req, signed_headers, payload,
                                                                     /*presigned=*/false));
    headers.emplace("Authorization",
                    "AWS4-HMAC-SHA256 Credential=" + access_key_ + "/" + scope +
                        ", SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=" +
                        s3::signature(secret_, date, "us-east-1", to_sign));
    return headers;
  }

 private:
  std::string access_key_, secret_;
};

int run(int argc, char** argv) {
  std::string endpoint, access_key, secret, masters;
  int clients = 16;
  double seconds = 3;
  size_t size = 4096;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--endpoint") {
      endpoint = value;
    } else if (flag == "--access-key") {
      access_key = value;
    } else if (flag == "--secret") {
      secret = value;
    } else if (flag == "--masters") {
      masters = value;
    } else if (flag == "--clients") {
      clients = std::max(1, std::atoi(value.c_str()));
    } else if (flag == "--seconds") {
      seconds = std::atof(value.c_str());
    } else if (flag == "--size") {
      size = static_cast<size_t>(std::atol(value.c_str()));
    } else {
      std::fprintf(stderr, "s3_small_bench: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  auto list = parse_endpoint_list(masters);
  const bool s3 = !endpoint.empty();
  const size_t colon = endpoint.rfind(':');
  if (!list.is_ok() || (s3 && (colon == std::string::npos || access_key.empty()))) {
    std::fprintf(stderr,
                 "s3_small_bench: needs --masters, and with --endpoint HOST:PORT, --access-key "
                 "and --secret\n");
    return 2;
  }
  Status secured = init_security(security_flags_from_env(), "s3_small_bench");
  if (!secured.is_ok()) {
    std::fprintf(stderr, "s3_small_bench: %s\n", secured.message().c_str());
    return 2;
  }
  const std::string host = s3 ? endpoint.substr(0, colon) : "";
  const int port = s3 ? std::atoi(endpoint.substr(colon + 1).c_str()) : 0;
  const S3Signer signer(access_key, secret);
  std::string body(size, 'x');
  std::mt19937_64 fill(42);
  for (auto& ch : body) ch = static_cast<char>(fill());

  ClientOptions options;
  options.masters = list.value();
  std::printf("%zu-byte objects, %d concurrent clients, %.0f s a phase\n", size, clients, seconds);
  Figures put, get;
  std::vector<uint64_t> s3_written(clients, 0), lib_written(clients, 0);
  // Reads spread over every key written, whoever wrote it.
  auto pick = [clients](const std::vector<uint64_t>& written, int c, uint64_t i) {
    for (int k = 0; k < clients; ++k) {
      int owner = (c + k) % clients;
      if (written[owner] > 0) return std::make_pair(owner, (i * 7919) % written[owner]);
    }
    return std::make_pair(-1, uint64_t{0});
  };
  // Through S3: the bucket, then each client's PUTs and GETs of its own keys.
  if (s3) {
    {
      httplib::Client bucket(host, port);
      (void)bucket.Put("/smallbench", signer.sign("PUT", "/smallbench", endpoint, ""), "", "");
    }
    // One connection per client slot, not per thread: a block-scope
    // thread_local is never destroyed in a thread that did not pass its
    // declaration, so each phase's threads would leak theirs.
    std::vector<std::unique_ptr<httplib::Client>> https(clients);
    auto connection = [&](int c) -> httplib::Client& {
      auto& http = https[c];
      if (!http) {
        http = std::make_unique<httplib::Client>(host, port);
        http->set_keep_alive(true);
        // As awscli and boto3 (urllib3) do: a body sent after its headers is
        // not held back for the gateway's delayed ACK.
        http->set_tcp_nodelay(true);
      }
      return *http;
    };
    // A connection left open holds one of the gateway's threads until its
    // keep-alive ends: each phase closes its own.
    auto hang_up = [&] {
      for (auto& http : https) {
        if (http) http->stop();
        http.reset();
      }
    };
    auto s3_key = [](int c, uint64_t i) {
      return "/smallbench/s3/c" + std::to_string(c) + "/" + std::to_string(i);
    };
    put = run_phase(clients, seconds, [&](int c, uint64_t i) {
      const std::string path = s3_key(c, i);
      auto r = connection(c).Put(path, signer.sign("PUT", path, endpoint, body), body,
                                 "application/octet-stream");
      if (!r) return failed("PUT " + path + ": " + httplib::to_string(r.error()));
      if (r->status != 200)
        return failed("PUT " + path + ": " + std::to_string(r->status) + " " + r->body);
      s3_written[c] = i + 1;
      return true;
    });
    hang_up();
    print("s3 put", clients, put);
    get = run_phase(clients, seconds, [&](int c, uint64_t i) {
      auto [owner, n] = pick(s3_written, c, i);
      if (owner < 0) return failed("no object was written");
      const std::string path = s3_key(owner, n);
      auto r = connection(c).Get(path, signer.sign("GET", path, endpoint, ""));
      if (!r) return failed("GET " + path + ": " + httplib::to_string(r.error()));
      if (r->status != 200)
        return failed("GET " + path + ": " + std::to_string(r->status) + " " + r->body);
      return r->body == body || failed("GET " + path + ": other bytes");
    });
    hang_up();
    print("s3 get", clients, get);
  }

  // Through the library: an upload and a ranged read per object.
  Client setup(options);
  for (int c = 0; c < clients; ++c)
    (void)setup.mkdir("/smallbench/lib/c" + std::to_string(c), true);
  // Each client keeps its connections from phase to phase, as the
  // gateway's threads do.
  std::vector<std::unique_ptr<Client>> libs(clients);
  std::vector<std::unique_ptr<TransferContext>> transfers(clients);
  auto library = [&](int c) -> Client& {
    if (!libs[c]) {
      libs[c] = std::make_unique<Client>(options);
      transfers[c] = std::make_unique<TransferContext>(process_context(), options.masters,
                                                       options.timeout, options.identity);
    }
    return *libs[c];
  };
  auto lib_path = [](int c, uint64_t i) {
    return "/smallbench/lib/c" + std::to_string(c) + "/" + std::to_string(i);
  };
  PutOptions put_options;
  put_options.resume = false;
  put_options.overwrite = true;
  put_options.size_hint = body.size();
  TransferPool writers(process_context(), options.masters, options.timeout, options.identity);
  Figures lib_put = run_phase(clients, seconds, [&](int c, uint64_t i) {
    auto writer =
        UploadWriter::begin(process_context(), options, lib_path(c, i), put_options, &writers);
    if (!writer.is_ok()) return failed(writer.status().to_string());
    Status s = writer.value()->append(body.data(), body.size());
    if (s.is_ok()) s = writer.value()->finish();
    if (!s.is_ok()) return failed(s.to_string());
    lib_written[c] = i + 1;
    return true;
  });
  print("lib put", clients, lib_put);
  Figures lib_get = run_phase(clients, seconds, [&](int c, uint64_t i) {
    auto [owner, n] = pick(lib_written, c, i);
    if (owner < 0) return failed("no file was written");
    std::string got;
    const std::string path = lib_path(owner, n);
    auto file = library(c).stat(path, /*for_read=*/true);
    if (!file.is_ok()) return failed(file.status().to_string());
    Status s = read_file_range(*transfers[c], options, path, file.value(), 0, size,
                               [&](const char* d, size_t len) {
                                 got.append(d, len);
                                 return Status::ok();
                               });
    if (!s.is_ok()) return failed(s.to_string());
    return got == body || failed("read other bytes");
  });
  print("lib get", clients, lib_get);
  Figures lib_stat = run_phase(clients, seconds, [&](int c, uint64_t i) {
    auto [owner, n] = pick(lib_written, c, i);
    if (owner < 0) return failed("no file was written");
    auto file = library(c).stat(lib_path(owner, n));
    return file.is_ok() || failed(file.status().to_string());
  });
  print("lib stat", clients, lib_stat);
  // Each client deletes what it wrote, from its first file on, until the
  // time is up or none is left.
  Figures lib_delete = run_phase(
      clients, seconds,
      [&](int c, uint64_t i) {
        Status s = library(c).remove(lib_path(c, i), /*recursive=*/false);
        return s.is_ok() || failed(s.to_string());
      },
      [&](int c, uint64_t i) { return i < lib_written[c]; });
  print("lib delete", clients, lib_delete);
  if (!s3) return 0;
  auto rate = [](const Figures& f) { return f.seconds > 0 ? f.ops / f.seconds : 0.0; };
  std::printf("s3 as a share of the library: put %.0f%%, get %.0f%%\n",
              rate(lib_put) > 0 ? 100 * rate(put) / rate(lib_put) : 0.0,
              rate(lib_get) > 0 ? 100 * rate(get) / rate(lib_get) : 0.0);
  return 0;
}

}  // namespace
}  // namespace dfs

int main(int argc, char** argv) { return dfs::run(argc, argv); }
