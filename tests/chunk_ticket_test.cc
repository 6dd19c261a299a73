// Chunk tickets: a worker accepts only a ticket the masters' key signed, for
// that chunk and that operation, unexpired; ticket key files load like
// CURVE key files and are checked the same way.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include "bus/chunk_ticket.h"
#include "bus/fifo_memo.h"
#include "bus/keyring.h"
#include "tests/test_util.h"

namespace dfs {
namespace {

constexpr const char* kChunk = "0123456789abcdef0123456789abcdef";
constexpr const char* kOther = "fedcba9876543210fedcba9876543210";
constexpr int64_t kNow = 1'800'000'000'000;

class ChunkTicketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = generate_ticket_key().value();
    signer_ = TicketSigner::make(key_).value();
  }
  Status check(const ChunkTicket& t, std::string_view chunk = kChunk, std::string_view op = "read",
               int64_t now = kNow) {
    return check_ticket(t, {key_.public_key}, chunk, op, now);
  }
  KeyPair key_;
  std::shared_ptr<TicketSigner> signer_;
};

TEST_F(ChunkTicketTest, ASignedTicketOpensItsChunkForItsOperation) {
  auto t = signer_->sign(kChunk, "alice", "read", kNow + 60'000);
  EXPECT_TRUE(check(t).is_ok());
  EXPECT_EQ(t.signature.size(), 64u);
}

TEST_F(ChunkTicketTest, AnythingElseIsRefused) {
  auto t = signer_->sign(kChunk, "alice", "read", kNow + 60'000);
  EXPECT_EQ(check(t, kOther).code(), Code::kPermissionDenied);
  EXPECT_EQ(check(t, kChunk, "write").code(), Code::kPermissionDenied);
  EXPECT_EQ(check(ChunkTicket{}).code(), Code::kPermissionDenied);
  // Expired, beyond the clock skew allowed.
  auto old = signer_->sign(kChunk, "alice", "read", kNow - 6 * 60'000);
  EXPECT_EQ(check(old).code(), Code::kPermissionDenied);
  auto skewed = signer_->sign(kChunk, "alice", "read", kNow - 60'000);
  EXPECT_TRUE(check(skewed).is_ok());
  // Any field changed after signing breaks the signature.
  for (auto tamper : std::vector<std::function<void(ChunkTicket&)>>{
           [](ChunkTicket& x) { x.expires_ms += 1; },
           [](ChunkTicket& x) { x.user = "bob"; },
           [](ChunkTicket& x) { x.signature[10] ^= 1; },
       }) {
    ChunkTicket forged = t;
    tamper(forged);
    EXPECT_EQ(check(forged).code(), Code::kPermissionDenied);
  }
  // Signed by another key.
  auto other = TicketSigner::make(generate_ticket_key().value()).value();
  EXPECT_EQ(check(other->sign(kChunk, "alice", "read", kNow + 60'000)).code(),
            Code::kPermissionDenied);
}

TEST_F(ChunkTicketTest, AnyListedKeyWillDoSoKeysCanBeRotated) {
  auto next = generate_ticket_key().value();
  auto t = TicketSigner::make(next).value()->sign(kChunk, "alice", "write", kNow + 1000);
  EXPECT_TRUE(check_ticket(t, {key_.public_key, next.public_key}, kChunk, "write", kNow).is_ok());
}

// The worker's verifier remembers what it verified, and must refuse all
// that check_ticket refuses, from its memory too.
TEST_F(ChunkTicketTest, TheVerifierVerifiesASignatureOnceAndRefusesAllElseAsBefore) {
  TicketVerifier v;
  const std::vector<std::string> keys{key_.public_key};
  auto t = signer_->sign(kChunk, "alice", "read", kNow + 60'000);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(v.check(t, keys, kChunk, "read", kNow).is_ok());
  EXPECT_EQ(v.verifications(), 1u);
  // A remembered signature over other bytes: every field changed after signing.
  for (auto tamper : std::vector<std::function<void(ChunkTicket&)>>{
           [](ChunkTicket& x) { x.expires_ms += 1; },
           [](ChunkTicket& x) { x.user = "bob"; },
           [](ChunkTicket& x) { x.chunk_id = kOther; },
           [](ChunkTicket& x) { x.op = "write"; },
       }) {
    ChunkTicket forged = t;
    tamper(forged);
    EXPECT_EQ(v.check(forged, keys, forged.chunk_id, forged.op, kNow).code(),
              Code::kPermissionDenied);
  }
  // The fields are checked each time: another chunk, another operation, expiry.
  EXPECT_EQ(v.check(t, keys, kOther, "read", kNow).code(), Code::kPermissionDenied);
  EXPECT_EQ(v.check(t, keys, kChunk, "write", kNow).code(), Code::kPermissionDenied);
  EXPECT_EQ(v.check(t, keys, kChunk, "read", kNow + 60'000 + 6 * 60'000).code(),
            Code::kPermissionDenied);
  // The key revoked (the list changed): what it signed is refused, even remembered.
  auto next = generate_ticket_key().value();
  EXPECT_EQ(v.check(t, {next.public_key}, kChunk, "read", kNow).code(), Code::kPermissionDenied);
  EXPECT_TRUE(v.check(t, keys, kChunk, "read", kNow).is_ok());  // listed again: verified again
  EXPECT_EQ(v.verifications(), 7u);
}

TEST_F(ChunkTicketTest, AMasterReusesATicketForAWhileThenSignsAnew) {
  const int64_t lifetime = std::chrono::milliseconds(kTicketLifetime).count();
  const int64_t reuse = std::chrono::milliseconds(kTicketReuse).count();
  auto first = signer_->issue(kChunk, "alice", "read", kNow);
  EXPECT_EQ(first.expires_ms, kNow + lifetime);
  EXPECT_TRUE(check(first).is_ok());
  auto again = signer_->issue(kChunk, "alice", "read", kNow + reuse - 1);
  EXPECT_EQ(again.signature, first.signature);
  EXPECT_GE(again.expires_ms - (kNow + reuse), lifetime - reuse);  // still good for long enough
  // Another user, chunk or operation gets its own ticket.
  EXPECT_NE(signer_->issue(kChunk, "bob", "read", kNow).signature, first.signature);
  EXPECT_NE(signer_->issue(kOther, "alice", "read", kNow).signature, first.signature);
  EXPECT_NE(signer_->issue(kChunk, "alice", "write", kNow).signature, first.signature);
  // Past the window, or with the clock gone back, a new one.
  auto later = signer_->issue(kChunk, "alice", "read", kNow + reuse);
  EXPECT_NE(later.signature, first.signature);
  EXPECT_EQ(later.expires_ms, kNow + reuse + lifetime);
  EXPECT_NE(signer_->issue(kChunk, "alice", "read", kNow - 1).expires_ms, later.expires_ms);
}

TEST(FifoMemo, ForgetsTheOldestFirstAndStaysWithinItsCapacity) {
  FifoMemo<int, int> memo(3);
  for (int i = 0; i < 5; ++i) memo.put(i, i * 10);
  EXPECT_EQ(memo.size(), 3u);
  EXPECT_EQ(memo.find(0), nullptr);
  EXPECT_EQ(memo.find(1), nullptr);
  ASSERT_NE(memo.find(4), nullptr);
  EXPECT_EQ(*memo.find(4), 40);
  memo.put(2, 21);  // a replacement is no new entry: nothing is forgotten
  EXPECT_EQ(memo.size(), 3u);
  EXPECT_EQ(*memo.find(2), 21);
  EXPECT_NE(memo.find(3), nullptr);
}

TEST_F(ChunkTicketTest, TicketKeyFilesLoadAndAreCheckedLikeCurveKeys) {
  test::TempDir dir;
  std::string prefix = dir.path() + "/ticket";
  ASSERT_TRUE(write_key_files(prefix, key_, KeyKind::kTicket).is_ok());
  auto loaded = load_key_file(prefix + ".key", true, KeyKind::kTicket);
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string();
  EXPECT_EQ(loaded->public_key, key_.public_key);
  // A ticket key is not a CURVE key: its public half does not derive alike.
  EXPECT_FALSE(load_key_file(prefix + ".key", true, KeyKind::kCurve).is_ok());
  ::chmod((prefix + ".key").c_str(), 0644);
  EXPECT_FALSE(load_key_file(prefix + ".key", true, KeyKind::kTicket).is_ok());
}

TEST(TicketKeyring, TicketKeysAreListedButAdminsNameIsReserved) {
  auto pub = generate_ticket_key()->public_key;
  auto ring = Keyring::parse("ticket t1 " + pub + "\n", "test");
  ASSERT_TRUE(ring.is_ok()) << ring.status().to_string();
  EXPECT_EQ(ring->entries().at(0).role, Role::kTicket);
  auto key = generate_key_pair()->public_key;
  EXPECT_FALSE(Keyring::parse("client admin " + key + "\n", "test").is_ok());
  EXPECT_FALSE(Keyring::parse("client bob " + key + " groups=admin\n", "test").is_ok());
  EXPECT_TRUE(Keyring::parse("admin admin " + key + "\n", "test").is_ok());
}

}  // namespace
}  // namespace dfs
