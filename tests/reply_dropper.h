// A man in the middle between clients and the master, over real sockets,
// that loses the first reply to each kind of request it is told to: the
// request applies on the master, its answer never arrives. What a reply lost
// to a network fault or a crash after commit looks like to a client.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "bus/endpoints.h"
#include "bus/socket.h"
#include "bus/wire.h"

namespace dfs::test {

class ReplyDropper {
 public:
  ReplyDropper(zmq::context_t& ctx, int listen_port, const std::string& master,
               std::set<MsgType> drop_first)
      : drop_(std::move(drop_first)) {
    SocketOptions router_opts;
    router_opts.router_mandatory = true;
    front_ = make_socket(ctx, zmq::socket_type::router, router_opts);
    front_.bind("tcp://127.0.0.1:" + std::to_string(listen_port));
    back_ = make_socket(ctx, zmq::socket_type::dealer, SocketOptions{});
    back_.connect(master);
    thread_ = std::thread([this] { run(); });
  }
  ~ReplyDropper() {
    stop_ = true;
    thread_.join();
  }
  int dropped() const { return dropped_.load(); }

 private:
  void run() {
    std::map<uint64_t, std::string> clients;  // request id -> client routing id
    std::set<uint64_t> to_drop;
    while (!stop_) {
      zmq::pollitem_t items[] = {{front_.handle(), 0, ZMQ_POLLIN, 0},
                                 {back_.handle(), 0, ZMQ_POLLIN, 0}};
      zmq::poll(items, 2, std::chrono::milliseconds(20));
      if (items[0].revents & ZMQ_POLLIN) {
        Envelope env;
        if (recv_envelope(front_, Framing::kRouted, &env).is_ok()) {
          clients[env.header.request_id] = env.routing_id;
          if (drop_.erase(env.header.type)) to_drop.insert(env.header.request_id);
          (void)send_envelope(back_, Framing::kPlain, std::move(env));
        }
      }
      if (items[1].revents & ZMQ_POLLIN) {
        Envelope env;
        if (recv_envelope(back_, Framing::kPlain, &env).is_ok()) {
          uint64_t id = env.header.request_id;
          if (to_drop.erase(id)) {
            ++dropped_;
            continue;
          }
          auto it = clients.find(id);
          if (it == clients.end()) continue;
          env.routing_id = it->second;
          clients.erase(it);
          (void)send_envelope(front_, Framing::kRouted, std::move(env));
        }
      }
    }
  }

  std::set<MsgType> drop_;
  zmq::socket_t front_, back_;
  std::atomic<bool> stop_{false};
  std::atomic<int> dropped_{0};
  std::thread thread_;
};

}  // namespace dfs::test
