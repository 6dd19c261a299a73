// Users, groups and modes: the pure rule (codec/permissions.h) and every
// namespace operation that checks it, allowed and refused, with the
// superuser allowed everything.
#include <gtest/gtest.h>

#include "codec/codec.h"
#include "codec/commands.h"
#include "master/namespace.h"
#include "tests/test_util.h"

namespace dfs {
namespace {

TEST(PermissionRule, OwnerGroupAndOthersEachGetTheirOwnTriple) {
  Ownership file{"alice", "staff", 0640, false};
  EXPECT_TRUE(may(user_caller("alice", {}), file, kMayRead | kMayWrite));
  EXPECT_TRUE(may(user_caller("bob", {"staff"}), file, kMayRead));
  EXPECT_FALSE(may(user_caller("bob", {"staff"}), file, kMayWrite));
  EXPECT_FALSE(may(user_caller("carol", {"other"}), file, kMayRead));
  // The owner's triple decides for the owner even when the group's grants more.
  Ownership odd{"alice", "staff", 0070, false};
  EXPECT_FALSE(may(user_caller("alice", {"staff"}), odd, kMayRead));
  EXPECT_TRUE(may(Caller{}, Ownership{"alice", "staff", 0, false}, kMayRead | kMayWrite));
}

TEST(PermissionRule, EntriesWithoutOwnershipReadAsAdminsWithTheDefaultModes) {
  Ownership dir{"", "", kModeUnset, true};
  EXPECT_EQ(dir.effective_owner(), "admin");
  EXPECT_EQ(dir.effective_mode(), 0755u);
  EXPECT_EQ((Ownership{"", "", kModeUnset, false}.effective_mode()), 0644u);
  EXPECT_TRUE(may(user_caller("bob", {}), dir, kMayRead | kMaySearch));
  EXPECT_FALSE(may(user_caller("bob", {}), dir, kMayWrite));
}

TEST(PermissionRule, ModesParsePrintAndFollowTheUmask) {
  EXPECT_EQ(mode_text(true, 0750), "drwxr-x---");
  EXPECT_EQ(mode_text(false, 0644), "-rw-r--r--");
  EXPECT_EQ(parse_mode("750").value(), 0750u);
  EXPECT_EQ(parse_mode("0640").value(), 0640u);
  EXPECT_FALSE(parse_mode("1777").is_ok());  // no sticky or set-id bits
  EXPECT_FALSE(parse_mode("8").is_ok());
  EXPECT_FALSE(parse_mode("").is_ok());
  EXPECT_EQ(mode_for_new(false, 022), 0644u);
  EXPECT_EQ(mode_for_new(true, 077), 0700u);
}

TEST(PermissionRule, RequestsWithBadModesOrNamesAreRefusedAtDecoding) {
  EXPECT_FALSE(decode<SetAttrRequest>(encode(SetAttrRequest{"/a", 01777, "", "", {}})).is_ok());
  EXPECT_FALSE(
      decode<SetAttrRequest>(encode(SetAttrRequest{"/a", kModeUnset, "", "", {}})).is_ok());
  EXPECT_FALSE(
      decode<SetAttrRequest>(encode(SetAttrRequest{"/a", kModeUnset, "Bad Name", "", {}})).is_ok());
  MkdirRequest bad_umask{"/a", false, {}, 01000};
  EXPECT_FALSE(decode<MkdirRequest>(encode(bad_umask)).is_ok());
}

class PermissionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ns = Namespace::open(dir_.path());
    ASSERT_TRUE(ns.is_ok()) << ns.status().to_string();
    ns_ = std::move(ns).value();
    // Home directories made by admin and given away, as an operator would.
    ASSERT_TRUE(run(admin_, MkdirCmd{"/home", false, 1, 0755}).is_ok());
    for (const char* user : {"alice", "bob"}) {
      std::string home = std::string("/home/") + user;
      ASSERT_TRUE(run(admin_, MkdirCmd{home, false, 1, 0755}).is_ok());
      ASSERT_TRUE(run(admin_, SetAttrCmd{home, kModeUnset, user, "staff"}).is_ok());
    }
  }

  template <typename Cmd>
  Status run(const Caller& who, const Cmd& cmd) {
    Command c = make_command(cmd, 5);
    c.caller = who;
    return ns_->apply(ns_->applied_index() + 1, c).status;
  }
  Status put(const Caller& who, const std::string& path, uint32_t mode, bool overwrite = false) {
    std::vector<ChunkInfo> chunks{ChunkInfo{0, next_id(), 10, std::string(64, 'a'), {"w1"}, {}}};
    return run(who, CommitFileCmd{path, overwrite, 10, 1 << 20, 1, chunks, 2, mode});
  }
  std::string next_id() {
    char buf[33];
    std::snprintf(buf, sizeof buf, "%032x", ++ids_);
    return buf;
  }
  Inode entry(const std::string& path) { return ns_->lookup(path).value(); }
  bool exists(const std::string& path) { return ns_->lookup(path).is_ok(); }

  Caller admin_;  // the superuser
  Caller alice_ = user_caller("alice", {"staff"});
  Caller bob_ = user_caller("bob", {"staff"});
  Caller eve_ = user_caller("eve", {});
  unsigned ids_ = 0;
  test::TempDir dir_;
  std::unique_ptr<Namespace> ns_;
};

TEST_F(PermissionTest, NewEntriesBelongToTheirMakerWithTheParentsGroupAndTheirMode) {
  ASSERT_TRUE(put(alice_, "/home/alice/f", 0600).is_ok());
  ASSERT_TRUE(run(alice_, MkdirCmd{"/home/alice/d", false, 1, 0750}).is_ok());
  Inode f = entry("/home/alice/f");
  EXPECT_EQ(f.owner, "alice");
  EXPECT_EQ(f.group, "staff");
  EXPECT_EQ(f.mode, 0600u);
  EXPECT_EQ(entry("/home/alice/d").mode, 0750u);
  bool more = false;
  auto listed = ns_->list("/home/alice", "", "", 10, &more);
  ASSERT_TRUE(listed.is_ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ(listed->at(1).owner, "alice");
  EXPECT_EQ(listed->at(1).mode, 0600u);
}

TEST_F(PermissionTest, APrivateFileIsRefusedToOthersForEveryOperationButNotToAdmin) {
  ASSERT_TRUE(put(alice_, "/home/alice/secret", 0600).is_ok());
  auto denied = [](const Status& s) { return s.code() == Code::kPermissionDenied; };
  EXPECT_TRUE(denied(ns_->accessible(bob_, "/home/alice/secret", kMayRead).status()));
  EXPECT_TRUE(denied(put(bob_, "/home/alice/secret", 0644, /*overwrite=*/true)));
  EXPECT_TRUE(denied(run(bob_, RenameCmd{"/home/alice/secret", "/home/bob/mine", 3})));
  EXPECT_TRUE(denied(run(bob_, DeleteCmd{"/home/alice/secret", false})));
  EXPECT_TRUE(denied(run(bob_, SetAttrCmd{"/home/alice/secret", 0644, "", ""})));
  EXPECT_TRUE(exists("/home/alice/secret"));
  // The owner may read and overwrite it; admin may do everything.
  EXPECT_TRUE(ns_->accessible(alice_, "/home/alice/secret", kMayRead).is_ok());
  EXPECT_TRUE(ns_->accessible(admin_, "/home/alice/secret", kMayRead).is_ok());
  EXPECT_TRUE(put(admin_, "/home/alice/secret", 0644, true).is_ok());
  EXPECT_EQ(entry("/home/alice/secret").owner, "alice");  // an overwrite keeps the owner
  EXPECT_TRUE(run(admin_, RenameCmd{"/home/alice/secret", "/home/alice/moved", 3}).is_ok());
  EXPECT_TRUE(run(admin_, DeleteCmd{"/home/alice/moved", false}).is_ok());
  EXPECT_FALSE(exists("/home/alice/moved"));
}

TEST_F(PermissionTest, AGroupReadableFileIsReadByTheGroupButNotWrittenOrSeenByOthers) {
  ASSERT_TRUE(put(alice_, "/home/alice/shared", 0640).is_ok());
  EXPECT_TRUE(ns_->accessible(bob_, "/home/alice/shared", kMayRead).is_ok());
  EXPECT_EQ(put(bob_, "/home/alice/shared", 0644, true).code(), Code::kPermissionDenied);
  EXPECT_EQ(ns_->accessible(eve_, "/home/alice/shared", kMayRead).status().code(),
            Code::kPermissionDenied);
}

TEST_F(PermissionTest, ADirectoryWithoutSearchHidesEverythingUnderIt) {
  ASSERT_TRUE(put(alice_, "/home/alice/open", 0644).is_ok());
  ASSERT_TRUE(run(alice_, SetAttrCmd{"/home/alice", 0700, "", ""}).is_ok());
  auto s = ns_->accessible(bob_, "/home/alice/open", kMayRead).status();
  EXPECT_EQ(s.code(), Code::kPermissionDenied);
  EXPECT_NE(s.message().find("/home/alice"), std::string::npos) << s.message();
  EXPECT_EQ(run(bob_, MkdirCmd{"/home/alice/x", false, 1, 0755}).code(), Code::kPermissionDenied);
}

TEST_F(PermissionTest, CreatingNeedsWriteOnTheDirectory) {
  EXPECT_EQ(put(bob_, "/home/alice/f", 0644).code(), Code::kPermissionDenied);
  EXPECT_EQ(run(bob_, MkdirCmd{"/home/alice/d", false, 1, 0755}).code(), Code::kPermissionDenied);
  EXPECT_EQ(run(bob_, MkdirCmd{"/top", false, 1, 0755}).code(), Code::kPermissionDenied);
  EXPECT_TRUE(run(bob_, MkdirCmd{"/home/bob/a/b", true, 1, 0755}).is_ok());
  EXPECT_EQ(entry("/home/bob/a").owner, "bob");
  // Moving out of one's own directory into another's is a create there.
  ASSERT_TRUE(put(bob_, "/home/bob/f", 0644).is_ok());
  EXPECT_EQ(run(bob_, RenameCmd{"/home/bob/f", "/home/alice/f", 3}).code(),
            Code::kPermissionDenied);
  EXPECT_TRUE(exists("/home/bob/f"));
}

TEST_F(PermissionTest, MkdirPKeepsTheWayUsableUnderAStrictUmask) {
  // umask 177: 0600 for the leaf, yet the directories on the way stay
  // searchable by their maker.
  ASSERT_TRUE(run(alice_, MkdirCmd{"/home/alice/a/b", true, 1, 0600}).is_ok());
  EXPECT_EQ(entry("/home/alice/a").mode, 0700u);
  EXPECT_EQ(entry("/home/alice/a/b").mode, 0600u);
}

TEST_F(PermissionTest, ChmodDoesNotTellWhetherAHiddenEntryExists) {
  ASSERT_TRUE(put(alice_, "/home/alice/plans", 0644).is_ok());
  ASSERT_TRUE(run(alice_, SetAttrCmd{"/home/alice", 0700, "", ""}).is_ok());
  Status there = run(bob_, SetAttrCmd{"/home/alice/plans", 0644, "", ""});
  Status absent = run(bob_, SetAttrCmd{"/home/alice/nothing", 0644, "", ""});
  EXPECT_EQ(there.code(), Code::kPermissionDenied);
  EXPECT_EQ(absent.code(), Code::kPermissionDenied);
  // The refusal names only what is missing: bob may search /home but not alice's.
  EXPECT_NE(there.message().find("bob may not search /home/alice "), std::string::npos)
      << there.message();
}

TEST_F(PermissionTest, RecursiveDeleteNeedsToEmptyEveryDirectoryInTheTree) {
  ASSERT_TRUE(run(admin_, SetAttrCmd{"/home/bob", 0777, "", ""}).is_ok());
  ASSERT_TRUE(run(alice_, MkdirCmd{"/home/bob/hers", false, 1, 0755}).is_ok());
  ASSERT_TRUE(put(alice_, "/home/bob/hers/f", 0644).is_ok());
  // bob may delete in his directory, but not in alice's under it.
  EXPECT_EQ(run(bob_, DeleteCmd{"/home/bob/hers", true}).code(), Code::kPermissionDenied);
  EXPECT_TRUE(exists("/home/bob/hers/f"));
  EXPECT_TRUE(run(alice_, DeleteCmd{"/home/bob/hers", true}).is_ok());
}

TEST_F(PermissionTest, ChmodIsTheOwnersChownAdminsAndChgrpToOnesOwnGroups) {
  ASSERT_TRUE(put(alice_, "/home/alice/f", 0644).is_ok());
  EXPECT_TRUE(run(alice_, SetAttrCmd{"/home/alice/f", 0600, "", ""}).is_ok());
  EXPECT_EQ(entry("/home/alice/f").mode, 0600u);
  EXPECT_EQ(run(alice_, SetAttrCmd{"/home/alice/f", kModeUnset, "bob", ""}).code(),
            Code::kPermissionDenied);
  EXPECT_EQ(run(alice_, SetAttrCmd{"/home/alice/f", kModeUnset, "", "wheel"}).code(),
            Code::kPermissionDenied);
  EXPECT_TRUE(run(alice_, SetAttrCmd{"/home/alice/f", kModeUnset, "", "staff"}).is_ok());
  EXPECT_TRUE(run(admin_, SetAttrCmd{"/home/alice/f", kModeUnset, "bob", "wheel"}).is_ok());
  EXPECT_EQ(entry("/home/alice/f").owner, "bob");
  EXPECT_EQ(entry("/home/alice/f").group, "wheel");
}

TEST_F(PermissionTest, TheRootsModeCanBeChangedAndSurvivesReopening) {
  EXPECT_EQ(run(alice_, MkdirCmd{"/pub", false, 1, 0755}).code(), Code::kPermissionDenied);
  EXPECT_EQ(run(alice_, SetAttrCmd{"/", 0777, "", ""}).code(), Code::kPermissionDenied);
  ASSERT_TRUE(run(admin_, SetAttrCmd{"/", 0777, "", ""}).is_ok());
  ns_.reset();
  auto ns = Namespace::open(dir_.path());
  ASSERT_TRUE(ns.is_ok());
  ns_ = std::move(ns).value();
  EXPECT_EQ(entry("/").mode, 0777u);
  EXPECT_TRUE(run(alice_, MkdirCmd{"/pub", false, 1, 0755}).is_ok());
}

TEST_F(PermissionTest, OnlyTheUserWhoStartedAnUploadMayGoOnWithIt) {
  const std::string upload(32, 'a');
  ASSERT_TRUE(run(alice_, CreateUploadCmd{upload, "/home/alice/big", 1 << 20, 1, 1, false, 0, 0600})
                  .is_ok());
  std::vector<WorkerAddr> pipeline{{"w1", "tcp://127.0.0.1:9", "", ""}};
  EXPECT_EQ(run(bob_, AllocateChunkCmd{upload, next_id(), 10, pipeline}).code(),
            Code::kPermissionDenied);
  EXPECT_EQ(run(bob_, AbortUploadCmd{upload}).code(), Code::kPermissionDenied);
  std::string chunk = next_id();
  ASSERT_TRUE(run(alice_, AllocateChunkCmd{upload, chunk, 10, pipeline}).is_ok());
  ChunkInfo c{0, chunk, 10, std::string(64, 'a'), {"w1"}, {}};
  EXPECT_EQ(run(bob_, CommitUploadCmd{upload, 10, {c}}).code(), Code::kPermissionDenied);
  ASSERT_TRUE(run(alice_, CommitUploadCmd{upload, 10, {c}}).is_ok());
  EXPECT_EQ(entry("/home/alice/big").mode, 0600u);
  EXPECT_EQ(entry("/home/alice/big").owner, "alice");
}

TEST_F(PermissionTest, AnotherUsersRequestSessionIsNeitherReplayedNorAdvanced) {
  const RequestSession session{77, 1};
  Command mine = make_command(MkdirCmd{"/home/alice/d", false, 1, 0755}, 5, session);
  mine.caller = alice_;
  ASSERT_TRUE(ns_->apply(ns_->applied_index() + 1, mine).status.is_ok());
  EXPECT_TRUE(ns_->answered(session, alice_).has_value());
  EXPECT_FALSE(ns_->answered(session, bob_).has_value());
  Command theirs = make_command(MkdirCmd{"/home/bob/d", false, 1, 0755}, 5, RequestSession{77, 2});
  theirs.caller = bob_;
  EXPECT_EQ(ns_->apply(ns_->applied_index() + 1, theirs).status.code(), Code::kPermissionDenied);
  EXPECT_FALSE(exists("/home/bob/d"));
  // alice's session goes on where it was.
  Command next = make_command(MkdirCmd{"/home/alice/e", false, 1, 0755}, 5, RequestSession{77, 2});
  next.caller = alice_;
  EXPECT_TRUE(ns_->apply(ns_->applied_index() + 1, next).status.is_ok());
}

TEST_F(PermissionTest, AUserCannotRunTheLeadersOwnCommands) {
  EXPECT_EQ(run(alice_, RegisterWorkerCmd{{"w9", "tcp://127.0.0.1:9", "", ""}}).code(),
            Code::kPermissionDenied);
  EXPECT_EQ(run(alice_, WorkerDrainCmd{"w1", true}).code(), Code::kPermissionDenied);
  EXPECT_FALSE(ns_->worker("w9").has_value());
}

}  // namespace
}  // namespace dfs
