// The digests S3 clients check: MD5 (an object's ETag, Content-MD5) and a
// multipart object's ETag, made from its parts' MD5s.
#pragma once

#include <openssl/evp.h>

#include <string>
#include <vector>

namespace dfs::s3 {

// MD5, fed a piece at a time.
class Md5 {
 public:
  Md5();
  ~Md5();
  Md5(const Md5&) = delete;
  Md5& operator=(const Md5&) = delete;
  void update(const char* data, size_t len);
  std::string raw();  // the 16 bytes; once

 private:
  EVP_MD_CTX* ctx_;
};

std::string base64(const std::string& raw);

// The ETag of an object made of parts whose ETags (hex MD5s) are
// `part_etags`, in order: the MD5 of their bytes end to end, then "-N".
// An ETag that is not 32 hex digits gives "".
std::string multipart_etag(const std::vector<std::string>& part_etags);

// The MD5 of no bytes, an empty object's ETag.
inline const std::string kEmptyMd5 = "d41d8cd98f00b204e9800998ecf8427e";

}  // namespace dfs::s3
