// CRC-32C against the published check values and a second implementation.
#include "codec/crc32c.h"

#include <gtest/gtest.h>

#include <boost/crc.hpp>
#include <random>
#include <string>
#include <vector>

namespace dfs {
namespace {

// Boost's generic CRC, set up as CRC-32C: an independent reference.
uint32_t reference(const void* data, size_t size) {
  boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true> crc;
  crc.process_bytes(data, size);
  return crc.checksum();
}

TEST(Crc32cTest, MatchesThePublishedCheckValues) {
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);
  // RFC 3720 (iSCSI), appendix B.4.
  std::vector<unsigned char> zeros(32, 0), ones(32, 0xff), up(32), down(32);
  for (int i = 0; i < 32; ++i) {
    up[i] = static_cast<unsigned char>(i);
    down[i] = static_cast<unsigned char>(31 - i);
  }
  EXPECT_EQ(crc32c(zeros.data(), 32), 0x8A9136AAu);
  EXPECT_EQ(crc32c(ones.data(), 32), 0x62A8AB43u);
  EXPECT_EQ(crc32c(up.data(), 32), 0x46DD794Eu);
  EXPECT_EQ(crc32c(down.data(), 32), 0x113FDB5Cu);
  EXPECT_EQ(crc32c("", 0), 0u);
}

TEST(Crc32cTest, EveryLengthAndAlignmentAgreesWithTheReference) {
  std::mt19937 rng(7);
  std::string data(4096 + 16, '\0');
  for (auto& c : data) c = static_cast<char>(rng());
  for (size_t offset = 0; offset < 8; ++offset) {
    for (size_t len : {0, 1, 7, 8, 9, 63, 64, 65, 1000, 4096}) {
      const char* p = data.data() + offset;
      uint32_t want = reference(p, len);
      EXPECT_EQ(crc32c(p, len), want) << offset << " " << len;
      EXPECT_EQ(crc32c_extend_portable(0, p, len), want) << offset << " " << len;
    }
  }
}

TEST(Crc32cTest, ExtendingIsTheCrcOfTheWhole) {
  std::mt19937 rng(11);
  std::string data(100000, '\0');
  for (auto& c : data) c = static_cast<char>(rng());
  uint32_t whole = crc32c(data.data(), data.size());
  for (size_t cut : {0, 1, 8, 4095, 65536, 99999, 100000}) {
    uint32_t first = crc32c(data.data(), cut);
    EXPECT_EQ(crc32c_extend(first, data.data() + cut, data.size() - cut), whole) << cut;
  }
  // One flipped bit changes it.
  data[5000] ^= 0x10;
  EXPECT_NE(crc32c(data.data(), data.size()), whole);
}

}  // namespace
}  // namespace dfs
