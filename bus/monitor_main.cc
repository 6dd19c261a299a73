// dfs-monitor: taps the bus. Subscribes to every master's jobs PUB and prints
// each cluster event (and, with --jobs, each job) as it is published.
#include <cstdio>
#include <iostream>

#include "bus/endpoints.h"
#include "bus/process.h"
#include "bus/socket.h"
#include "bus/wire.h"

namespace {

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) out += c;
  }
  return out;
}

}  // namespace

static int run(int argc, char** argv) {
  using namespace dfs;
  po::options_description desc("dfs-monitor options");
  desc.add_options()  //
      ("masters", po::value<std::string>()->default_value("127.0.0.1:7400"),
       "comma-separated master api endpoints")                            //
      ("jobs", "show jobs sent to workers too, not only cluster events")  //
      ("json", "one JSON object per line")                                //
      ("count", po::value<int>()->default_value(0),
       "exit after this many messages (0: run until stopped)");
  po::variables_map vm;
  Status s =
      parse_options(argc, argv, desc, &vm, "usage: dfs-monitor [--masters LIST] [--jobs] [--json]");
  if (s.code() == Code::kCancelled) return 0;
  auto masters = s.is_ok() ? parse_endpoint_list(vm["masters"].as<std::string>())
                           : Result<std::vector<HostPort>>(s);
  if (!masters.is_ok()) {
    std::fprintf(stderr, "dfs-monitor: %s\n", masters.status().message().c_str());
    return 2;
  }
  install_stop_signals();
  zmq::context_t ctx(1);
  zmq::socket_t sub = make_socket(ctx, zmq::socket_type::sub, SocketOptions{});
  sub.set(zmq::sockopt::subscribe, "event.");
  if (vm.count("jobs")) sub.set(zmq::sockopt::subscribe, "job.");
  for (const auto& m : masters.value()) sub.connect(master_jobs(m));
  bool json = vm.count("json") > 0;
  int limit = vm["count"].as<int>(), seen = 0;
  uint64_t bad = 0;
  while (!stop_requested() && (limit == 0 || seen < limit)) {
    zmq::pollitem_t item{sub.handle(), 0, ZMQ_POLLIN, 0};
    try {
      if (zmq::poll(&item, 1, std::chrono::milliseconds(200)) == 0) continue;
    } catch (const zmq::error_t&) {
      continue;  // interrupted by a signal
    }
    Envelope env;
    if (!recv_envelope(sub, Framing::kTopic, &env).is_ok()) {
      ++bad;
      continue;
    }
    std::string line;
    if (env.header.type == MsgType::kClusterEvent) {
      auto ev = decode<ClusterEvent>(env.body);
      if (!ev.is_ok()) {
        ++bad;
        continue;
      }
      line = json ? "{\"topic\":\"" + json_escape(env.topic) + "\",\"kind\":\"" +
                        json_escape(ev->kind) + "\",\"subject\":\"" + json_escape(ev->subject) +
                        "\",\"detail\":\"" + json_escape(ev->detail) +
                        "\",\"time_ms\":" + std::to_string(ev->time_ms) +
                        ",\"sequence\":" + std::to_string(ev->sequence) + "}"
                  : env.topic + " " + ev->subject + (ev->detail.empty() ? "" : " " + ev->detail);
    } else if (env.header.type == MsgType::kDeleteChunksJob) {
      auto job = decode<DeleteChunksJob>(env.body);
      if (!job.is_ok()) {
        ++bad;
        continue;
      }
      line = json ? "{\"topic\":\"" + json_escape(env.topic) +
                        "\",\"delete_chunks\":" + std::to_string(job->chunk_ids.size()) + "}"
                  : env.topic + " delete " + std::to_string(job->chunk_ids.size()) + " chunks";
    } else {
      continue;
    }
    std::cout << line << std::endl;
    ++seen;
  }
  if (bad > 0)
    std::fprintf(stderr, "dfs-monitor: %llu undecodable messages dropped\n",
                 static_cast<unsigned long long>(bad));
  return 0;
}

int main(int argc, char** argv) { return dfs::guarded_main("dfs-monitor", run, argc, argv); }
