#include "client/s3/sigv4.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <ctime>
#include <map>

#include "codec/sha256.h"

namespace dfs::s3 {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

std::string hmac(const std::string& key, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

// Header values are signed trimmed, with runs of spaces made one.
std::string canonical_value(std::string_view v) {
  std::string t = trim(v), out;
  for (char c : t) {
    if (c == ' ' && !out.empty() && out.back() == ' ') continue;
    out.push_back(c == '\t' ? ' ' : c);
  }
  return out;
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t at = s.find(sep, start);
    out.emplace_back(s.substr(start, at == std::string_view::npos ? s.size() - start : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

// "20130524T000000Z" as seconds since the epoch; -1 if malformed.
int64_t parse_amz_date(const std::string& s) {
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return -1;
  for (size_t i = 0; i < 15; ++i) {
    if (i != 8 && (s[i] < '0' || s[i] > '9')) return -1;
  }
  std::tm tm{};
  tm.tm_year = std::stoi(s.substr(0, 4)) - 1900;
  tm.tm_mon = std::stoi(s.substr(4, 2)) - 1;
  tm.tm_mday = std::stoi(s.substr(6, 2));
  tm.tm_hour = std::stoi(s.substr(9, 2));
  tm.tm_min = std::stoi(s.substr(11, 2));
  tm.tm_sec = std::stoi(s.substr(13, 2));
  return static_cast<int64_t>(timegm(&tm));
}

S3Error malformed(const std::string& why) { return {400, "AuthorizationHeaderMalformed", why}; }

// The pieces of a signature, from the header or the query.
struct Claimed {
  std::string access_key, date, region, amz_date, signature;
  std::vector<std::string> signed_headers;
};

Result<Claimed> parse_credential(const std::string& credential, Claimed c) {
  auto parts = split(credential, '/');
  if (parts.size() != 5 || parts[3] != "s3" || parts[4] != "aws4_request") {
    return malformed("the credential must be KEY/DATE/REGION/s3/aws4_request, not " + credential);
  }
  c.access_key = parts[0];
  c.date = parts[1];
  c.region = parts[2];
  return c;
}

}  // namespace

std::string to_hex(const std::string& bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

std::string uri_encode(std::string_view s, bool keep_slash) {
  static const char* kDigits = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kDigits[c >> 4]);
      out.push_back(kDigits[c & 15]);
    }
  }
  return out;
}

std::string signature(const std::string& secret, const std::string& date, const std::string& region,
                      const std::string& string_to_sign) {
  std::string key = hmac("AWS4" + secret, date);
  key = hmac(key, region);
  key = hmac(key, "s3");
  key = hmac(key, "aws4_request");
  return to_hex(hmac(key, string_to_sign));
}

std::string canonical_request(const SignedRequest& request,
                              const std::vector<std::string>& signed_headers,
                              const std::string& payload_hash, bool presigned) {
  std::vector<std::pair<std::string, std::string>> query;
  for (const auto& [k, v] : request.query) {
    if (presigned && k == "X-Amz-Signature") continue;
    query.emplace_back(uri_encode(k, false), uri_encode(v, false));
  }
  std::sort(query.begin(), query.end());
  std::string q;
  for (const auto& [k, v] : query) q += (q.empty() ? "" : "&") + k + "=" + v;
  std::string headers;
  for (const auto& name : signed_headers) {
    headers += name + ":" + canonical_value(request.header(name).value_or("")) + "\n";
  }
  std::string names;
  for (const auto& name : signed_headers) names += (names.empty() ? "" : ";") + name;
  return request.method + "\n" + uri_encode(request.path, true) + "\n" + q + "\n" + headers + "\n" +
         names + "\n" + payload_hash;
}

Result<Signer> verify(const SignedRequest& request, const SecretLookup& secrets, int64_t now_s) {
  std::map<std::string, std::string> query(request.query.begin(), request.query.end());
  const bool presigned = query.count("X-Amz-Signature") > 0;
  auto authorization = request.header("authorization");
  Claimed c;
  std::string payload_hash;
  int64_t expires_s = 0;
  if (presigned) {
    if (query["X-Amz-Algorithm"] != kAlgorithm) {
      return S3Error{400, "AuthorizationQueryParametersError",
                     "X-Amz-Algorithm must be " + std::string(kAlgorithm)};
    }
    auto parsed = parse_credential(query["X-Amz-Credential"], c);
    if (!parsed.ok()) return parsed.error();
    c = parsed.value();
    c.amz_date = query["X-Amz-Date"];
    c.signature = query["X-Amz-Signature"];
    c.signed_headers = split(query["X-Amz-SignedHeaders"], ';');
    try {
      expires_s = std::stoll(query["X-Amz-Expires"]);
    } catch (const std::exception&) {
      expires_s = -1;
    }
    if (expires_s < 1 || expires_s > kMaxPresignedExpiryS) {
      return S3Error{400, "AuthorizationQueryParametersError",
                     "X-Amz-Expires must be from 1 to 604800 seconds"};
    }
    payload_hash =
        query.count("X-Amz-Content-Sha256") ? query["X-Amz-Content-Sha256"] : "UNSIGNED-PAYLOAD";
  } else if (authorization) {
    const std::string& a = *authorization;
    if (a.compare(0, kAlgorithm.size() + 1, std::string(kAlgorithm) + " ") != 0) {
      return malformed("only " + std::string(kAlgorithm) + " signatures are accepted");
    }
    for (const auto& field : split(a.substr(kAlgorithm.size() + 1), ',')) {
      std::string f = trim(field);
      size_t eq = f.find('=');
      if (eq == std::string::npos) return malformed("a field without '=': " + f);
      std::string name = f.substr(0, eq), value = f.substr(eq + 1);
      if (name == "Credential") {
        auto parsed = parse_credential(value, c);
        if (!parsed.ok()) return parsed.error();
        c = parsed.value();
      } else if (name == "SignedHeaders") {
        c.signed_headers = split(value, ';');
      } else if (name == "Signature") {
        c.signature = value;
      }
    }
    if (c.access_key.empty() || c.signature.empty() || c.signed_headers.empty()) {
      return malformed("Credential, SignedHeaders and Signature are all required");
    }
    c.amz_date = request.header("x-amz-date").value_or("");
    auto hash = request.header("x-amz-content-sha256");
    if (!hash) return S3Error{400, "InvalidRequest", "x-amz-content-sha256 is required"};
    payload_hash = *hash;
  } else if (query.count("AWSAccessKeyId") && query.count("Signature")) {
    return S3Error{400, "InvalidRequest",
                   "only Signature Version 4 is accepted: presign with s3v4 (boto3: "
                   "Config(signature_version='s3v4'))"};
  } else {
    return access_denied("the request is not signed (anonymous access is not allowed)");
  }
  if (payload_hash.rfind("STREAMING-", 0) == 0) {
    return S3Error{501, "NotImplemented",
                   "chunked signing (" + payload_hash +
                       ") is not supported; send a signed or "
                       "UNSIGNED-PAYLOAD body"};
  }
  if (payload_hash != "UNSIGNED-PAYLOAD" && !is_sha256_hex(payload_hash)) {
    return S3Error{400, "InvalidArgument", "x-amz-content-sha256 is not a SHA-256"};
  }
  if (std::find(c.signed_headers.begin(), c.signed_headers.end(), "host") ==
      c.signed_headers.end()) {
    return malformed("the host header must be signed");
  }
  // An unsigned x-amz-* header could change what a captured or presigned
  // request does (x-amz-copy-source turns a PUT into a copy): refused.
  for (const auto& name : request.header_names) {
    if (name.compare(0, 6, "x-amz-") == 0 &&
        std::find(c.signed_headers.begin(), c.signed_headers.end(), name) ==
            c.signed_headers.end()) {
      return access_denied("there were headers present in the request which were not signed: " +
                           name);
    }
  }
  const int64_t at = parse_amz_date(c.amz_date);
  if (at < 0) return access_denied("X-Amz-Date is missing or not YYYYMMDDTHHMMSSZ");
  if (c.amz_date.compare(0, 8, c.date) != 0) {
    return malformed("the credential's date " + c.date + " is not the request's " + c.amz_date);
  }
  if (presigned) {
    if (now_s > at + expires_s) return access_denied("Request has expired");
    if (at > now_s + kMaxClockSkewS) return access_denied("Request is not valid yet");
  } else if (at > now_s + kMaxClockSkewS || at < now_s - kMaxClockSkewS) {
    return S3Error{403, "RequestTimeTooSkewed",
                   "the difference between the request time and the server's time is too large"};
  }
  auto secret = secrets(c.access_key);
  if (!secret) {
    return S3Error{403, "InvalidAccessKeyId",
                   "the access key id " + c.access_key + " does not exist in our records"};
  }
  const std::string canonical =
      canonical_request(request, c.signed_headers, payload_hash, presigned);
  const std::string to_sign = std::string(kAlgorithm) + "\n" + c.amz_date + "\n" + c.date + "/" +
                              c.region + "/s3/aws4_request\n" + Sha256::hex_of(canonical);
  const std::string want = signature(*secret, c.date, c.region, to_sign);
  if (want.size() != c.signature.size() ||
      CRYPTO_memcmp(want.data(), c.signature.data(), want.size()) != 0) {
    return S3Error{403, "SignatureDoesNotMatch",
                   "the request signature we calculated does not match the signature you "
                   "provided; check your key and signing method"};
  }
  return Signer{c.access_key, payload_hash};
}

}  // namespace dfs::s3
