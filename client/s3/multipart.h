// S3's multipart uploads, on dfs's multipart upload sessions: an UploadId
// is the dfs upload id, a part is a run of chunks written at the part's
// own indexes (codec/messages.h, kPartIndexStride) and recorded with its
// MD5, and CompleteMultipartUpload is one commit that lays the named parts
// end to end. Until then nothing is visible at the key; an abort, or the
// upload's expiry, collects every part's chunks.
#pragma once

#include "client/s3/handler.h"

namespace dfs::s3 {

// Whether the request is one of these operations (?uploads, ?uploadId,
// ?partNumber); `handle_multipart` serves it.
bool is_multipart_request(const httplib::Request& req);
void handle_multipart(const ObjectCall& call, const httplib::ContentReader* reader);

}  // namespace dfs::s3
