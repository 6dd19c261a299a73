// The pure parts of security: key files, the keyring, who may send what, and
// the warning limiter.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "bus/access_policy.h"
#include "bus/curve_keys.h"
#include "bus/keyring.h"
#include "bus/warn_limiter.h"

namespace dfs {
namespace {

class KeyFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("dfs-keys-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::filesystem::path dir_;
};

TEST_F(KeyFiles, AWrittenPairLoadsBackAndTheSecretIsPrivate) {
  auto pair = generate_key_pair();
  ASSERT_TRUE(pair.is_ok());
  ASSERT_TRUE(write_key_files(path("a"), pair.value()).is_ok());
  struct stat st {};
  ASSERT_EQ(::stat(path("a.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto secret = load_key_file(path("a.key"), true);
  ASSERT_TRUE(secret.is_ok()) << secret.status().to_string();
  EXPECT_EQ(secret->public_key, pair->public_key);
  EXPECT_EQ(secret->secret_key, pair->secret_key);
  auto pub = load_key_file(path("a.pub"), false);
  ASSERT_TRUE(pub.is_ok());
  EXPECT_EQ(pub->public_key, pair->public_key);
  EXPECT_TRUE(pub->secret_key.empty());
}

TEST_F(KeyFiles, RefusesToOverwriteALooseSecretOrAPublicOnlyFile) {
  auto pair = generate_key_pair().value();
  ASSERT_TRUE(write_key_files(path("a"), pair).is_ok());
  EXPECT_FALSE(write_key_files(path("a"), pair).is_ok());
  ::chmod(path("a.key").c_str(), 0640);
  auto loose = load_key_file(path("a.key"), true);
  ASSERT_FALSE(loose.is_ok());
  EXPECT_NE(loose.status().message().find("open to others"), std::string::npos);
  EXPECT_FALSE(load_key_file(path("a.pub"), true).is_ok());
}

TEST_F(KeyFiles, RefusesAPublicKeyThatIsNotTheSecretsOwn) {
  auto a = generate_key_pair().value(), b = generate_key_pair().value();
  {
    std::ofstream out(path("mixed.key"));
    out << "public-key = " << b.public_key << "\nsecret-key = " << a.secret_key << "\n";
  }
  ::chmod(path("mixed.key").c_str(), 0600);
  EXPECT_FALSE(load_key_file(path("mixed.key"), true).is_ok());
}

std::string key(int n) {
  // Any 40 characters of Z85 decode to 32 bytes.
  std::string k(40, '0');
  k[0] = static_cast<char>('a' + n);
  return k;
}

TEST(KeyringTest, ParsesRolesNamesGroupsAndMasterEndpoints) {
  std::string text = "# comment\n\nmaster m1 " + key(1) + " endpoint=127.0.0.1:7400\nworker w1 " +
                     key(2) + "\nclient alice " + key(3) + " groups=staff,ops\n";
  auto ring = Keyring::parse(text, "ring");
  ASSERT_TRUE(ring.is_ok()) << ring.status().to_string();
  ASSERT_EQ(ring->entries().size(), 3u);
  const KeyEntry* alice = ring->find(key(3));
  ASSERT_NE(alice, nullptr);
  EXPECT_EQ(alice->role, Role::kClient);
  EXPECT_EQ(alice->groups, (std::vector<std::string>{"staff", "ops"}));
  ASSERT_NE(ring->master_at("tcp://127.0.0.1:7400"), nullptr);
  EXPECT_EQ(ring->master_at("127.0.0.1:7400")->name, "m1");
  EXPECT_EQ(ring->master_at("127.0.0.1:7404"), nullptr);
  EXPECT_EQ(ring->find(key(9)), nullptr);
  auto again = Keyring::parse(ring->to_text(), "again");
  ASSERT_TRUE(again.is_ok());
  EXPECT_EQ(again->entries().size(), 3u);
}

TEST(KeyringTest, AKeyMayContainAHash) {
  std::string k = "0#" + key(1).substr(2);
  auto ring = Keyring::parse("client bob " + k + "\n", "ring");
  ASSERT_TRUE(ring.is_ok()) << ring.status().to_string();
  EXPECT_NE(ring->find(k), nullptr);
}

TEST(KeyringTest, RefusesBadLinesNamingWhere) {
  const std::vector<std::string> bad_lines = {"king m1 " + key(1),
                                              "client Bad!Name " + key(1),
                                              "client bob short",
                                              "master m1 " + key(1),
                                              "client bob " + key(1) + " colour=blue",
                                              "client bob " + key(1) + "\nclient carol " + key(1)};
  for (const std::string& bad : bad_lines) {
    auto ring = Keyring::parse(bad, "ring");
    ASSERT_FALSE(ring.is_ok()) << bad;
    EXPECT_EQ(ring.status().message().rfind("ring:", 0), 0u) << ring.status().message();
  }
}

TEST(KeyringTest, RemoveForgetsTheKey) {
  auto ring = Keyring::parse("client a " + key(1) + "\nclient b " + key(2) + "\n", "r").value();
  EXPECT_TRUE(ring.remove(key(1)));
  EXPECT_FALSE(ring.remove(key(1)));
  EXPECT_EQ(ring.find(key(1)), nullptr);
  ASSERT_NE(ring.find(key(2)), nullptr);
  EXPECT_EQ(ring.find(key(2))->name, "b");
}

KeyEntry as(Role role, const std::string& name) { return KeyEntry{role, name, key(1), {}, ""}; }

TEST(AccessPolicyTest, EachDomainAdmitsItsRolesOnly) {
  EXPECT_TRUE(may_connect(Role::kMaster, Domain::kMasterPeer));
  for (Role r : {Role::kWorker, Role::kClient, Role::kAdmin}) {
    EXPECT_FALSE(may_connect(r, Domain::kMasterPeer));
  }
  EXPECT_TRUE(may_connect(Role::kWorker, Domain::kMasterEvents));
  EXPECT_FALSE(may_connect(Role::kClient, Domain::kMasterEvents));
  EXPECT_FALSE(may_connect(Role::kAdmin, Domain::kMasterEvents));
  EXPECT_TRUE(may_connect(Role::kWorker, Domain::kWorkerPipeline));
  EXPECT_FALSE(may_connect(Role::kClient, Domain::kWorkerPipeline));
  EXPECT_TRUE(may_connect(Role::kClient, Domain::kWorkerData));
  EXPECT_FALSE(may_connect(Role::kWorker, Domain::kMasterApi));
  EXPECT_FALSE(may_connect(Role::kClient, Domain::kMasterJobs));
}

TEST(AccessPolicyTest, AdminOnlyRequestsAndMessagesOutOfPlaceAreRefused) {
  EXPECT_TRUE(may_send(as(Role::kClient, "c"), Domain::kMasterApi, MsgType::kStatRequest).is_ok());
  Status drain = may_send(as(Role::kClient, "c"), Domain::kMasterApi, MsgType::kWorkerDrainRequest);
  EXPECT_EQ(drain.code(), Code::kPermissionDenied);
  EXPECT_TRUE(
      may_send(as(Role::kAdmin, "a"), Domain::kMasterApi, MsgType::kWorkerDrainRequest).is_ok());
  EXPECT_FALSE(
      may_send(as(Role::kClient, "c"), Domain::kMasterPeer, MsgType::kRaftMessage).is_ok());
  EXPECT_FALSE(
      may_send(as(Role::kWorker, "w"), Domain::kMasterEvents, MsgType::kStatRequest).is_ok());
  EXPECT_TRUE(may_send(as(Role::kWorker, "w"), Domain::kMasterEvents, MsgType::kHeartbeat).is_ok());
  EXPECT_FALSE(
      may_send(as(Role::kWorker, "w"), Domain::kWorkerData, MsgType::kReplicaFrame).is_ok());
  EXPECT_TRUE(
      may_send(as(Role::kWorker, "w"), Domain::kWorkerPipeline, MsgType::kReplicaFrame).is_ok());
}

TEST(WarnLimiterTest, OneLineAMinutePerPeerCountingWhatItStandsFor) {
  WarnLimiter limiter(std::chrono::seconds(60), 100);
  auto t = WarnLimiter::Clock::time_point{} + std::chrono::hours(1);
  EXPECT_EQ(limiter.admit("a", t), 1u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(limiter.admit("a", t + std::chrono::seconds(1)), 0u);
  EXPECT_EQ(limiter.admit("b", t + std::chrono::seconds(2)), 1u);  // another peer is its own
  EXPECT_EQ(limiter.admit("a", t + std::chrono::seconds(61)), 51u);
  EXPECT_EQ(limiter.total(), 53u);
}

TEST(WarnLimiterTest, AFloodOfMadeUpPeersIsBounded) {
  WarnLimiter limiter(std::chrono::seconds(60), 10);
  auto t = WarnLimiter::Clock::time_point{} + std::chrono::hours(1);
  for (int i = 0; i < 1000; ++i) limiter.admit("peer" + std::to_string(i), t);
  // Still answers, and a new peer still gets its first line.
  EXPECT_EQ(limiter.admit("new", t), 1u);
}

}  // namespace
}  // namespace dfs
