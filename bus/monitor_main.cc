// dfs-monitor: taps the bus. Subscribes to every master's jobs PUB and shows
// what the cluster does: on a terminal, a live screen (workers with state,
// load and space; repair; recent events) redrawn in place; otherwise one
// line per event (--json: one JSON object per line). Events carry the
// leader's (epoch, sequence): on joining, after a gap, or under a new
// leader, the monitor fetches the cluster state from the leader over DEALER
// and goes on from there (the Clone pattern). Connections to the masters
// made and lost (ZeroMQ's socket monitor) are shown too.
#include <unistd.h>

#include <sys/ioctl.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <vector>

#include "bus/connection_watch.h"
#include "bus/dialer.h"
#include "bus/endpoints.h"
#include "bus/event_sequencer.h"
#include "bus/monitor_view.h"
#include "bus/process.h"
#include "bus/rpc_client.h"
#include "bus/security.h"
#include "bus/socket.h"
#include "bus/wire.h"

namespace dfs {
namespace {

using Clock = std::chrono::steady_clock;

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) out += c;
  }
  return out;
}

std::string quoted(const std::string& s) { return "\"" + json_escape(s) + "\""; }

// The cluster state from whichever master leads: each master is asked in
// turn, starting with the one that answered last; followers refuse.
class StatusSource {
 public:
  StatusSource(zmq::context_t& ctx, const std::vector<HostPort>& masters) {
    for (const auto& m : masters) {
      auto key = process_security().master_key(m);
      clients_.push_back(std::make_unique<RpcClient>(
          ctx, master_api(m), key.is_ok() ? key.value() : "", std::chrono::milliseconds(300), 4));
    }
  }

  Result<ClusterStatusReply> fetch() {
    Status last = Status(Code::kUnavailable, "no master answered");
    for (size_t i = 0; i < clients_.size(); ++i) {
      size_t n = (leader_ + i) % clients_.size();
      auto rep = clients_[n]->call<ClusterStatusRequest, ClusterStatusReply>(
          ClusterStatusRequest{}, std::chrono::milliseconds(1000));
      if (rep.is_ok()) {
        leader_ = n;
        return rep;
      }
      last = rep.status();
    }
    return last;
  }

 private:
  std::vector<std::unique_ptr<RpcClient>> clients_;
  size_t leader_ = 0;
};

size_t terminal_width() {
  winsize ws{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20) return ws.ws_col;
  return 100;
}

// How each thing seen is written: one line per event, as text or JSON, or
// into the live screen.
class Output {
 public:
  enum class Mode { kText, kJson, kLive };
  explicit Output(Mode mode) : mode_(mode) {}
  Mode mode() const { return mode_; }

  // `apply`: newer than the last picture, so it changes what the screen shows.
  void event(const std::string& topic, const ClusterEvent& ev, bool apply) {
    if (mode_ == Mode::kLive) return view_.on_event(ev, apply);
    if (mode_ == Mode::kJson) {
      emit("{\"topic\":" + quoted(topic) + ",\"kind\":" + quoted(ev.kind) +
           ",\"subject\":" + quoted(ev.subject) + ",\"detail\":" + quoted(ev.detail) +
           ",\"time_ms\":" + std::to_string(ev.time_ms) + ",\"sequence\":" +
           std::to_string(ev.sequence) + ",\"epoch\":" + std::to_string(ev.epoch) + "}");
    } else {
      emit(topic + " " + ev.subject + (ev.detail.empty() ? "" : " " + ev.detail));
    }
  }
  void job(const std::string& topic, size_t chunks) {
    if (mode_ == Mode::kLive) return;
    emit(mode_ == Mode::kJson
             ? "{\"topic\":" + quoted(topic) + ",\"delete_chunks\":" + std::to_string(chunks) + "}"
             : topic + " delete " + std::to_string(chunks) + " chunks");
  }
  // A note of the monitor's own: kind is "connected", "disconnected", "gap"...
  void note(const std::string& kind, const std::string& subject, const std::string& detail) {
    if (mode_ == Mode::kLive) {
      view_.note(kind + " " + subject + (detail.empty() ? "" : " " + detail));
    } else if (mode_ == Mode::kJson) {
      emit("{\"kind\":" + quoted("monitor." + kind) + ",\"subject\":" + quoted(subject) +
           ",\"detail\":" + quoted(detail) + "}");
    } else {
      emit("monitor." + kind + " " + subject + (detail.empty() ? "" : " " + detail));
    }
  }
  void snapshot(const ClusterStatusReply& st) {
    if (mode_ == Mode::kLive) return view_.on_status(st);
    std::string workers;
    for (const auto& w : st.workers) {
      if (mode_ == Mode::kJson) {
        workers += std::string(workers.empty() ? "" : ",") + "{\"id\":" + quoted(w.id) +
                   ",\"state\":" + quoted(w.state) +
                   ",\"draining\":" + (w.draining ? "true" : "false") + "}";
      } else {
        workers += " " + w.id + "=" + w.state + (w.draining ? "/draining" : "");
      }
    }
    if (mode_ == Mode::kJson) {
      emit("{\"kind\":\"monitor.snapshot\",\"subject\":" + quoted(st.master_id) + ",\"epoch\":" +
           std::to_string(st.event_epoch) + ",\"sequence\":" + std::to_string(st.event_sequence) +
           ",\"workers\":[" + workers + "]}");
    } else {
      emit("monitor.snapshot " + st.master_id + " sequence " + std::to_string(st.event_sequence) +
           workers);
    }
  }
  void redraw() {
    if (mode_ != Mode::kLive) return;
    // Home and clear, then the screen: redrawn in place.
    std::cout << "\x1b[H\x1b[2J" << view_.render(terminal_width()) << std::flush;
  }

 private:
  void emit(const std::string& line) { std::cout << line << std::endl; }
  Mode mode_;
  MonitorView view_;
};

int run(int argc, char** argv) {
  po::options_description desc("dfs-monitor options");
  add_security_options(desc);
  desc.add_options()  //
      ("masters",
       po::value<std::string>()->default_value("127.0.0.1:7400,127.0.0.1:7404,127.0.0.1:7408"),
       "comma-separated master api endpoints")                            //
      ("jobs", "show jobs sent to workers too, not only cluster events")  //
      ("json", "one JSON object per line")                                //
      ("lines", "one line per event even on a terminal (no live screen)")(
          "count", po::value<int>()->default_value(0),
          "exit after this many events (0: run until stopped)");
  po::variables_map vm;
  Status s = parse_options(argc, argv, desc, &vm,
                           "usage: dfs-monitor [--masters LIST] [--jobs] [--json] [--lines]",
                           /*find_local_config=*/true);
  if (s.is_ok()) s = init_security(security_flags(vm), "dfs-monitor");
  if (s.code() == Code::kCancelled) return 0;
  auto masters = s.is_ok() ? parse_endpoint_list(vm["masters"].as<std::string>())
                           : Result<std::vector<HostPort>>(s);
  if (!masters.is_ok()) {
    std::fprintf(stderr, "dfs-monitor: %s\n", masters.status().message().c_str());
    return 2;
  }
  install_stop_signals();
  Output::Mode mode = vm.count("json")                              ? Output::Mode::kJson
                      : vm.count("lines") || !isatty(STDOUT_FILENO) ? Output::Mode::kText
                                                                    : Output::Mode::kLive;
  Output out(mode);
  zmq::context_t ctx(1);
  // Its watch also shows the monitor's own connections.
  Dialer dialer(ctx, [&] {
    zmq::socket_t sub = make_socket(ctx, zmq::socket_type::sub, SocketOptions{});
    sub.set(zmq::sockopt::subscribe, "event.");
    if (vm.count("jobs")) sub.set(zmq::sockopt::subscribe, "job.");
    return sub;
  });
  for (const auto& m : masters.value()) {
    s = dialer.dial_master(master_jobs(m), m);
    if (!s.is_ok()) {
      std::fprintf(stderr, "dfs-monitor: %s\n", s.message().c_str());
      return 2;
    }
  }
  StatusSource source(ctx, masters.value());
  EventSequencer sequencer;

  bool answered = true;  // the last fetch succeeded: a failure is noted once
  auto refresh = [&]() {
    auto st = source.fetch();
    if (!st.is_ok()) {
      if (answered) out.note("no-snapshot", "", st.status().message());
      answered = false;
      return;
    }
    answered = true;
    sequencer.on_snapshot(st->event_epoch, st->event_sequence);
    out.snapshot(st.value());
  };
  refresh();  // subscribed first: nothing after this picture is missed unseen
  int limit = vm["count"].as<int>(), seen = 0;
  uint64_t bad = 0;
  // The live screen: a fresh picture every second, and redrawn for new
  // events at most five times a second.
  auto next_refresh = Clock::now();
  auto next_redraw = next_refresh;
  bool stale_screen = false;
  while (!stop_requested() && (limit == 0 || seen < limit)) {
    if (mode == Output::Mode::kLive) {
      auto now = Clock::now();
      if (now >= next_refresh) {
        refresh();
        stale_screen = true;
        next_refresh = now + std::chrono::seconds(1);
      }
      if (stale_screen && now >= next_redraw) {
        out.redraw();
        stale_screen = false;
        next_redraw = now + std::chrono::milliseconds(200);
      }
    }
    dialer.redial_refused(std::chrono::steady_clock::now());  // before polling its socket
    zmq::pollitem_t items[] = {{dialer.socket().handle(), 0, ZMQ_POLLIN, 0},
                               {dialer.watch().handle(), 0, ZMQ_POLLIN, 0}};
    try {
      zmq::poll(items, 2, std::chrono::milliseconds(200));
    } catch (const zmq::error_t&) {
      continue;  // interrupted by a signal
    }
    if (items[1].revents & ZMQ_POLLIN) {
      for (const auto& c : dialer.watch().take_changes()) {
        out.note(c.connected ? "connected" : "disconnected", c.endpoint, "");
        stale_screen = true;
      }
    }
    if (!(items[0].revents & ZMQ_POLLIN)) continue;
    stale_screen = true;
    Envelope env;
    if (!recv_envelope(dialer.socket(), Framing::kTopic, &env).is_ok()) {
      ++bad;
      continue;
    }
    if (env.header.type == MsgType::kClusterEvent) {
      auto ev = decode<ClusterEvent>(env.body);
      if (!ev.is_ok()) {
        ++bad;
        continue;
      }
      auto verdict = sequencer.on_event(ev->epoch, ev->sequence);
      if (!verdict.show) continue;  // seen already, or from before we joined
      if (verdict.missed > 0) {
        out.note("gap", std::to_string(verdict.missed) + " events missed",
                 "before sequence " + std::to_string(ev->sequence));
      }
      out.event(env.topic, ev.value(), verdict.apply);
      ++seen;
      if (verdict.need_snapshot) refresh();
    } else if (env.header.type == MsgType::kDeleteChunksJob) {
      auto job = decode<DeleteChunksJob>(env.body);
      if (!job.is_ok()) {
        ++bad;
        continue;
      }
      out.job(env.topic, job->chunk_ids.size());
      ++seen;
    }
  }
  if (bad > 0)
    std::fprintf(stderr, "dfs-monitor: %llu undecodable messages dropped\n",
                 static_cast<unsigned long long>(bad));
  return 0;
}

}  // namespace
}  // namespace dfs

int main(int argc, char** argv) { return dfs::guarded_main("dfs-monitor", dfs::run, argc, argv); }
