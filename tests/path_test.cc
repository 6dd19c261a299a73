#include <gtest/gtest.h>

#include "codec/path.h"

namespace dfs {
namespace {

std::string norm(const std::string& p) {
  auto r = normalize_path(p);
  return r.is_ok() ? r.value() : "ERROR";
}

TEST(Path, NormalizesWhatUsersType) {
  EXPECT_EQ(norm("/"), "/");
  EXPECT_EQ(norm("//a///b/"), "/a/b");
  EXPECT_EQ(norm("/a/./b/../c"), "/a/c");
  EXPECT_EQ(norm("/../../a"), "/a");
  EXPECT_EQ(norm("/a/b/.."), "/a");
  EXPECT_EQ(norm("/héllo wörld"), "/héllo wörld");
}

TEST(Path, RefusesWhatTheNamespaceCannotHold) {
  EXPECT_EQ(norm(""), "ERROR");
  EXPECT_EQ(norm("relative"), "ERROR");
  EXPECT_EQ(norm("/a\nb"), "ERROR");
  EXPECT_EQ(norm(std::string("/a\0b", 4)), "ERROR");
  EXPECT_EQ(norm("/" + std::string(256, 'x')), "ERROR");
  EXPECT_EQ(norm("/" + std::string(255, 'x')), "/" + std::string(255, 'x'));
  EXPECT_EQ(norm("/bad\xff"
                 "utf8"),
            "ERROR");
  EXPECT_EQ(norm("/trunc\xc3"), "ERROR");
  std::string long_path;
  for (int i = 0; i < 500; ++i) long_path += "/abcdefghi";
  EXPECT_EQ(norm(long_path), "ERROR");
}

TEST(Path, ErrorsNameTheProblem) {
  auto r = normalize_path("a/b");
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("not absolute"), std::string::npos);
}

TEST(Path, SplitsAndJoins) {
  EXPECT_EQ(split_path("/"), std::vector<std::string>{});
  EXPECT_EQ(split_path("/a/b"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(parent_path("/a/b"), "/a");
  EXPECT_EQ(parent_path("/a"), "/");
  EXPECT_EQ(base_name("/a/b"), "b");
  EXPECT_EQ(join_path("/", "x"), "/x");
  EXPECT_EQ(join_path("/a", "x"), "/a/x");
  EXPECT_TRUE(is_normal_path("/a/b"));
  EXPECT_FALSE(is_normal_path("/a/b/"));
}

}  // namespace
}  // namespace dfs
