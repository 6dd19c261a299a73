// The snapshot fetch's rules, without sockets or files: pieces are taken in
// order, a lost answer is asked for again, and a file that does not match
// its manifest (size or SHA-256) ends the fetch instead of being installed.
#include "master/snapshot_fetch.h"

#include <gtest/gtest.h>

#include "codec/codec.h"

namespace dfs {
namespace {

using Clock = std::chrono::steady_clock;

raft::SnapshotManifest manifest_of(const std::map<std::string, std::string>& files) {
  raft::SnapshotManifest m;
  m.index = 42;
  for (const auto& [name, data] : files)
    m.files.push_back({name, data.size(), Sha256::hex_of(data)});
  return m;
}

raft::Message offer_from(raft::NodeId leader) {
  raft::Message m;
  m.kind = static_cast<uint8_t>(raft::MsgKind::kSnapshot);
  m.from = leader;
  m.to = 2;
  m.snapshot.index = 42;
  return m;
}

// What master 1 answers to `req` when its files are `files`.
raft::SnapshotFileReply answer(const raft::SnapshotFileRequest& req,
                               const std::map<std::string, std::string>& files) {
  raft::SnapshotFileReply r;
  r.from = req.to;
  r.to = req.from;
  r.index = req.index;
  r.name = req.name;
  r.offset = req.offset;
  const std::string& data = files.at(req.name);
  r.data = data.substr(req.offset, req.max);
  r.eof = req.offset + r.data.size() == data.size();
  return r;
}

SnapshotFetch::Options small_pieces() {
  SnapshotFetch::Options o;
  o.piece_bytes = 3;
  o.retry = std::chrono::milliseconds(100);
  o.give_up = std::chrono::seconds(1);
  return o;
}

TEST(SnapshotFetchTest, FetchesEveryFileInPiecesAndRebuildsThemExactly) {
  std::map<std::string, std::string> files = {
      {"000007.sst", "abcdefgh"}, {"CURRENT", ""}, {"MANIFEST-1", "0123456789"}};
  auto now = Clock::now();
  SnapshotFetch fetch(offer_from(1), manifest_of(files), small_pieces(), now);
  std::map<std::string, std::string> got;
  for (int i = 0; i < 100 && !fetch.done(); ++i) {
    auto req = fetch.due(now);
    ASSERT_TRUE(req.has_value());
    EXPECT_EQ(req->to, 1u);
    EXPECT_FALSE(fetch.due(now).has_value()) << "a second piece asked for before an answer";
    // A piece's bytes point into its reply, which must outlive their use.
    raft::SnapshotFileReply reply = answer(*req, files);
    auto piece = fetch.accept(reply, now);
    ASSERT_TRUE(piece.is_ok()) << piece.status().to_string();
    ASSERT_TRUE(piece->has_value());
    got[(*piece)->name].append((*piece)->data);
  }
  EXPECT_TRUE(fetch.done());
  got.try_emplace("CURRENT");
  EXPECT_EQ(got, files);
}

TEST(SnapshotFetchTest, ALostAnswerIsAskedForAgainAndALateDuplicateIsIgnored) {
  std::map<std::string, std::string> files = {{"a", "abcdef"}};
  auto now = Clock::now();
  SnapshotFetch fetch(offer_from(1), manifest_of(files), small_pieces(), now);
  auto first = fetch.due(now);
  ASSERT_TRUE(first);
  EXPECT_FALSE(fetch.due(now + std::chrono::milliseconds(50)));
  auto again = fetch.due(now + std::chrono::milliseconds(150));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->offset, first->offset);
  ASSERT_TRUE(fetch.accept(answer(*again, files), now).value().has_value());
  // The answer to the first ask arrives late: same bytes, no longer awaited.
  auto late = fetch.accept(answer(*first, files), now);
  ASSERT_TRUE(late.is_ok());
  EXPECT_FALSE(late->has_value());
  // From another master, or about another snapshot: ignored too.
  auto next = fetch.due(now);
  raft::SnapshotFileReply forged = answer(*next, files);
  forged.from = 3;
  EXPECT_FALSE(fetch.accept(forged, now).value().has_value());
  EXPECT_FALSE(fetch.done());
}

TEST(SnapshotFetchTest, AFileThatDoesNotMatchItsManifestEndsTheFetch) {
  std::map<std::string, std::string> files = {{"a", "abcdef"}};
  auto now = Clock::now();
  {
    SnapshotFetch fetch(offer_from(1), manifest_of(files), small_pieces(), now);
    std::map<std::string, std::string> flipped = {{"a", "abcdeX"}};
    ASSERT_TRUE(fetch.accept(answer(*fetch.due(now), flipped), now).is_ok());
    auto last = fetch.accept(answer(*fetch.due(now), flipped), now);
    EXPECT_EQ(last.status().code(), Code::kChecksumMismatch);
  }
  {
    SnapshotFetch fetch(offer_from(1), manifest_of(files), small_pieces(), now);
    std::map<std::string, std::string> longer = {{"a", "abcdefgh"}};
    ASSERT_TRUE(fetch.accept(answer(*fetch.due(now), longer), now).is_ok());
    auto past = fetch.accept(answer(*fetch.due(now), longer), now);
    EXPECT_EQ(past.status().code(), Code::kCorruption);
  }
  {
    SnapshotFetch fetch(offer_from(1), manifest_of(files), small_pieces(), now);
    raft::SnapshotFileReply gone = answer(*fetch.due(now), files);
    gone.data.clear();
    gone.error = "no snapshot 42";
    EXPECT_EQ(fetch.accept(gone, now).status().code(), Code::kUnavailable);
  }
}

TEST(SnapshotFetchTest, ASilentSourceIsAbandoned) {
  std::map<std::string, std::string> files = {{"a", "abcdef"}};
  auto now = Clock::now();
  SnapshotFetch fetch(offer_from(1), manifest_of(files), small_pieces(), now);
  (void)fetch.due(now);
  EXPECT_FALSE(fetch.stalled(now + std::chrono::milliseconds(900)));
  EXPECT_TRUE(fetch.stalled(now + std::chrono::milliseconds(1100)));
}

TEST(SnapshotFetchTest, ManifestsAndRequestsNamingPathsOutsideTheDirectoryAreRefused) {
  raft::SnapshotManifest m = manifest_of({{"a", "x"}});
  m.files[0].name = "../../etc/passwd";
  EXPECT_FALSE(decode<raft::SnapshotManifest>(encode(m)).is_ok());
  for (const std::string& bad :
       std::vector<std::string>{"", ".", "..", "a/b", std::string("a\0b", 3)}) {
    raft::SnapshotFileRequest req{2, 1, 42, bad, 0, 4096};
    EXPECT_FALSE(decode<raft::SnapshotFileRequest>(encode(req)).is_ok()) << bad;
  }
  raft::SnapshotFileRequest huge{2, 1, 42, "a", 0, 1u << 30};
  EXPECT_FALSE(decode<raft::SnapshotFileRequest>(encode(huge)).is_ok());
}

}  // namespace
}  // namespace dfs
