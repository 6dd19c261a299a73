// A request to a peer that is gone ends at once, not at its timeout: the
// connection watch sees a refused connect and a dropped connection.
#include <gtest/gtest.h>

#include "bus/endpoints.h"
#include "bus/rpc_client.h"
#include "bus/socket.h"

namespace dfs {
namespace {

using std::chrono::milliseconds;

// A port nothing listens on: bound, then closed. ZeroMQ closes a socket's
// listener on its I/O thread some time after the socket is closed, so the
// bind is made in a context of its own, whose end waits for that.
std::string dead_endpoint() {
  zmq::context_t own;
  zmq::socket_t s(own, zmq::socket_type::router);
  s.set(zmq::sockopt::linger, 0);
  s.bind("tcp://127.0.0.1:*");
  std::string ep = s.get(zmq::sockopt::last_endpoint);
  s.close();
  own.close();
  return ep;
}

TEST(RpcClientTest, ARefusedConnectFailsAtOnceNotAtTheConnectTimeout) {
  zmq::context_t ctx;
  // A minute to connect: only the refusal can end the send before the test's own timeout.
  RpcClient client(ctx, dead_endpoint(), "", milliseconds(60000));
  auto id = client.send(make_envelope(StatRequest{"/", false}));
  ASSERT_FALSE(id.is_ok());
  EXPECT_EQ(id.status().code(), Code::kUnavailable);
  EXPECT_NE(id.status().message().find("refused"), std::string::npos) << id.status().message();
}

TEST(RpcClientTest, APeerThatGoesAwayEndsTheWaitForItsReply) {
  zmq::context_t ctx;
  auto server = std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::router);
  server->set(zmq::sockopt::linger, 0);
  server->bind("tcp://127.0.0.1:*");
  std::string ep = server->get(zmq::sockopt::last_endpoint);
  RpcClient client(ctx, ep, "", milliseconds(60000));
  ASSERT_TRUE(client.send(make_envelope(StatRequest{"/", false})).is_ok());
  // The request arrived; the server goes away without answering.
  std::vector<zmq::message_t> frames;
  ASSERT_TRUE(zmq::recv_multipart(*server, std::back_inserter(frames)));
  server.reset();
  auto reply = client.recv(milliseconds(60000));
  ASSERT_FALSE(reply.is_ok());
  EXPECT_EQ(reply.status().code(), Code::kUnavailable);
  EXPECT_NE(reply.status().message().find("closed the connection"), std::string::npos)
      << reply.status().message();
}

}  // namespace
}  // namespace dfs
