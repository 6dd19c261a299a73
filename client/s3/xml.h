// S3's XML: the few response documents the gateway writes, and the two
// request documents it reads (DeleteObjects, CompleteMultipartUpload),
// parsed with pugixml (no DTDs, no external entities).
#pragma once

#include <string>
#include <vector>

#include "client/s3/s3_error.h"
#include "codec/messages.h"

namespace dfs::s3 {

// Builds a document element by element, escaping text.
class XmlWriter {
 public:
  XmlWriter();
  XmlWriter& open(const std::string& name, bool s3_namespace = false);
  XmlWriter& close(const std::string& name);
  XmlWriter& leaf(const std::string& name, const std::string& text);
  std::string str() const { return out_; }

 private:
  std::string out_;
};

std::string xml_escape(const std::string& s);

// <Error><Code>..</Code><Message>..</Message><Resource>..</Resource></Error>
std::string error_document(const S3Error& error, const std::string& resource,
                           const std::string& request_id);

// The keys of a DeleteObjects request, and whether it asked for Quiet.
struct DeleteRequestDoc {
  std::vector<std::string> keys;
  bool quiet = false;
};
Result<DeleteRequestDoc> parse_delete(const std::string& body);

// The parts a CompleteMultipartUpload names, in order, with their ETags
// unquoted. Part numbers must rise (InvalidPartOrder) and lie in
// 1..kMaxParts; at least one part.
Result<std::vector<PartRef>> parse_complete(const std::string& body);

// ISO 8601 with milliseconds, as S3 writes LastModified: 2026-12-06T17:00:00.000Z.
std::string iso8601(int64_t ms);
// RFC 7231's HTTP date, for the Last-Modified header.
std::string http_date(int64_t ms);

}  // namespace dfs::s3
