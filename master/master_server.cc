#include "master/master_server.h"

#include <spdlog/spdlog.h>

#include "bus/process.h"
#include "bus/socket.h"

namespace dfs {

MasterServer::MasterServer(zmq::context_t& ctx, HostPort listen, MasterOptions options,
                           std::unique_ptr<Namespace> ns)
    : ctx_(ctx),
      listen_(std::move(listen)),
      log_(ns->applied_index()),
      service_(std::make_unique<MasterService>(std::move(options), std::move(ns), &log_)) {}

Status MasterServer::run() {
  SocketOptions api_opts;
  api_opts.router_mandatory = true;
  zmq::socket_t api = make_socket(ctx_, zmq::socket_type::router, api_opts);
  zmq::socket_t events = make_socket(ctx_, zmq::socket_type::sub, SocketOptions{});
  events.set(zmq::sockopt::subscribe, "hb.");
  events.set(zmq::sockopt::subscribe, "report.");
  zmq::socket_t jobs = make_socket(ctx_, zmq::socket_type::pub, SocketOptions{});
  HostPort events_at{listen_.host, listen_.port + 2}, jobs_at{listen_.host, listen_.port + 3};
  try {
    api.bind(bind_address(listen_));
    events.bind(bind_address(events_at));
    jobs.bind(bind_address(jobs_at));
  } catch (const zmq::error_t& e) {
    return Status(Code::kUnavailable, "cannot listen on " + listen_.tcp() + " (ports " +
                                          std::to_string(listen_.port) + "-" +
                                          std::to_string(listen_.port + 3) + "): " + e.what());
  }
  spdlog::info("master serving on {} (events {}, jobs {})", listen_.tcp(), events_at.tcp(),
               jobs_at.tcp());

  uint64_t bad_messages = 0;
  auto next_tick = std::chrono::steady_clock::now();
  service_->on_role(/*leader=*/true, "", next_tick);
  while (!stop_requested() && !stop_.load()) {
    zmq::pollitem_t items[] = {{api.handle(), 0, ZMQ_POLLIN, 0},
                               {events.handle(), 0, ZMQ_POLLIN, 0}};
    try {
      zmq::poll(items, 2, std::chrono::milliseconds(100));
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      return Status(Code::kInternal, std::string("poll failed: ") + e.what());
    }
    auto now = std::chrono::steady_clock::now();
    if (items[1].revents & ZMQ_POLLIN) {
      for (int i = 0; i < 256; ++i) {
        Envelope env;
        Status s = recv_envelope(events, Framing::kTopic, &env);
        if (s.code() == Code::kTimeout) break;
        if (s.is_ok() && env.header.type == MsgType::kHeartbeat) {
          auto hb = decode<Heartbeat>(env.body);
          s = hb.status();
          if (hb.is_ok()) service_->on_heartbeat(hb.value(), now);
        } else if (s.is_ok() && env.header.type == MsgType::kChunkReport) {
          auto report = decode<ChunkReport>(env.body);
          s = report.status();
          if (report.is_ok()) service_->on_chunk_report(report.value());
        } else if (s.is_ok()) {
          s = protocol_error("unexpected " + std::string(msg_type_name(env.header.type)));
        }
        if (!s.is_ok() && ++bad_messages % 100 == 1) {
          spdlog::warn("dropping a bad message on the events socket: {}", s.to_string());
        }
      }
    }
    if (items[0].revents & ZMQ_POLLIN) {
      for (int i = 0; i < 64; ++i) {
        Envelope env;
        Status s = recv_envelope(api, Framing::kRouted, &env);
        if (s.code() == Code::kTimeout) break;
        if (s.is_ok()) {
          service_->handle(env, now);
          continue;
        }
        if (++bad_messages % 100 == 1) spdlog::warn("bad api request: {}", s.to_string());
        if (!env.routing_id.empty()) {
          (void)send_envelope(api, Framing::kRouted, make_error_reply(env, s));
        }
      }
    }
    if (now >= next_tick) {
      service_->tick(now);
      next_tick = now + std::chrono::milliseconds(200);
    }
    log_.deliver(*service_);
    for (auto& reply : service_->take_replies()) {
      if (!send_envelope(api, Framing::kRouted, std::move(reply)).is_ok()) {
        spdlog::debug("client went away before its reply");
      }
    }
    for (auto& msg : service_->take_outbox()) {
      if (!send_envelope(jobs, Framing::kTopic, std::move(msg)).is_ok()) {
        spdlog::debug("a published message was dropped (queue full)");
      }
    }
  }
  spdlog::info("master stopped");
  return Status::ok();
}

}  // namespace dfs
