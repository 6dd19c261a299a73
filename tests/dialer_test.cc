// Dialer (bus/dialer.h): a socket made afresh dials every endpoint again.
#include "bus/dialer.h"

#include <gtest/gtest.h>

#include "bus/socket.h"

namespace dfs {
namespace {

using namespace std::chrono;

// Publishes on `pub` until `sub` receives it, within `limit`.
bool reaches(zmq::socket_t& pub, zmq::socket_t& sub, milliseconds limit = milliseconds(5000)) {
  auto deadline = steady_clock::now() + limit;
  while (steady_clock::now() < deadline) {
    pub.send(zmq::str_buffer("topic.x"), zmq::send_flags::dontwait);
    zmq::pollitem_t item{sub.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, milliseconds(50));
    zmq::message_t m;
    if (sub.recv(m, zmq::recv_flags::dontwait)) return true;
  }
  return false;
}

TEST(DialerTest, ARedialMakesTheSocketAfreshAndDialsEveryEndpointAgain) {
  zmq::context_t ctx(1);
  zmq::socket_t first = make_socket(ctx, zmq::socket_type::pub, SocketOptions{});
  zmq::socket_t second = make_socket(ctx, zmq::socket_type::pub, SocketOptions{});
  first.bind("tcp://127.0.0.1:*");
  second.bind("tcp://127.0.0.1:*");
  int made = 0;
  Dialer dialer(ctx, [&] {
    ++made;
    zmq::socket_t s = make_socket(ctx, zmq::socket_type::sub, SocketOptions{});
    s.set(zmq::sockopt::subscribe, "topic.");
    return s;
  });
  ASSERT_TRUE(dialer.dial(first.get(zmq::sockopt::last_endpoint), "").is_ok());
  ASSERT_TRUE(dialer.dial(second.get(zmq::sockopt::last_endpoint), "").is_ok());
  ASSERT_TRUE(reaches(first, dialer.socket()));
  ASSERT_TRUE(reaches(second, dialer.socket()));

  dialer.redial();
  EXPECT_EQ(made, 2);
  // Both servers reach the new socket, subscribed as the first was.
  EXPECT_TRUE(reaches(first, dialer.socket()));
  EXPECT_TRUE(reaches(second, dialer.socket()));
}

}  // namespace
}  // namespace dfs
