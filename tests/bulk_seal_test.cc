// The bulk channel's sealing and its session table (bus/bulk_seal.h,
// bus/bulk_sessions.h): what goes in comes out, and nothing else does.
#include "bus/bulk_seal.h"

#include <gtest/gtest.h>

#include "bus/bulk_sessions.h"

namespace dfs {
namespace {

std::vector<zmq::message_t> message(const std::vector<std::string>& parts) {
  std::vector<zmq::message_t> frames;
  for (const auto& p : parts) frames.emplace_back(p.data(), p.size());
  return frames;
}

std::vector<std::string> texts(const std::vector<zmq::message_t>& frames) {
  std::vector<std::string> out;
  for (const auto& f : frames) out.push_back(f.to_string());
  return out;
}

std::vector<zmq::message_t> copy(const std::vector<zmq::message_t>& frames) {
  std::vector<zmq::message_t> out;
  for (const auto& f : frames) out.emplace_back(f.data(), f.size());
  return out;
}

BulkSecret secret() {
  auto s = BulkSecret::random();
  EXPECT_TRUE(s.is_ok());
  return s.value();
}

const std::vector<std::string> kParts = {"0123456789abcdef", "body", std::string(100000, 'x')};

TEST(BulkSeal, WhatIsSealedOpensAsItWas) {
  BulkSecret key = secret();
  BulkSealer out(key, BulkDirection::kToServer);
  BulkOpener in(key, BulkDirection::kToServer);
  for (int i = 0; i < 3; ++i) {
    auto frames = message(kParts);
    ASSERT_TRUE(out.seal(&frames).is_ok());
    ASSERT_EQ(frames.size(), kParts.size() + 2);
    // The bytes travel encrypted.
    EXPECT_NE(frames[3].to_string(), kParts[2]);
    ASSERT_EQ(bulk_session_of(frames[0]).value(), key.session);
    ASSERT_TRUE(in.open(&frames).is_ok());
    EXPECT_EQ(texts(frames), kParts);
  }
  // An empty frame seals and opens too.
  auto frames = message({"h", ""});
  ASSERT_TRUE(out.seal(&frames).is_ok());
  ASSERT_TRUE(in.open(&frames).is_ok());
  EXPECT_EQ(texts(frames), (std::vector<std::string>{"h", ""}));
}

TEST(BulkSeal, AlteredCutOrMovedBytesAreRefused) {
  BulkSecret key = secret();
  BulkSealer out(key, BulkDirection::kToServer);
  auto sealed = message(kParts);
  ASSERT_TRUE(out.seal(&sealed).is_ok());
  auto refused = [&](std::vector<zmq::message_t> frames) {
    BulkOpener in(key, BulkDirection::kToServer);
    return in.open(&frames).code();
  };
  for (size_t f = 0; f < sealed.size(); ++f) {
    auto frames = copy(sealed);
    if (frames[f].size() == 0) continue;
    frames[f].data<char>()[frames[f].size() - 1] ^= 1;
    EXPECT_NE(refused(std::move(frames)), Code::kOk) << "a flipped bit in frame " << f;
  }
  {
    auto frames = copy(sealed);
    frames.erase(frames.begin() + 3);  // the data frame dropped
    EXPECT_EQ(refused(std::move(frames)), Code::kPermissionDenied);
  }
  {
    // One byte moved from the end of the body to the start of the data:
    // the same ciphertext stream, other frame boundaries.
    auto frames = copy(sealed);
    std::string body = frames[2].to_string();
    std::string data = body.back() + frames[3].to_string();
    body.pop_back();
    frames[2] = zmq::message_t(body.data(), body.size());
    frames[3] = zmq::message_t(data.data(), data.size());
    EXPECT_EQ(refused(std::move(frames)), Code::kPermissionDenied);
  }
  {
    auto frames = copy(sealed);
    frames.pop_back();  // no tag
    EXPECT_NE(refused(std::move(frames)), Code::kOk);
  }
  EXPECT_EQ(refused(message({"garbage", "x", "0123456789abcdef"})), Code::kProtocol);
  EXPECT_EQ(refused(message({})), Code::kProtocol);
}

TEST(BulkSeal, AnotherKeySessionOrDirectionDoesNotOpen) {
  BulkSecret key = secret();
  BulkSealer out(key, BulkDirection::kToServer);
  auto sealed = message(kParts);
  ASSERT_TRUE(out.seal(&sealed).is_ok());
  {
    // The right session id, the wrong key: a forger who saw the id.
    BulkSecret other = secret();
    other.session = key.session;
    BulkOpener in(other, BulkDirection::kToServer);
    auto frames = copy(sealed);
    EXPECT_EQ(in.open(&frames).code(), Code::kPermissionDenied);
  }
  {
    BulkSecret other = key;
    other.session = secret().session;
    BulkOpener in(other, BulkDirection::kToServer);
    auto frames = copy(sealed);
    EXPECT_EQ(in.open(&frames).code(), Code::kPermissionDenied);
  }
  {
    // Reflected: a client's own message sent back to it as if from the worker.
    BulkOpener in(key, BulkDirection::kToClient);
    auto frames = copy(sealed);
    EXPECT_EQ(in.open(&frames).code(), Code::kPermissionDenied);
  }
}

TEST(BulkSeal, ARepeatedCounterIsRefusedAndLateOnesWithinTheWindowAreTaken) {
  BulkSecret key = secret();
  BulkSealer out(key, BulkDirection::kToClient);
  BulkOpener in(key, BulkDirection::kToClient);
  std::vector<std::vector<zmq::message_t>> sealed;
  for (int i = 0; i < 1100; ++i) {
    sealed.push_back(message({"h", std::to_string(i)}));
    ASSERT_TRUE(out.seal(&sealed.back()).is_ok());
  }
  auto open = [&](size_t i) {
    auto frames = copy(sealed[i]);
    return in.open(&frames).code();
  };
  EXPECT_EQ(open(1), Code::kOk);
  EXPECT_EQ(open(1), Code::kPermissionDenied) << "a replay";
  EXPECT_EQ(open(0), Code::kOk) << "late, but not seen";
  EXPECT_EQ(open(0), Code::kPermissionDenied);
  EXPECT_EQ(open(1050), Code::kOk);
  EXPECT_EQ(open(2), Code::kPermissionDenied) << "older than the window";
  EXPECT_EQ(open(1000), Code::kOk) << "within the window";
  EXPECT_EQ(open(1000), Code::kPermissionDenied);
  EXPECT_EQ(open(1050), Code::kPermissionDenied);
  EXPECT_EQ(open(1099), Code::kOk);
}

TEST(BulkSeal, AFailedOpenDoesNotSpendTheCounter) {
  BulkSecret key = secret();
  BulkSealer out(key, BulkDirection::kToServer);
  BulkOpener in(key, BulkDirection::kToServer);
  auto sealed = message(kParts);
  ASSERT_TRUE(out.seal(&sealed).is_ok());
  auto forged = copy(sealed);
  forged[3].data<char>()[0] ^= 1;
  EXPECT_EQ(in.open(&forged).code(), Code::kPermissionDenied);
  EXPECT_TRUE(in.open(&sealed).is_ok()) << "the genuine message still opens";
}

TEST(BulkSeal, SharedFramesAreNotEncryptedUnderTheirOtherHolder) {
  BulkSecret key = secret();
  BulkSealer out(key, BulkDirection::kToServer);
  std::string text(70000, 'q');  // above ZeroMQ's inline size: a shared buffer
  zmq::message_t original(text.data(), text.size());
  std::vector<zmq::message_t> frames = message({"h", "b"});
  frames.emplace_back();
  frames.back().copy(original);
  ASSERT_TRUE(out.seal(&frames).is_ok());
  EXPECT_EQ(original.to_string(), text);
}

TEST(BulkSessions, BoundedPerKeyExpiredWhenIdleAndDroppedOnRevocation) {
  using namespace std::chrono;
  BulkSessions sessions(minutes(10));
  auto t0 = steady_clock::time_point{} + hours(1);
  auto a = sessions.open("keyA", t0);
  auto b = sessions.open("keyB", t0);
  ASSERT_TRUE(a.is_ok());
  ASSERT_TRUE(b.is_ok());
  ASSERT_NE(sessions.find(a->session), nullptr);
  EXPECT_EQ(sessions.find(a->session)->peer_key, "keyA");
  EXPECT_EQ(sessions.find(std::string(16, 'z')), nullptr);
  for (size_t i = 1; i < BulkSessions::kPerKey; ++i) ASSERT_TRUE(sessions.open("keyA", t0).is_ok());
  EXPECT_EQ(sessions.open("keyA", t0).status().code(), Code::kBusy);
  EXPECT_TRUE(sessions.open("keyC", t0).is_ok()) << "another key is not held back";
  // A revoked key's sessions go at the next sweep.
  EXPECT_EQ(sessions.sweep(t0, [](const std::string& k) { return k != "keyA"; }),
            BulkSessions::kPerKey);
  EXPECT_EQ(sessions.find(a->session), nullptr);
  EXPECT_TRUE(sessions.open("keyA", t0).is_ok()) << "its count went with them";
  // Used sessions stay; idle ones go.
  ASSERT_NE(sessions.find(b->session), nullptr);
  sessions.find(b->session)->used = t0 + minutes(9);
  sessions.sweep(t0 + minutes(12), [](const std::string&) { return true; });
  EXPECT_NE(sessions.find(b->session), nullptr);
  EXPECT_EQ(sessions.size(), 1u);
}

}  // namespace
}  // namespace dfs
