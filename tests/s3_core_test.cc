// The S3 gateway's pure cores: SigV4 (against AWS's published example),
// the listing walk, the XML it reads, the credentials file.
#include <gtest/gtest.h>

#include <map>

#include "client/s3/credentials.h"
#include "client/s3/digest.h"
#include "client/s3/listing.h"
#include "client/s3/sigv4.h"
#include "client/s3/xml.h"
#include "codec/sha256.h"

namespace dfs::s3 {
namespace {

const std::string kAccess = "AKIAIOSFODNN7EXAMPLE";
const std::string kSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const std::string kEmptySha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr int64_t k20130524 = 1369353600;

SignedRequest request(std::map<std::string, std::string> headers, std::string path = "/test.txt",
                      std::vector<std::pair<std::string, std::string>> query = {}) {
  return SignedRequest{"GET", std::move(path), std::move(query),
                       [headers](const std::string& n) -> std::optional<std::string> {
                         auto it = headers.find(n);
                         if (it == headers.end()) return std::nullopt;
                         return it->second;
                       }};
}

SecretLookup secrets() {
  return [](const std::string& k) -> std::optional<std::string> {
    if (k == kAccess) return kSecret;
    return std::nullopt;
  };
}

// AWS's "GET Object" example for header-signed requests.
std::map<std::string, std::string> aws_example_headers(const std::string& signature) {
  return {{"host", "examplebucket.s3.amazonaws.com"},
          {"range", "bytes=0-9"},
          {"x-amz-content-sha256", kEmptySha},
          {"x-amz-date", "20130524T000000Z"},
          {"authorization",
           "AWS4-HMAC-SHA256 Credential=" + kAccess +
               "/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;"
               "x-amz-date,Signature=" +
               signature}};
}
const std::string kAwsSignature =
    "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41";

TEST(SigV4, AcceptsAwsPublishedExample) {
  auto r = verify(request(aws_example_headers(kAwsSignature)), secrets(), k20130524 + 60);
  ASSERT_TRUE(r.ok()) << r.error().code << ": " << r.error().message;
  EXPECT_EQ(r->access_key, kAccess);
  EXPECT_EQ(r->payload_hash, kEmptySha);
}

TEST(SigV4, RefusesAChangedRequestOrSignatureOrKey) {
  std::string bad = kAwsSignature;
  bad[0] = bad[0] == 'f' ? 'e' : 'f';
  auto r = verify(request(aws_example_headers(bad)), secrets(), k20130524);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "SignatureDoesNotMatch");
  EXPECT_EQ(r.error().http, 403);
  // The same signature over another path.
  r = verify(request(aws_example_headers(kAwsSignature), "/test2.txt"), secrets(), k20130524);
  EXPECT_EQ(r.error().code, "SignatureDoesNotMatch");
  // A signed header changed.
  auto h = aws_example_headers(kAwsSignature);
  h["range"] = "bytes=0-99";
  r = verify(request(h), secrets(), k20130524);
  EXPECT_EQ(r.error().code, "SignatureDoesNotMatch");
  r = verify(
      request(aws_example_headers(kAwsSignature)),
      [](const std::string&) { return std::optional<std::string>(); }, k20130524);
  EXPECT_EQ(r.error().code, "InvalidAccessKeyId");
}

TEST(SigV4, RefusesAnUnsignedAmzHeader) {
  auto req = request(aws_example_headers(kAwsSignature));
  req.header_names = {"host", "range", "x-amz-content-sha256", "x-amz-date", "authorization"};
  ASSERT_TRUE(verify(req, secrets(), k20130524).ok());
  // Added to a captured request, it would turn a PUT into a copy.
  req.header_names.push_back("x-amz-copy-source");
  auto r = verify(req, secrets(), k20130524);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "AccessDenied");
}

TEST(SigV4, RefusesASkewedClockAndUnsignedRequests) {
  auto r = verify(request(aws_example_headers(kAwsSignature)), secrets(), k20130524 + 16 * 60);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "RequestTimeTooSkewed");
  r = verify(request({{"host", "x"}}), secrets(), k20130524);
  EXPECT_EQ(r.error().code, "AccessDenied");
  auto h = aws_example_headers(kAwsSignature);
  h["authorization"] = "AWS AKIA:abc";  // signature version 2
  r = verify(request(h), secrets(), k20130524);
  EXPECT_EQ(r.error().code, "AuthorizationHeaderMalformed");
}

// A presigned URL made the way clients make one, checked by verify.
std::vector<std::pair<std::string, std::string>> presign(const std::string& path, int64_t at,
                                                         int expires) {
  std::vector<std::pair<std::string, std::string>> q = {
      {"X-Amz-Algorithm", "AWS4-HMAC-SHA256"},
      {"X-Amz-Credential", kAccess + "/20130524/us-east-1/s3/aws4_request"},
      {"X-Amz-Date", "20130524T000000Z"},
      {"X-Amz-Expires", std::to_string(expires)},
      {"X-Amz-SignedHeaders", "host"}};
  (void)at;
  auto req = request({{"host", "127.0.0.1:7490"}}, path, q);
  std::string canonical = canonical_request(req, {"host"}, "UNSIGNED-PAYLOAD", true);
  std::string to_sign = "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n" +
                        Sha256::hex_of(canonical);
  q.emplace_back("X-Amz-Signature", signature(kSecret, "20130524", "us-east-1", to_sign));
  return q;
}

TEST(SigV4, PresignedUrlsWorkUntilTheyExpire) {
  auto q = presign("/b/a key+x", k20130524, 3600);
  auto r =
      verify(request({{"host", "127.0.0.1:7490"}}, "/b/a key+x", q), secrets(), k20130524 + 3599);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->payload_hash, "UNSIGNED-PAYLOAD");
  r = verify(request({{"host", "127.0.0.1:7490"}}, "/b/a key+x", q), secrets(), k20130524 + 3601);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "AccessDenied");
  r = verify(request({{"host", "127.0.0.1:7490"}}, "/b/other", q), secrets(), k20130524 + 10);
  EXPECT_EQ(r.error().code, "SignatureDoesNotMatch");
  auto long_lived = presign("/b/k", k20130524, 8 * 24 * 3600);
  r = verify(request({{"host", "127.0.0.1:7490"}}, "/b/k", long_lived), secrets(), k20130524);
  EXPECT_EQ(r.error().code, "AuthorizationQueryParametersError");
}

TEST(SigV4, UriEncodingIsAwss) {
  EXPECT_EQ(uri_encode("a b/c~d.e-f_g", true), "a%20b/c~d.e-f_g");
  EXPECT_EQ(uri_encode("a/b+c=d&", false), "a%2Fb%2Bc%3Dd%26");
  EXPECT_EQ(uri_encode("\xc3\xa9", false), "%C3%A9");
}

// A bucket as a tree of directories, for the listing walk.
class FakeTree {
 public:
  void file(const std::string& path) { add(path, false); }
  void dir(const std::string& path) { add(path, true); }
  Lister lister() {
    return [this](const std::string& d) -> dfs::Result<std::vector<EntryInfo>> {
      ++calls;
      auto it = dirs_.find(d);
      if (it == dirs_.end()) return Status(Code::kNotFound, d);
      std::vector<EntryInfo> out;
      for (const auto& [name, is_dir] : it->second) {
        EntryInfo e;
        e.name = name;
        e.kind = static_cast<uint8_t>(is_dir ? EntryKind::kDirectory : EntryKind::kFile);
        out.push_back(e);
      }
      return out;
    };
  }
  int calls = 0;

 private:
  void add(const std::string& path, bool is_dir) {
    size_t slash = path.rfind('/');
    std::string parent = slash == 0 ? "/" : path.substr(0, slash);
    if (parent != "/" && !dirs_.count(parent)) add(parent, true);
    dirs_[parent][path.substr(slash + 1)] = is_dir;
    if (is_dir) dirs_[path];
  }
  std::map<std::string, std::map<std::string, bool>> dirs_;
};

std::vector<std::string> keys(const Listing& l) {
  std::vector<std::string> out;
  for (const auto& o : l.objects) out.push_back(o.key);
  return out;
}

TEST(Listing, KeysComeInByteOrderWhateverTheDirectories) {
  FakeTree t;
  for (const char* p : {"/b/a/x", "/b/a-b", "/b/a.c", "/b/a/y/z", "/b/ab", "/b/0"}) t.file(p);
  auto l = list_objects("b", ListQuery{}, t.lister());
  ASSERT_TRUE(l.ok());
  // '-' (0x2d) and '.' (0x2e) sort before '/' (0x2f).
  EXPECT_EQ(keys(l.value()), (std::vector<std::string>{"0", "a-b", "a.c", "a/x", "a/y/z", "ab"}));
}

TEST(Listing, ADelimiterGroupsCommonPrefixes) {
  FakeTree t;
  for (const char* p :
       {"/b/photos/2024/a.jpg", "/b/photos/2025/b.jpg", "/b/photos/c.jpg", "/b/readme"}) {
    t.file(p);
  }
  ListQuery q;
  q.delimiter = "/";
  auto l = list_objects("b", q, t.lister());
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(keys(l.value()), std::vector<std::string>{"readme"});
  EXPECT_EQ(l->common_prefixes, std::vector<std::string>{"photos/"});
  q.prefix = "photos/";
  l = list_objects("b", q, t.lister());
  EXPECT_EQ(keys(l.value()), std::vector<std::string>{"photos/c.jpg"});
  EXPECT_EQ(l->common_prefixes, (std::vector<std::string>{"photos/2024/", "photos/2025/"}));
  q.prefix = "photos/202";
  l = list_objects("b", q, t.lister());
  EXPECT_TRUE(keys(l.value()).empty());
  EXPECT_EQ(l->common_prefixes, (std::vector<std::string>{"photos/2024/", "photos/2025/"}));
  // Another delimiter walks down and groups as S3 does.
  q.prefix = "";
  q.delimiter = "2";
  l = list_objects("b", q, t.lister());
  EXPECT_EQ(keys(l.value()), (std::vector<std::string>{"photos/c.jpg", "readme"}));
  EXPECT_EQ(l->common_prefixes, std::vector<std::string>{"photos/2"});
}

TEST(Listing, PagesCoverEveryKeyOnce) {
  FakeTree t;
  std::vector<std::string> all;
  for (int d = 0; d < 7; ++d) {
    for (int f = 0; f < 13; ++f) {
      std::string k = "d" + std::to_string(d) + "/f" + std::to_string(f);
      t.file("/b/" + k);
      all.push_back(k);
    }
  }
  std::sort(all.begin(), all.end());
  for (size_t page : {1, 5, 13, 100}) {
    ListQuery q;
    q.max_keys = page;
    std::vector<std::string> got;
    for (int guard = 0; guard < 200; ++guard) {
      auto l = list_objects("b", q, t.lister());
      ASSERT_TRUE(l.ok());
      auto k = keys(l.value());
      got.insert(got.end(), k.begin(), k.end());
      ASSERT_LE(k.size(), page);
      if (!l->truncated) break;
      q.start_after = l->next_after;
    }
    EXPECT_EQ(got, all) << "page " << page;
  }
  // With a delimiter, a page may end on a common prefix.
  ListQuery q;
  q.delimiter = "/";
  q.max_keys = 3;
  auto l = list_objects("b", q, t.lister());
  EXPECT_EQ(l->common_prefixes, (std::vector<std::string>{"d0/", "d1/", "d2/"}));
  EXPECT_TRUE(l->truncated);
  q.start_after = l->next_after;
  l = list_objects("b", q, t.lister());
  EXPECT_EQ(l->common_prefixes, (std::vector<std::string>{"d3/", "d4/", "d5/"}));
}

TEST(Listing, AMissingBucketIsNoSuchBucketAndAMissingPrefixIsEmpty) {
  FakeTree t;
  t.file("/b/x");
  auto l = list_objects("nope", ListQuery{}, t.lister());
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.error().code, "NoSuchBucket");
  ListQuery q;
  q.prefix = "no/such/dir/";
  l = list_objects("b", q, t.lister());
  ASSERT_TRUE(l.ok());
  EXPECT_TRUE(l->objects.empty());
  q.prefix = "x/under-a-file";
  l = list_objects("b", q, t.lister());
  ASSERT_TRUE(l.ok());
  EXPECT_TRUE(l->objects.empty());
}

TEST(S3Xml, ParsesDeleteAndRefusesGarbage) {
  auto d = parse_delete(
      "<Delete><Quiet>true</Quiet><Object><Key>a&amp;b</Key></Object><Object><Key>c</Key></"
      "Object></Delete>");
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->quiet);
  EXPECT_EQ(d->keys, (std::vector<std::string>{"a&b", "c"}));
  EXPECT_EQ(parse_delete("<Delete><Object>").error().code, "MalformedXML");
  EXPECT_EQ(parse_delete("<Other/>").error().code, "MalformedXML");
  EXPECT_EQ(parse_delete("<Delete><Object><Nope/></Object></Delete>").error().code, "MalformedXML");
  // An entity defined in a DTD is not expanded.
  auto e = parse_delete(
      "<!DOCTYPE d [<!ENTITY x \"boom\">]><Delete><Object><Key>&x;</Key></Object></Delete>");
  // Kept as written, or refused: never expanded.
  if (e.ok()) {
    EXPECT_EQ(e->keys, std::vector<std::string>{"&x;"});
  } else {
    EXPECT_EQ(e.error().code, "MalformedXML");
  }
  EXPECT_EQ(xml_escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&apos;");
}

TEST(S3Xml, ParsesCompleteMultipartUploadAndRefusesBadPartLists) {
  auto parts = parse_complete(
      "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"abc\"</ETag></Part>"
      "<Part><ETag>&quot;def&quot;</ETag><PartNumber>7</PartNumber></Part>"
      "</CompleteMultipartUpload>");
  ASSERT_TRUE(parts.ok()) << parts.error().message;
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ(parts.value()[0].number, 1u);
  EXPECT_EQ(parts.value()[0].etag, "abc");  // unquoted
  EXPECT_EQ(parts.value()[1].number, 7u);
  EXPECT_EQ(parts.value()[1].etag, "def");
  auto code = [](const std::string& body) {
    auto r = parse_complete(body);
    return r.ok() ? std::string("ok") : r.error().code;
  };
  const std::string part2 = "<Part><PartNumber>2</PartNumber><ETag>a</ETag></Part>";
  const std::string part1 = "<Part><PartNumber>1</PartNumber><ETag>a</ETag></Part>";
  EXPECT_EQ(code("<CompleteMultipartUpload>" + part2 + part1 + "</CompleteMultipartUpload>"),
            "InvalidPartOrder");
  EXPECT_EQ(code("<CompleteMultipartUpload>" + part1 + part1 + "</CompleteMultipartUpload>"),
            "InvalidPartOrder");
  EXPECT_EQ(code("<CompleteMultipartUpload></CompleteMultipartUpload>"), "MalformedXML");
  EXPECT_EQ(code("<CompleteMultipartUpload><Part><ETag>a</ETag></Part></CompleteMultipartUpload>"),
            "MalformedXML");
  EXPECT_EQ(code("<CompleteMultipartUpload><Part><PartNumber>10001</PartNumber></Part>"
                 "</CompleteMultipartUpload>"),
            "InvalidArgument");
  EXPECT_EQ(code("<CompleteMultipartUpload><Part><PartNumber>-1</PartNumber></Part>"
                 "</CompleteMultipartUpload>"),
            "MalformedXML");
  EXPECT_EQ(code("not xml"), "MalformedXML");
  EXPECT_EQ(code("<Other/>"), "MalformedXML");
}

TEST(S3Digest, AMultipartETagIsTheMd5OfThePartsMd5sThenTheirCount) {
  Md5 hello;
  hello.update("hello", 5);
  EXPECT_EQ(to_hex(hello.raw()), "5d41402abc4b2a76b9719d911017c592");
  // md5(bytes of md5("hello") then md5("world")), as S3 and its clients compute it.
  EXPECT_EQ(
      multipart_etag({"5d41402abc4b2a76b9719d911017c592", "7d793037a0760186574b0282f2f435e7"}),
      "065947336a2f2a95ba8899f3675c3be6-2");
  EXPECT_EQ(multipart_etag({"not-an-md5"}), "");
  EXPECT_EQ(base64("hello"), "aGVsbG8=");
}

TEST(S3Xml, WritesTimesAsS3Does) {
  EXPECT_EQ(iso8601(k20130524 * 1000 + 123), "2013-05-24T00:00:00.123Z");
  EXPECT_EQ(http_date(k20130524 * 1000 + 999), "Fri, 24 May 2013 00:00:00 GMT");
}

TEST(Credentials, ParsesLinesAndRefusesBadOnes) {
  auto c = Credentials::parse(
      "# keys\nAK1 secret-one /k/one.key\n\nAK2 secret-two /k/two.key # me\n", "creds", false);
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  EXPECT_EQ(c->size(), 2u);
  ASSERT_NE(c->find("AK2"), nullptr);
  EXPECT_EQ(c->find("AK2")->secret, "secret-two");
  EXPECT_EQ(c->find("AK3"), nullptr);
  EXPECT_FALSE(Credentials::parse("AK1 secret-one\n", "creds", false).is_ok());
  EXPECT_FALSE(Credentials::parse("AK1 short /k\n", "creds", false).is_ok());
  EXPECT_FALSE(Credentials::parse("AK1 secret-one /k a\n", "creds", false).is_ok());
  auto dup = Credentials::parse("AK1 secret-one /k\nAK1 secret-two /k\n", "creds", false);
  ASSERT_FALSE(dup.is_ok());
  EXPECT_NE(dup.status().message().find("creds:2"), std::string::npos);
}

}  // namespace
}  // namespace dfs::s3
