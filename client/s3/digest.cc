#include "client/s3/digest.h"

#include "client/s3/sigv4.h"

namespace dfs::s3 {

Md5::Md5() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_md5(), nullptr); }
Md5::~Md5() { EVP_MD_CTX_free(ctx_); }
void Md5::update(const char* data, size_t len) { EVP_DigestUpdate(ctx_, data, len); }
std::string Md5::raw() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_, out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string base64(const std::string& raw) {
  std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(raw.data()),
                          static_cast<int>(raw.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string multipart_etag(const std::vector<std::string>& part_etags) {
  std::string digests;
  for (const auto& e : part_etags) {
    if (e.size() != 32 || e.find_first_not_of("0123456789abcdef") != std::string::npos) return "";
    for (size_t i = 0; i < 32; i += 2) {
      digests.push_back(static_cast<char>(std::stoi(e.substr(i, 2), nullptr, 16)));
    }
  }
  Md5 md5;
  md5.update(digests.data(), digests.size());
  return to_hex(md5.raw()) + "-" + std::to_string(part_etags.size());
}

}  // namespace dfs::s3
