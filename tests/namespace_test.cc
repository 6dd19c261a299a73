// The metadata state machine: every operation, its errors, and that what it
// applied survives reopening.
#include <gtest/gtest.h>

#include "codec/codec.h"
#include "master/namespace.h"
#include "tests/test_util.h"

namespace dfs {
namespace {

class NamespaceTest : public ::testing::Test {
 protected:
  void SetUp() override { reopen(); }

  void reopen() {
    ns_.reset();
    auto ns = Namespace::open(dir_.path());
    ASSERT_TRUE(ns.is_ok()) << ns.status().to_string();
    ns_ = std::move(ns).value();
  }

  template <typename Cmd>
  Status apply(const Cmd& cmd) {
    return ns_->apply(ns_->applied_index() + 1, Cmd::kType, encode(cmd));
  }
  Status mkdir(const std::string& p, bool parents = false) {
    return apply(MkdirCmd{p, parents, 1});
  }
  Status put(const std::string& p, uint64_t size = 10, bool overwrite = false,
             const std::string& id = kId) {
    std::vector<ChunkInfo> chunks;
    if (size > 0) chunks.push_back(ChunkInfo{0, id, size, std::string(64, 'a'), {"w1"}, {}});
    return apply(CommitFileCmd{p, overwrite, size, 1 << 20, 1, chunks, 2});
  }
  Status rm(const std::string& p, bool recursive = false) { return apply(DeleteCmd{p, recursive}); }
  Status mv(const std::string& a, const std::string& b) { return apply(RenameCmd{a, b, 3}); }
  bool exists(const std::string& p) { return ns_->lookup(p).is_ok(); }
  std::vector<std::string> names(const std::string& dir, const std::string& prefix = "") {
    bool more = false;
    auto l = ns_->list(dir, prefix, "", 100, &more);
    std::vector<std::string> out;
    if (l.is_ok()) {
      for (auto& e : l.value()) out.push_back(e.name);
    }
    return out;
  }

  static constexpr const char* kId = "0123456789abcdef0123456789abcdef";
  test::TempDir dir_;
  std::unique_ptr<Namespace> ns_;
};

TEST_F(NamespaceTest, MkdirNeedsItsParentUnlessAskedToMakeIt) {
  EXPECT_EQ(mkdir("/a/b").code(), Code::kNotFound);
  EXPECT_TRUE(mkdir("/a/b", true).is_ok());
  EXPECT_TRUE(exists("/a/b"));
  EXPECT_EQ(mkdir("/a").code(), Code::kAlreadyExists);
  EXPECT_TRUE(mkdir("/a", true).is_ok());
  EXPECT_EQ(ns_->directory_count(), 2u);
}

TEST_F(NamespaceTest, LookupsAfterMovingOrDeletingAWalkedDirectoryFindTheNewTree) {
  ASSERT_TRUE(mkdir("/a/b", true).is_ok());
  ASSERT_TRUE(put("/a/b/f").is_ok());
  ASSERT_TRUE(exists("/a/b/f"));  // walked: /a and /a/b are remembered
  ASSERT_TRUE(mv("/a", "/c").is_ok());
  EXPECT_FALSE(exists("/a/b/f"));
  EXPECT_TRUE(exists("/c/b/f"));
  ASSERT_TRUE(rm("/c", true).is_ok());
  ASSERT_TRUE(mkdir("/c/b", true).is_ok());
  EXPECT_FALSE(exists("/c/b/f")) << "a directory made again at a deleted one's path is new";
  ASSERT_TRUE(put("/c/b/g").is_ok());
  EXPECT_EQ(names("/c/b"), std::vector<std::string>{"g"});
}

TEST_F(NamespaceTest, MkdirUnderAFileIsNotADirectory) {
  ASSERT_TRUE(put("/f").is_ok());
  EXPECT_EQ(mkdir("/f/x").code(), Code::kNotADirectory);
  EXPECT_EQ(mkdir("/f", true).code(), Code::kNotADirectory);
}

TEST_F(NamespaceTest, CommitMakesTheFileVisibleWithItsChunks) {
  ASSERT_TRUE(put("/f", 10).is_ok());
  auto f = ns_->lookup("/f");
  ASSERT_TRUE(f.is_ok());
  EXPECT_EQ(f->size, 10u);
  ASSERT_EQ(f->chunks.size(), 1u);
  EXPECT_EQ(f->chunks[0].replicas, std::vector<std::string>{"w1"});
  EXPECT_EQ(ns_->file_count(), 1u);
}

TEST_F(NamespaceTest, CommitRefusesExistingNamesUnlessOverwriting) {
  ASSERT_TRUE(put("/f").is_ok());
  EXPECT_EQ(put("/f").code(), Code::kAlreadyExists);
  ASSERT_TRUE(mkdir("/d").is_ok());
  EXPECT_EQ(put("/d", 10, true).code(), Code::kIsADirectory);
  EXPECT_EQ(put("/missing/f").code(), Code::kNotFound);
  EXPECT_EQ(put("/f/g").code(), Code::kNotADirectory);
}

TEST_F(NamespaceTest, OverwriteReplacesAndCollectsTheOldChunks) {
  ASSERT_TRUE(put("/f", 10).is_ok());
  ASSERT_TRUE(put("/f", 20, true, "ffffffffffffffffffffffffffffffff").is_ok());
  EXPECT_EQ(ns_->lookup("/f")->size, 20u);
  EXPECT_EQ(ns_->file_count(), 1u);
  auto garbage = ns_->garbage(10);
  EXPECT_EQ(garbage["w1"], std::vector<std::string>{kId});
}

TEST_F(NamespaceTest, EmptyFileHasNoChunks) {
  ASSERT_TRUE(put("/empty", 0).is_ok());
  EXPECT_EQ(ns_->lookup("/empty")->chunks.size(), 0u);
}

TEST_F(NamespaceTest, DeleteRefusesNonEmptyDirectoriesUnlessRecursive) {
  ASSERT_TRUE(mkdir("/d/e", true).is_ok());
  ASSERT_TRUE(put("/d/e/f").is_ok());
  EXPECT_EQ(rm("/d").code(), Code::kDirectoryNotEmpty);
  EXPECT_TRUE(rm("/d", true).is_ok());
  EXPECT_FALSE(exists("/d"));
  EXPECT_FALSE(exists("/d/e/f"));
  EXPECT_EQ(ns_->file_count(), 0u);
  EXPECT_EQ(ns_->directory_count(), 0u);
  EXPECT_EQ(ns_->garbage(10)["w1"], std::vector<std::string>{kId});
  EXPECT_EQ(rm("/d").code(), Code::kNotFound);
  EXPECT_EQ(rm("/").code(), Code::kInvalidArgument);
}

TEST_F(NamespaceTest, ChunkIndexFollowsCommitsOverwritesAndDeletes) {
  const std::string other = "ffffffffffffffffffffffffffffffff";
  EXPECT_FALSE(ns_->references_chunk(kId));
  ASSERT_TRUE(put("/f", 10).is_ok());
  EXPECT_TRUE(ns_->references_chunk(kId));
  ASSERT_TRUE(put("/f", 20, true, other).is_ok());
  EXPECT_FALSE(ns_->references_chunk(kId));
  EXPECT_TRUE(ns_->references_chunk(other));
  ASSERT_TRUE(mkdir("/d").is_ok());
  ASSERT_TRUE(mv("/f", "/d/f").is_ok());
  EXPECT_TRUE(ns_->references_chunk(other));
  ASSERT_TRUE(rm("/d", true).is_ok());
  EXPECT_FALSE(ns_->references_chunk(other));
}

TEST_F(NamespaceTest, GcDoneForgetsCollectedChunks) {
  ASSERT_TRUE(put("/f").is_ok());
  ASSERT_TRUE(rm("/f").is_ok());
  EXPECT_EQ(ns_->garbage_count(), 1u);
  ASSERT_TRUE(apply(GcDoneCmd{"w1", {kId}}).is_ok());
  EXPECT_EQ(ns_->garbage_count(), 0u);
}

TEST_F(NamespaceTest, RenameMovesFilesAndWholeDirectories) {
  ASSERT_TRUE(mkdir("/a/b", true).is_ok());
  ASSERT_TRUE(put("/a/b/f").is_ok());
  ASSERT_TRUE(mkdir("/z").is_ok());
  ASSERT_TRUE(mv("/a", "/z/a2").is_ok());
  EXPECT_TRUE(exists("/z/a2/b/f"));
  EXPECT_FALSE(exists("/a"));
  ASSERT_TRUE(mv("/z/a2/b/f", "/g").is_ok());
  EXPECT_TRUE(exists("/g"));
}

TEST_F(NamespaceTest, RenameErrors) {
  ASSERT_TRUE(mkdir("/a/b", true).is_ok());
  ASSERT_TRUE(put("/f").is_ok());
  EXPECT_EQ(mv("/nope", "/x").code(), Code::kNotFound);
  EXPECT_EQ(mv("/f", "/a").code(), Code::kAlreadyExists);
  EXPECT_EQ(mv("/f", "/missing/f").code(), Code::kNotFound);
  EXPECT_EQ(mv("/a", "/a/b/c").code(), Code::kInvalidArgument);
  EXPECT_EQ(mv("/f", "/f/x").code(), Code::kNotADirectory);
  EXPECT_TRUE(mv("/f", "/f").is_ok());
}

TEST_F(NamespaceTest, RenameWithReplaceReplacesAFileAndCollectsItsChunks) {
  const std::string other = "ffffffffffffffffffffffffffffffff";
  ASSERT_TRUE(put("/old", 10).is_ok());
  ASSERT_TRUE(put("/new", 20, false, other).is_ok());
  ASSERT_TRUE(mkdir("/d").is_ok());
  EXPECT_EQ(mv("/new", "/old").code(), Code::kAlreadyExists);  // without replace: refused
  ASSERT_TRUE(apply(RenameCmd{"/new", "/old", 3, true}).is_ok());
  EXPECT_FALSE(exists("/new"));
  EXPECT_EQ(ns_->lookup("/old")->size, 20u);
  EXPECT_EQ(ns_->file_count(), 1u);
  EXPECT_FALSE(ns_->references_chunk(kId));
  EXPECT_EQ(ns_->garbage(10)["w1"], std::vector<std::string>{kId});
  // Only a file replaces a file.
  EXPECT_EQ(apply(RenameCmd{"/old", "/d", 3, true}).code(), Code::kIsADirectory);
  ASSERT_TRUE(put("/f", 10).is_ok());
  EXPECT_EQ(apply(RenameCmd{"/d", "/f", 3, true}).code(), Code::kNotADirectory);
  EXPECT_TRUE(exists("/d"));
  EXPECT_TRUE(exists("/f"));
}

TEST_F(NamespaceTest, ListsInNameOrderWithPrefixesAndPages) {
  ASSERT_TRUE(mkdir("/d").is_ok());
  for (const char* n : {"b2", "a", "b1", "c"}) ASSERT_TRUE(put(std::string("/d/") + n).is_ok());
  EXPECT_EQ(names("/d"), (std::vector<std::string>{"a", "b1", "b2", "c"}));
  EXPECT_EQ(names("/d", "b"), (std::vector<std::string>{"b1", "b2"}));
  bool more = false;
  auto page = ns_->list("/d", "", "", 2, &more);
  ASSERT_TRUE(page.is_ok());
  EXPECT_EQ(page->size(), 2u);
  EXPECT_TRUE(more);
  page = ns_->list("/d", "", "b1", 10, &more);
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ(page.value()[0].name, "b2");
  EXPECT_FALSE(more);
  EXPECT_EQ(ns_->list("/d/a", "", "", 10, &more).status().code(), Code::kNotADirectory);
}

TEST_F(NamespaceTest, SiblingDirectoriesDoNotLeakIntoListings) {
  ASSERT_TRUE(mkdir("/x/y", true).is_ok());
  ASSERT_TRUE(put("/x/y/deep").is_ok());
  ASSERT_TRUE(put("/x/top").is_ok());
  EXPECT_EQ(names("/x"), (std::vector<std::string>{"top", "y"}));
  EXPECT_EQ(names("/"), std::vector<std::string>{"x"});
}

TEST_F(NamespaceTest, EverythingAppliedSurvivesReopening) {
  ASSERT_TRUE(mkdir("/a/b", true).is_ok());
  ASSERT_TRUE(put("/a/b/f", 10).is_ok());
  ASSERT_TRUE(apply(RegisterWorkerCmd{{"w1", "tcp://127.0.0.1:9", ""}}).is_ok());
  uint64_t index = ns_->applied_index();
  reopen();
  EXPECT_EQ(ns_->applied_index(), index);
  EXPECT_TRUE(exists("/a/b/f"));
  EXPECT_EQ(ns_->file_count(), 1u);
  EXPECT_EQ(ns_->directory_count(), 2u);
  ASSERT_EQ(ns_->workers().size(), 1u);
  // New inodes after a reopen do not collide with old ones.
  ASSERT_TRUE(mkdir("/c").is_ok());
  ASSERT_TRUE(put("/c/g").is_ok());
  EXPECT_EQ(names("/a/b"), std::vector<std::string>{"f"});
  EXPECT_EQ(names("/c"), std::vector<std::string>{"g"});
}

TEST_F(NamespaceTest, FailedCommandsChangeNothingButTheIndex) {
  ASSERT_TRUE(mkdir("/a").is_ok());
  uint64_t before = ns_->applied_index();
  EXPECT_FALSE(mkdir("/a").is_ok());
  EXPECT_EQ(ns_->applied_index(), before + 1);
  EXPECT_EQ(ns_->directory_count(), 1u);
}

TEST_F(NamespaceTest, MalformedCommandIsAnErrorNotACrash) {
  EXPECT_EQ(ns_->apply(ns_->applied_index() + 1, MsgType::kMkdirCmd, "\xc1garbage").code(),
            Code::kProtocol);
  EXPECT_EQ(
      ns_->apply(ns_->applied_index() + 1, MsgType::kStatRequest, encode(StatRequest{"/"})).code(),
      Code::kProtocol);
}

}  // namespace
}  // namespace dfs
