#include "client/s3/xml.h"

#include <pugixml.hpp>

#include <ctime>

namespace dfs::s3 {

std::string xml_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

XmlWriter::XmlWriter() : out_("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n") {}

XmlWriter& XmlWriter::open(const std::string& name, bool s3_namespace) {
  out_ +=
      "<" + name + (s3_namespace ? " xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"" : "") + ">";
  return *this;
}

XmlWriter& XmlWriter::close(const std::string& name) {
  out_ += "</" + name + ">";
  return *this;
}

XmlWriter& XmlWriter::leaf(const std::string& name, const std::string& text) {
  out_ += "<" + name + ">" + xml_escape(text) + "</" + name + ">";
  return *this;
}

std::string error_document(const S3Error& error, const std::string& resource,
                           const std::string& request_id) {
  return XmlWriter()
      .open("Error")
      .leaf("Code", error.code)
      .leaf("Message", error.message)
      .leaf("Resource", resource)
      .leaf("RequestId", request_id)
      .close("Error")
      .str();
}

namespace {
// The document's `name` element, parsed without DTDs (so no entities).
Result<pugi::xml_node> document_root(pugi::xml_document& doc, const std::string& body,
                                     const char* name) {
  auto parsed =
      doc.load_buffer(body.data(), body.size(), pugi::parse_default & ~pugi::parse_doctype);
  if (!parsed)
    return S3Error{400, "MalformedXML",
                   std::string("the body is not XML: ") + parsed.description()};
  auto root = doc.child(name);
  if (!root)
    return S3Error{400, "MalformedXML", std::string("the body has no ") + name + " element"};
  return root;
}
}  // namespace

Result<DeleteRequestDoc> parse_delete(const std::string& body) {
  pugi::xml_document doc;
  auto found = document_root(doc, body, "Delete");
  if (!found.ok()) return found.error();
  const pugi::xml_node root = found.value();
  DeleteRequestDoc out;
  out.quiet = std::string(root.child_value("Quiet")) == "true";
  for (auto object : root.children("Object")) {
    auto key = object.child("Key");
    if (!key) return S3Error{400, "MalformedXML", "an Object without a Key"};
    out.keys.emplace_back(key.child_value());
  }
  if (out.keys.size() > 1000) {
    return S3Error{400, "MalformedXML", "at most 1000 keys may be deleted at once"};
  }
  return out;
}

Result<std::vector<PartRef>> parse_complete(const std::string& body) {
  pugi::xml_document doc;
  auto found = document_root(doc, body, "CompleteMultipartUpload");
  if (!found.ok()) return found.error();
  const pugi::xml_node root = found.value();
  std::vector<PartRef> parts;
  for (auto part : root.children("Part")) {
    const std::string number = part.child_value("PartNumber");
    std::string etag = part.child_value("ETag");
    if (number.empty() || number.size() > 5 ||
        number.find_first_not_of("0123456789") != std::string::npos) {
      return S3Error{400, "MalformedXML", "a Part without a PartNumber"};
    }
    const auto n = static_cast<uint32_t>(std::stoul(number));
    if (n == 0 || n > kMaxParts) {
      return S3Error{400, "InvalidArgument",
                     "part numbers are 1 to " + std::to_string(kMaxParts) + ", not " + number};
    }
    if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
      etag = etag.substr(1, etag.size() - 2);
    }
    if (!parts.empty() && n <= parts.back().number) {
      return S3Error{400, "InvalidPartOrder", "the parts must be listed in increasing order"};
    }
    if (parts.size() == kMaxParts) return S3Error{400, "MalformedXML", "too many parts"};
    parts.push_back(PartRef{n, etag});
  }
  if (parts.empty()) return S3Error{400, "MalformedXML", "the upload names no part"};
  return parts;
}

namespace {
// `ms` since the epoch, in UTC, as strftime's `format` has it.
std::string utc(int64_t ms, const char* format) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), format, &tm);
  return buf;
}
}  // namespace

std::string iso8601(int64_t ms) {
  char millis[8];
  std::snprintf(millis, sizeof(millis), ".%03dZ", static_cast<int>(ms % 1000));
  return utc(ms, "%Y-%m-%dT%H:%M:%S") + millis;
}

std::string http_date(int64_t ms) { return utc(ms, "%a, %d %b %Y %H:%M:%S GMT"); }

}  // namespace dfs::s3
