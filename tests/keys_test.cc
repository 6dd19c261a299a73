// Keys changed through the log (dfs admin keys): the keyring in force as the
// file and the log make it, what the leader lets into the log, how the state
// machine applies and keeps it, and the cutting of a removed key's
// connections.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bus/access_policy.h"
#include "bus/connection_table.h"
#include "bus/endpoints.h"
#include "bus/keyring.h"
#include "master/key_changes.h"
#include "master/namespace.h"
#include "tests/test_util.h"

namespace dfs {
namespace {

// A distinct, valid Z85 key per n (any 40 Z85 characters decode to 32 bytes).
std::string key(int n) {
  std::string k(40, '0');
  k[0] = static_cast<char>('a' + n);
  return k;
}

Keyring ring_of(const std::string& text) {
  auto ring = Keyring::parse(text, "ring");
  EXPECT_TRUE(ring.is_ok()) << ring.status().to_string();
  return ring.is_ok() ? std::move(ring).value() : Keyring{};
}

TEST(EffectiveKeyring, TheFileLessTheLogsRevocationsPlusItsAdditions) {
  Keyring file = ring_of("admin admin " + key(1) + "\nclient alice " + key(2) + "\n");
  KeyringUpdate log;
  log.version = 7;
  log.added = {"client carol " + key(3) + " groups=staff"};
  log.revoked = {key(2)};
  std::vector<std::string> skipped;
  Keyring ring = effective_keyring(file, log, &skipped);
  EXPECT_TRUE(skipped.empty());
  EXPECT_NE(ring.find(key(1)), nullptr);
  EXPECT_EQ(ring.find(key(2)), nullptr);  // revoked, though the file lists it
  ASSERT_NE(ring.find(key(3)), nullptr);
  EXPECT_EQ(ring.find(key(3))->name, "carol");
  EXPECT_EQ(ring.find(key(3))->groups, (std::vector<std::string>{"staff"}));
}

TEST(EffectiveKeyring, AFileKeyStandsAndBadLogLinesAreSkippedWithAReason) {
  Keyring file = ring_of("client alice " + key(2) + "\n");
  KeyringUpdate log;
  log.added = {"admin mallory " + key(2), "client bad!name " + key(4), "client dave " + key(5)};
  std::vector<std::string> skipped;
  Keyring ring = effective_keyring(file, log, &skipped);
  ASSERT_NE(ring.find(key(2)), nullptr);
  EXPECT_EQ(ring.find(key(2))->name, "alice");  // the log may not re-role a file's key
  EXPECT_EQ(ring.find(key(4)), nullptr);
  EXPECT_NE(ring.find(key(5)), nullptr);
  EXPECT_EQ(skipped.size(), 2u);
}

TEST(KeyLine, OneLineParsesAndAnythingElseIsRefused) {
  auto e = parse_key_line("client bob " + key(1) + " groups=a,b");
  ASSERT_TRUE(e.is_ok()) << e.status().to_string();
  EXPECT_EQ(e->name, "bob");
  EXPECT_FALSE(parse_key_line("# just a comment").is_ok());
  EXPECT_FALSE(parse_key_line("client bob " + key(1) + "\nclient carol " + key(2)).is_ok());
  EXPECT_FALSE(parse_key_line("client admin " + key(1)).is_ok());  // admin's name is admin's
}

TEST(KeyChangePlan, AddsOnlyNewKeysAndRevokesOnlyListedOnes) {
  Keyring ring = ring_of("admin admin " + key(1) + "\nclient alice " + key(2) + "\n");
  auto add =
      plan_key_change(KeyChangeRequest{"add", "client carol " + key(3), "", {}}, ring, ring, {}, 1);
  ASSERT_TRUE(add.is_ok()) << add.status().to_string();
  EXPECT_EQ(add->msg_type(), MsgType::kKeyAddCmd);
  auto again =
      plan_key_change(KeyChangeRequest{"add", "client eve " + key(2), "", {}}, ring, ring, {}, 1);
  EXPECT_EQ(again.status().code(), Code::kAlreadyExists);
  EXPECT_NE(again.status().message().find("client alice"), std::string::npos);
  auto bad = plan_key_change(KeyChangeRequest{"add", "client x " + key(3) + " colour=red", "", {}},
                             ring, ring, {}, 1);
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  auto revoke = plan_key_change(KeyChangeRequest{"revoke", "", key(2), {}}, ring, ring, {}, 1);
  ASSERT_TRUE(revoke.is_ok());
  EXPECT_EQ(revoke->msg_type(), MsgType::kKeyRevokeCmd);
  auto unknown = plan_key_change(KeyChangeRequest{"revoke", "", key(9), {}}, ring, ring, {}, 1);
  EXPECT_EQ(unknown.status().code(), Code::kNotFound);
}

TEST(KeyChangePlan, NeverLocksOutTheLastAdminOrCutsAMemberMaster) {
  Keyring ring =
      ring_of("admin admin " + key(1) + "\nmaster m2 " + key(2) +
              " endpoint=127.0.0.1:7404\nmaster m5 " + key(5) + " endpoint=127.0.0.1:7420\n");
  auto last = plan_key_change(KeyChangeRequest{"revoke", "", key(1), {}}, ring, ring, {"m2"}, 1);
  EXPECT_EQ(last.status().code(), Code::kInvalidArgument);
  EXPECT_NE(last.status().message().find("last admin"), std::string::npos);
  auto member = plan_key_change(KeyChangeRequest{"revoke", "", key(2), {}}, ring, ring, {"m2"}, 1);
  EXPECT_EQ(member.status().code(), Code::kInvalidArgument);
  EXPECT_NE(member.status().message().find("members remove 2"), std::string::npos);
  // A master no longer in the group may go.
  EXPECT_TRUE(
      plan_key_change(KeyChangeRequest{"revoke", "", key(5), {}}, ring, ring, {"m2"}, 1).is_ok());
  Keyring two = ring_of("admin admin " + key(1) + "\nadmin ops " + key(3) + "\n");
  EXPECT_TRUE(plan_key_change(KeyChangeRequest{"revoke", "", key(1), {}}, two, two, {}, 1).is_ok());
}

TEST(KeyChangePlan, TicketKeysStayWithTheMastersFiles) {
  Keyring ring = ring_of("admin admin " + key(1) + "\nticket t1 " + key(2) + "\n");
  auto add =
      plan_key_change(KeyChangeRequest{"add", "ticket t2 " + key(3), "", {}}, ring, ring, {}, 1);
  EXPECT_EQ(add.status().code(), Code::kInvalidArgument);
  EXPECT_NE(add.status().message().find("--ticket-key"), std::string::npos);
  auto revoke = plan_key_change(KeyChangeRequest{"revoke", "", key(2), {}}, ring, ring, {}, 1);
  EXPECT_EQ(revoke.status().code(), Code::kInvalidArgument);
}

TEST(KeyChangePlan, ARevocationSaysWhetherTheLeadersFileListsTheKey) {
  Keyring file = ring_of("admin admin " + key(1) + "\nclient alice " + key(2) + "\n");
  Keyring in_force = ring_of("admin admin " + key(1) + "\nclient alice " + key(2) +
                             "\nclient carol " + key(3) + "\n");
  auto of = [&](int n) {
    auto cmd = plan_key_change(KeyChangeRequest{"revoke", "", key(n), {}}, in_force, file, {}, 1);
    EXPECT_TRUE(cmd.is_ok()) << cmd.status().to_string();
    return decode<KeyRevokeCmd>(cmd->body).value().in_file;
  };
  EXPECT_TRUE(of(2));
  EXPECT_FALSE(of(3));
}

TEST(KeyChangePolicy, OnlyAdminsSeeOrChangeTheKeyring) {
  KeyEntry client{Role::kClient, "c", key(1), {}, ""};
  KeyEntry admin{Role::kAdmin, "a", key(2), {}, ""};
  for (MsgType t : {MsgType::kKeyChangeRequest, MsgType::kKeysRequest}) {
    EXPECT_EQ(may_send(client, Domain::kMasterApi, t).code(), Code::kPermissionDenied);
    EXPECT_TRUE(may_send(admin, Domain::kMasterApi, t).is_ok());
  }
}

class LogKeysTest : public ::testing::Test {
 protected:
  void SetUp() override { reopen(); }
  void reopen() {
    ns_.reset();
    auto ns = Namespace::open(dir_.path());
    ASSERT_TRUE(ns.is_ok()) << ns.status().to_string();
    ns_ = std::move(ns).value();
  }
  template <typename Cmd>
  Status run(const Cmd& cmd, Caller who = Caller{}) {
    Command c = make_command(cmd, 5);
    c.caller = who;
    return ns_->apply(ns_->applied_index() + 1, c).status;
  }
  test::TempDir dir_;
  std::unique_ptr<Namespace> ns_;
};

TEST_F(LogKeysTest, AddAndRevokeAreVersionedByTheirIndexAndSurviveAReopen) {
  ASSERT_TRUE(run(KeyAddCmd{"client carol " + key(3)}).is_ok());
  const uint64_t added_at = ns_->applied_index();
  EXPECT_EQ(ns_->log_keys().version, added_at);
  EXPECT_EQ(ns_->log_keys().added.size(), 1u);
  ASSERT_TRUE(run(KeyRevokeCmd{key(2), true}).is_ok());   // a key only a file lists
  ASSERT_TRUE(run(KeyRevokeCmd{key(3), false}).is_ok());  // the log's own: just dropped
  reopen();
  const KeyringUpdate& keys = ns_->log_keys();
  EXPECT_EQ(keys.version, ns_->applied_index());
  EXPECT_TRUE(keys.added.empty());
  EXPECT_EQ(keys.revoked, (std::vector<std::string>{key(2)}));
  // A file's key admitted again after its revocation.
  ASSERT_TRUE(run(KeyAddCmd{"client alice " + key(2)}).is_ok());
  EXPECT_TRUE(ns_->log_keys().revoked.empty());
  EXPECT_EQ(ns_->log_keys().added.size(), 1u);
}

TEST_F(LogKeysTest, TheLogsKeysStayWithinWhatOneMessageCarries) {
  // Lines of 64 groups each: a few hundred pass the byte bound long before
  // the count bound.
  std::string groups = " groups=";
  for (int g = 0; g < 64; ++g)
    groups += (g ? ",g" : "g") + std::to_string(g) + "xxxxxxxxxxxxxxxxxxxx";
  Status last = Status::ok();
  int added = 0;
  for (int n = 0; n < 2000 && last.is_ok(); ++n) {
    std::string k = key(0);
    std::string digits = std::to_string(10000 + n);  // five digits: one key each
    k.replace(1, digits.size(), digits);
    last = run(KeyAddCmd{"client u" + digits + " " + k + groups});
    if (last.is_ok()) ++added;
  }
  EXPECT_EQ(last.code(), Code::kInvalidArgument);
  EXPECT_LT(encode(ns_->log_keys()).size(), kMaxLogKeyringBytes);
  EXPECT_GT(added, 100);
}

TEST_F(LogKeysTest, ADuplicateOrAUsersChangeLeavesTheKeysAsTheyWere) {
  ASSERT_TRUE(run(KeyAddCmd{"client carol " + key(3)}).is_ok());
  const uint64_t version = ns_->log_keys().version;
  EXPECT_EQ(run(KeyAddCmd{"admin carol2 " + key(3)}).code(), Code::kAlreadyExists);
  EXPECT_EQ(run(KeyAddCmd{"client x " + key(4)}, user_caller("carol", {})).code(),
            Code::kPermissionDenied);
  EXPECT_EQ(run(KeyRevokeCmd{key(3)}, user_caller("carol", {})).code(), Code::kPermissionDenied);
  EXPECT_EQ(ns_->log_keys().version, version);
  EXPECT_EQ(ns_->log_keys().added.size(), 1u);
  EXPECT_TRUE(ns_->log_keys().revoked.empty());
}

// A connected pair of loopback TCP sockets: {client, accepted}.
std::pair<int, int> tcp_pair() {
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  EXPECT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), len), 0);
  EXPECT_EQ(::listen(listener, 1), 0);
  EXPECT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  int client = ::socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&addr), len), 0);
  int accepted = ::accept(listener, nullptr, nullptr);
  ::close(listener);
  return {client, accepted};
}

// Whether the other end closed `fd` (a read returns end of file at once).
bool closed_by_peer(int fd) {
  char c;
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return ::recv(fd, &c, 1, 0) == 0;
}

TEST(ConnectionTableTest, CutsTheConnectionsOfRemovedKeysOnly) {
  auto [alice_client, alice_fd] = tcp_pair();
  auto [bob_client, bob_fd] = tcp_pair();
  ConnectionTable table;
  table.record(alice_fd, key(1));
  table.record(bob_fd, key(2));
  EXPECT_EQ(table.cut({key(1)}), 1u);
  EXPECT_TRUE(closed_by_peer(alice_client));
  EXPECT_EQ(table.cut({key(1)}), 0u);  // cut once, then forgotten
  // Bob's connection still carries bytes both ways.
  ASSERT_EQ(::send(bob_client, "x", 1, 0), 1);
  char c = 0;
  ASSERT_EQ(::recv(bob_fd, &c, 1, 0), 1);
  EXPECT_EQ(c, 'x');
  for (int fd : {alice_client, alice_fd, bob_client, bob_fd}) ::close(fd);
}

TEST(ConnectionTableTest, ADescriptorReusedByAnotherConnectionIsLeftAlone) {
  auto [old_client, old_fd] = tcp_pair();
  ConnectionTable table;
  table.record(old_fd, key(1));
  ::close(old_fd);
  ::close(old_client);
  // The lowest free descriptors come back: one of the new pair takes old_fd.
  auto [new_client, new_fd] = tcp_pair();
  ASSERT_TRUE(old_fd == new_client || old_fd == new_fd);
  // Neither a late message of the old connection nor the key's removal cuts it.
  EXPECT_FALSE(table.cut_one(old_fd, key(1)));
  table.record(old_fd == new_client ? new_fd : new_client, key(2));
  EXPECT_EQ(table.cut({key(1)}), 0u);
  ASSERT_EQ(::send(new_client, "y", 1, 0), 1);
  char c = 0;
  EXPECT_EQ(::recv(new_fd, &c, 1, 0), 1);
  ::close(new_client);
  ::close(new_fd);
}

}  // namespace
}  // namespace dfs

namespace dfs {
namespace {

// Found by fuzz_keyring: a host with odd bytes (or a second "tcp://") did
// not print back as it was read.
TEST(EndpointTest, AHostIsANameAnIPv4OrABracketedIPv6AddressAndNothingElse) {
  EXPECT_TRUE(parse_endpoint("tcp://127.0.0.1:7400").is_ok());
  EXPECT_TRUE(parse_endpoint("node-1.example_net:7400").is_ok());
  EXPECT_TRUE(parse_endpoint("[::1]:7400").is_ok());
  EXPECT_FALSE(parse_endpoint("tcp://tcp://h:7400").is_ok());
  EXPECT_FALSE(parse_endpoint(std::string("12'\0\x13"
                                          "7.0.0.1:7400",
                                          16))
                   .is_ok());
  EXPECT_FALSE(parse_endpoint("::1:7400").is_ok());
  EXPECT_FALSE(parse_endpoint("h st:7400").is_ok());
}

}  // namespace
}  // namespace dfs
