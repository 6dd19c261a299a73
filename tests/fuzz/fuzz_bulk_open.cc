// The bulk channel's opener, from arbitrary bytes: whatever arrives on a
// worker's bulk socket (a socket anyone can reach) is refused or opened,
// never a crash. The input is frames, each a 2-byte big-endian length and
// its bytes. A first byte of 0 opens them as they are (with the session id
// the opener holds patched in, so the fuzzer gets past the lookup); any other
// seals them first, changes byte N (the second byte) of the sealed message,
// and checks that the change is refused and the genuine message still opens
// to what was sealed.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bus/bulk_seal.h"

namespace {

const dfs::BulkSecret& secret() {
  static const dfs::BulkSecret s{std::string(16, 's'), std::string(32, 'k')};
  return s;
}

std::vector<zmq::message_t> frames_of(const uint8_t* data, size_t size) {
  std::vector<zmq::message_t> frames;
  size_t at = 0;
  while (at + 2 <= size && frames.size() < 16) {
    size_t len = (static_cast<size_t>(data[at]) << 8) | data[at + 1];
    at += 2;
    if (len > size - at) len = size - at;
    frames.emplace_back(data + at, len);
    at += len;
  }
  return frames;
}

std::vector<zmq::message_t> copy(const std::vector<zmq::message_t>& frames) {
  std::vector<zmq::message_t> out;
  for (const auto& f : frames) out.emplace_back(f.data(), f.size());
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  auto frames = frames_of(data + 2, size - 2);
  (void)dfs::bulk_unknown_session_of(frames);
  if (data[0] == 0) {
    if (!frames.empty() && frames[0].size() == dfs::kBulkPrefixBytes) {
      std::memcpy(frames[0].data<char>() + 4, secret().session.data(), dfs::kBulkSessionBytes);
    }
    dfs::BulkOpener in(secret(), dfs::BulkDirection::kToServer);
    (void)in.open(&frames);
    return 0;
  }
  if (frames.empty() || frames.size() > dfs::kBulkMaxFrames) return 0;
  std::vector<std::string> plain;
  for (const auto& f : frames) plain.push_back(f.to_string());
  dfs::BulkSealer out(secret(), dfs::BulkDirection::kToServer);
  if (!out.seal(&frames).is_ok()) std::abort();
  // Change one byte of the sealed message, counted across its frames.
  size_t target = data[1];
  auto changed = copy(frames);
  for (auto& f : changed) {
    if (target < f.size()) {
      f.data<uint8_t>()[target] ^= 0x5a;
      dfs::BulkOpener in(secret(), dfs::BulkDirection::kToServer);
      if (in.open(&changed).is_ok()) std::abort();  // a forgery opened
      break;
    }
    target -= f.size();
  }
  dfs::BulkOpener in(secret(), dfs::BulkDirection::kToServer);
  if (!in.open(&frames).is_ok() || frames.size() != plain.size()) std::abort();
  for (size_t i = 0; i < plain.size(); ++i) {
    if (frames[i].to_string() != plain[i]) std::abort();
  }
  return 0;
}
