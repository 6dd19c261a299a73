#include "worker/worker_server.h"

#include <spdlog/spdlog.h>

#include <fstream>
#include <thread>

#include "bus/process.h"
#include "bus/socket.h"
#include "bus/wire.h"
#include "worker/disk_pool.h"

namespace dfs {

namespace {

// A data directory belongs to one worker id for life: starting a worker on
// another's directory would make the master believe chunks moved.
Status claim_directory(const std::string& dir, const std::string& id) {
  std::string path = dir + "/worker.id";
  std::ifstream in(path);
  if (in) {
    std::string existing;
    std::getline(in, existing);
    if (existing != id) {
      return invalid_argument("directory " + dir + " belongs to worker '" + existing + "', not '" +
                              id + "'");
    }
    return Status::ok();
  }
  std::ofstream out(path);
  out << id << "\n";
  if (!out) return io_error("cannot write " + path);
  return Status::ok();
}

}  // namespace

WorkerServer::WorkerServer(zmq::context_t& ctx, WorkerConfig config)
    : ctx_(ctx), config_(std::move(config)) {}

Status WorkerServer::start() {
  auto store = ChunkStore::open({config_.dir, config_.capacity});
  if (!store.is_ok()) return store.status();
  store_ = std::move(store).value();
  DFS_RETURN_IF_ERROR(claim_directory(config_.dir, config_.id));
  spdlog::info("worker {} holds {} chunks, {} of {} bytes used", config_.id, store_->chunk_count(),
               store_->used(), store_->capacity());
  return Status::ok();
}

void WorkerServer::publish_heartbeat(zmq::socket_t& pub) {
  Heartbeat hb;
  hb.worker_id = config_.id;
  hb.endpoint = config_.listen.tcp();
  hb.capacity = store_->capacity();
  hb.used = store_->used();
  hb.chunk_count = store_->chunk_count();
  hb.sequence = ++heartbeat_seq_;
  hb.deleted = store_->take_deleted(10000);
  Envelope env = make_envelope(hb);
  env.topic = "hb." + config_.id;
  // PUB never blocks; a dropped heartbeat is harmless because the next one
  // repeats the state, but dropped deletions are re-announced by the master.
  if (!send_envelope(pub, Framing::kTopic, std::move(env)).is_ok()) {
    spdlog::debug("heartbeat dropped: publish queue full");
  }
}

void WorkerServer::report_inventory(const std::stop_token& stop) {
  zmq::socket_t pub = make_socket(ctx_, zmq::socket_type::pub, SocketOptions{});
  for (const auto& m : config_.masters) pub.connect(master_events(m));
  // The first report waits a little so the subscription is in place.
  auto next = std::chrono::steady_clock::now() +
              std::min(config_.report_interval, std::chrono::milliseconds(2000));
  while (!stop.stop_requested()) {
    if (std::chrono::steady_clock::now() < next) {
      std::this_thread::sleep_for(
          std::chrono::milliseconds(50));  // a timer tick, not a wait for a condition
      continue;
    }
    next = std::chrono::steady_clock::now() + config_.report_interval;
    std::vector<std::string> ids = store_->list();
    for (size_t i = 0; i < ids.size(); i += kMaxReportPage) {
      ChunkReport page;
      page.worker_id = config_.id;
      page.chunk_ids.assign(
          ids.begin() + static_cast<long>(i),
          ids.begin() + static_cast<long>(std::min(ids.size(), i + kMaxReportPage)));
      Envelope env = make_envelope(page);
      env.topic = "report." + config_.id;
      if (!send_envelope(pub, Framing::kTopic, std::move(env)).is_ok()) {
        spdlog::debug("inventory page dropped; the next report repeats it");
      }
    }
  }
}

Status WorkerServer::run() {
  SocketOptions data_opts;
  data_opts.router_mandatory = true;
  data_opts.recv_hwm = 256;
  data_opts.send_hwm = 256;
  zmq::socket_t data = make_socket(ctx_, zmq::socket_type::router, data_opts);
  try {
    data.bind(bind_address(config_.listen));
  } catch (const zmq::error_t& e) {
    return Status(Code::kUnavailable, "cannot listen on " + config_.listen.tcp() + ": " + e.what());
  }

  std::string reply_endpoint = "inproc://worker-replies-" + config_.id;
  zmq::socket_t replies = make_socket(ctx_, zmq::socket_type::pull, SocketOptions{});
  replies.bind(reply_endpoint);

  SocketOptions pub_opts;
  pub_opts.send_hwm = 100;
  zmq::socket_t hb_pub = make_socket(ctx_, zmq::socket_type::pub, pub_opts);
  zmq::socket_t jobs = make_socket(ctx_, zmq::socket_type::sub, SocketOptions{});
  jobs.set(zmq::sockopt::subscribe, "job." + config_.id);
  for (const auto& m : config_.masters) {
    hb_pub.connect(master_events(m));
    jobs.connect(master_jobs(m));
  }

  DiskPool pool(ctx_, store_.get(),
                DiskPool::Options{config_.disk_threads, 16, config_.idle_timeout}, reply_endpoint);
  spdlog::info("worker {} serving on {}", config_.id, config_.listen.tcp());

  // Stopped and joined when run() returns, by whichever path.
  std::jthread reporter([this](const std::stop_token& stop) { report_inventory(stop); });
  auto next_heartbeat = std::chrono::steady_clock::now();
  uint64_t dropped_replies = 0;
  while (!stop_requested() && !stop_.load()) {
    auto now = std::chrono::steady_clock::now();
    if (now >= next_heartbeat) {
      publish_heartbeat(hb_pub);
      next_heartbeat = now + config_.heartbeat_interval;
    }
    bool room = pool.has_room();
    zmq::pollitem_t items[] = {{replies.handle(), 0, ZMQ_POLLIN, 0},
                               {jobs.handle(), 0, ZMQ_POLLIN, 0},
                               {data.handle(), 0, static_cast<short>(room ? ZMQ_POLLIN : 0), 0}};
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_heartbeat - now);
    wait = std::clamp(wait, std::chrono::milliseconds(0), std::chrono::milliseconds(100));
    try {
      zmq::poll(items, 3, wait);
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      return Status(Code::kInternal, std::string("poll failed: ") + e.what());
    }
    if (items[0].revents & ZMQ_POLLIN) {
      // Forward every ready reply; the frames are already [routing][header][body][data].
      for (int i = 0; i < 64; ++i) {
        std::vector<zmq::message_t> frames;
        if (!zmq::recv_multipart(replies, std::back_inserter(frames), zmq::recv_flags::dontwait))
          break;
        try {
          if (!zmq::send_multipart(data, frames, zmq::send_flags::dontwait)) ++dropped_replies;
        } catch (const zmq::error_t&) {
          ++dropped_replies;  // the client went away; it will time out and retry
        }
      }
    }
    if (items[1].revents & ZMQ_POLLIN) {
      Envelope env;
      Status s = recv_envelope(jobs, Framing::kTopic, &env);
      if (s.is_ok() && env.header.type == MsgType::kDeleteChunksJob) {
        auto job = decode<DeleteChunksJob>(env.body);
        if (job.is_ok() && job->worker_id == config_.id) {
          if (!pool.submit_delete(std::move(job->chunk_ids))) {
            spdlog::debug("disk queues full; the master will re-send the delete job");
          }
        } else if (!job.is_ok()) {
          spdlog::warn("dropping a bad delete job: {}", job.status().to_string());
        }
      } else if (!s.is_ok() && s.code() != Code::kTimeout) {
        spdlog::warn("dropping a bad message on the jobs topic: {}", s.to_string());
      }
    }
    if (items[2].revents & ZMQ_POLLIN) {
      for (int i = 0; i < 64 && pool.has_room(); ++i) {
        Envelope env;
        Status s = recv_envelope(data, Framing::kRouted, &env);
        if (s.code() == Code::kTimeout) break;
        if (!s.is_ok()) {
          spdlog::warn("bad request on the data socket: {}", s.to_string());
          if (!env.routing_id.empty() && env.header.request_id != 0) {
            if (!send_envelope(data, Framing::kRouted, make_error_reply(env, s)).is_ok()) {
              ++dropped_replies;
            }
          }
          continue;
        }
        if (!pool.submit_request(env)) {
          Status busy(Code::kUnavailable, "worker " + config_.id + " is busy; try again");
          if (!send_envelope(data, Framing::kRouted, make_error_reply(env, busy)).is_ok()) {
            ++dropped_replies;
          }
        }
      }
    }
  }
  spdlog::info("worker {} stopping: finishing queued work", config_.id);
  reporter.request_stop();
  pool.stop();
  // Answers produced while stopping still reach their clients.
  while (true) {
    std::vector<zmq::message_t> frames;
    if (!zmq::recv_multipart(replies, std::back_inserter(frames), zmq::recv_flags::dontwait)) break;
    try {
      zmq::send_multipart(data, frames, zmq::send_flags::dontwait);
    } catch (const zmq::error_t&) {
    }
  }
  if (dropped_replies > 0) spdlog::info("{} replies could not be delivered", dropped_replies);
  spdlog::info("worker {} stopped", config_.id);
  return Status::ok();
}

}  // namespace dfs
