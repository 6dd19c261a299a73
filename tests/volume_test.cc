// Small chunks packed into volume files: what a reader sees, what a crash
// leaves, and that a removed chunk gives its space back.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "codec/crc32c.h"
#include "codec/sha256.h"
#include "tests/chunk_store_util.h"
#include "tests/test_util.h"
#include "worker/chunk_store.h"
#include "worker/scrubber.h"
#include "worker/stored_chunks.h"
#include "worker/volume.h"

namespace dfs {
namespace {

namespace fs = std::filesystem;

std::string id_of(int n) {
  std::string s = std::to_string(n);
  return std::string(32 - s.size(), 'a') + s;
}

class VolumeTest : public ::testing::Test {
 protected:
  std::unique_ptr<ChunkStore> open(std::chrono::milliseconds punch_delay = {}) {
    ChunkStoreOptions o;
    o.dir = dir_.path();
    o.pack_max_bytes = 1 << 20;
    o.punch_delay = punch_delay;
    auto s = ChunkStore::open(o);
    EXPECT_TRUE(s.is_ok()) << s.status().to_string();
    return std::move(s).value();
  }

  // Seals each chunk and publishes them as one group.
  void publish(ChunkStore& cs, const std::vector<std::pair<std::string, std::string>>& chunks) {
    std::vector<std::unique_ptr<ChunkWriter>> writers;
    std::vector<ChunkWriter*> sealed;
    for (const auto& [id, data] : chunks) {
      auto w = cs.create(id, data.size());
      ASSERT_TRUE(w.is_ok()) << w.status().to_string();
      ASSERT_TRUE(w.value()->append(data.data(), data.size()).is_ok());
      ASSERT_TRUE(w.value()->seal(Sha256::hex_of(data)).is_ok());
      sealed.push_back(w.value().get());
      writers.push_back(std::move(w).value());
    }
    for (const Status& s : cs.publish(sealed)) ASSERT_TRUE(s.is_ok()) << s.to_string();
  }

  // Overwrites bytes of a volume file in place, as damage or a torn write would.
  void scribble(const std::string& path, uint64_t offset, const std::string& bytes) {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(offset));
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }

  size_t volumes() {
    size_t n = 0;
    for (auto& e : fs::directory_iterator(dir_.path() + "/volumes")) n += e.is_regular_file();
    return n;
  }

  test::TempDir dir_;
};

TEST_F(VolumeTest, PackedChunksReadBackAndAreFoundAgainAfterARestart) {
  std::vector<std::pair<std::string, std::string>> small;
  for (int i = 0; i < 5; ++i) small.push_back({id_of(i), test::random_bytes(1000 * i * i, i)});
  small.push_back({id_of(5), test::random_bytes(1 << 20, 5)});  // the largest packed
  const std::string big = test::random_bytes((1 << 20) + 1, 6);
  uint64_t used = 0;
  {
    auto cs = open();
    publish(*cs, small);
    publish(*cs, {{id_of(6), big}});
    for (const auto& [id, data] : small) {
      EXPECT_TRUE(cs->contains(id));
      EXPECT_TRUE(cs->packed_location(id).has_value()) << id;
      EXPECT_FALSE(fs::exists(cs->chunk_path(id))) << id;
      EXPECT_TRUE(test::read_chunk(*cs, id) == data) << id;
    }
    EXPECT_FALSE(cs->packed_location(id_of(6)).has_value());  // too big: a file of its own
    EXPECT_TRUE(test::read_chunk(*cs, id_of(6)) == big);
    EXPECT_EQ(cs->chunk_count(), 7u);
    EXPECT_EQ(cs->list().size(), 7u);
    EXPECT_EQ(volumes(), 1u);
    used = cs->used();
    // Another write of a stored chunk is refused, as for a chunk file.
    EXPECT_EQ(cs->create(id_of(2), 10).status().code(), Code::kAlreadyExists);
  }
  auto cs = open();
  EXPECT_EQ(cs->chunk_count(), 7u);
  EXPECT_EQ(cs->used(), used);
  for (const auto& [id, data] : small) EXPECT_TRUE(test::read_chunk(*cs, id) == data) << id;
  auto reader = cs->open_reader(id_of(5));
  ASSERT_TRUE(reader.is_ok());
  EXPECT_EQ(reader.value()->block_crcs(0, 1 << 20).size(), 16u);
}

// A small packed chunk is read whole when opened (one read for its header,
// bytes and CRCs): any range of it comes back right, and a damaged header
// is still found.
TEST_F(VolumeTest, ASmallPackedChunkReadWholeServesAnyRangeAndStillFindsDamage) {
  const std::string data = test::random_bytes(10000, 7);
  auto cs = open();
  publish(*cs, {{id_of(1), data}, {id_of(2), data}});
  auto reader = cs->open_reader(id_of(1));
  ASSERT_TRUE(reader.is_ok()) << reader.status().to_string();
  std::string part(3000, '\0');
  auto got = reader.value()->read(9000, part.size(), part.data());
  ASSERT_TRUE(got.is_ok());
  EXPECT_EQ(got.value(), 1000u);  // fewer only at the end
  EXPECT_EQ(part.substr(0, 1000), data.substr(9000));
  got = reader.value()->read(1234, part.size(), part.data());
  ASSERT_TRUE(got.is_ok());
  EXPECT_EQ(part, data.substr(1234, 3000));
  EXPECT_EQ(reader.value()->block_crcs(0, data.size()).size(), 1u);
  EXPECT_EQ(reader.value()->read(10001, 1, part.data()).status().code(), Code::kInvalidArgument);
  // The second chunk's header, damaged on disk to a size that is valid but
  // not its record's: found before anything is read past the image.
  auto where = cs->packed_location(id_of(2));
  ASSERT_TRUE(where.has_value());
  const std::string larger("\x10\x27\x01\0\0\0\0\0", 8);  // 75536, little-endian
  scribble(where->first, where->second + 8, larger);
  auto damaged = cs->open_reader(id_of(2));
  EXPECT_EQ(damaged.status().code(), Code::kCorruption);
  EXPECT_NE(damaged.status().message().find("disagrees"), std::string::npos)
      << damaged.status().message();
}

// Small packed chunks are read through volumes held open; a volume emptied
// and unlinked is let go of at once, so its space really comes back.
TEST_F(VolumeTest, AVolumeHeldOpenForReadsIsLetGoWhenItIsUnlinked) {
  auto open_fds_to = [](const std::string& path) {
    size_t n = 0;
    for (auto& e : fs::directory_iterator("/proc/self/fd")) {
      std::error_code ec;
      auto target = fs::read_symlink(e.path(), ec).string();
      if (!ec && target.rfind(path, 0) == 0) ++n;  // also "PATH (deleted)"
    }
    return n;
  };
  ChunkStoreOptions o;
  o.dir = dir_.path();
  o.pack_max_bytes = 1 << 20;
  o.volume_bytes = 64 << 10;  // the third chunk starts a new volume
  o.punch_delay = {};
  auto cs = std::move(ChunkStore::open(o)).value();
  const std::string a = test::random_bytes(5000, 1), b = test::random_bytes(6000, 2);
  publish(*cs, {{id_of(1), a}, {id_of(2), b}});
  const std::string path = cs->packed_location(id_of(1))->first;
  publish(*cs, {{id_of(3), test::random_bytes(100 << 10, 3)}});
  ASSERT_NE(cs->packed_location(id_of(3))->first, path);
  EXPECT_EQ(open_fds_to(path), 0u);  // no longer appended to
  EXPECT_TRUE(test::read_chunk(*cs, id_of(1)) == a);
  EXPECT_TRUE(test::read_chunk(*cs, id_of(2)) == b);
  EXPECT_EQ(open_fds_to(path), 1u);  // one descriptor serves both reads, and stays
  ASSERT_TRUE(cs->remove(id_of(1)).is_ok());
  ASSERT_TRUE(cs->remove(id_of(2)).is_ok());
  EXPECT_FALSE(fs::exists(path));
  EXPECT_EQ(open_fds_to(path), 0u);
  EXPECT_EQ(cs->read(id_of(1), 0, 10, nullptr, nullptr).status().code(), Code::kNotFound);
}

// After a crash, the records of the last group (past the sync point the
// records name) are kept only if whole: a damaged one is dropped, whole ones
// stay. Records from before it are trusted at start, and the scrubber
// checks them.
TEST_F(VolumeTest, ARestartDropsATornRecordOfTheLastGroupAndKeepsTheRest) {
  const std::string a = test::random_bytes(70000, 1), b = test::random_bytes(5000, 2);
  const std::string c = test::random_bytes(9000, 3), d = test::random_bytes(100, 4);
  {
    auto cs = open();
    publish(*cs, {{id_of(1), a}, {id_of(2), b}});
    publish(*cs, {{id_of(3), c}, {id_of(4), d}});
    auto [path_c, image_c] = cs->packed_location(id_of(3)).value();
    scribble(path_c, image_c + kChunkHeaderSize + 4000, "torn");
    auto [path_a, image_a] = cs->packed_location(id_of(1)).value();
    scribble(path_a, image_a + kChunkHeaderSize + 65536 + 10, "rot");
  }
  auto cs = open();
  EXPECT_FALSE(cs->contains(id_of(3)));
  EXPECT_TRUE(test::read_chunk(*cs, id_of(4)) == d);
  EXPECT_TRUE(test::read_chunk(*cs, id_of(2)) == b);
  ASSERT_TRUE(cs->contains(id_of(1)));
  EXPECT_NE(Scrubber::check(*cs, id_of(1)), "");
  EXPECT_EQ(Scrubber::check(*cs, id_of(2)), "");
}

TEST_F(VolumeTest, ARemovedPackedChunkGivesItsSpaceBackAndAnEmptiedVolumeGoes) {
  auto blocks = [](const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0);
    return static_cast<uint64_t>(st.st_blocks) * 512;
  };
  std::string path;
  {
    auto cs = open();
    publish(*cs, {{id_of(1), test::random_bytes(256 << 10, 1)},
                  {id_of(2), test::random_bytes(256 << 10, 2)},
                  {id_of(3), test::random_bytes(256 << 10, 3)}});
    path = cs->packed_location(id_of(1))->first;
    const uint64_t before = blocks(path);
    const uint64_t used = cs->used();
    ASSERT_TRUE(cs->remove(id_of(2)).is_ok());
    EXPECT_FALSE(cs->contains(id_of(2)));
    EXPECT_EQ(cs->take_deleted(10), std::vector<std::string>{id_of(2)});
    EXPECT_GE(before - blocks(path), 256u << 10);  // punched out of the file
    EXPECT_EQ(used - cs->used(), record_bytes(chunk_file_bytes(256 << 10)));
  }
  {
    auto cs = open();  // the punched record does not come back
    EXPECT_FALSE(cs->contains(id_of(2)));
    EXPECT_EQ(cs->chunk_count(), 2u);
    ASSERT_TRUE(cs->remove(id_of(1)).is_ok());
    ASSERT_TRUE(cs->remove(id_of(3)).is_ok());
    EXPECT_FALSE(fs::exists(path));  // nothing live: the volume is deleted
    EXPECT_EQ(cs->used(), 0u);
  }
  EXPECT_EQ(volumes(), 0u);
}

// What dfs-chunk prints: every live chunk, packed or not, at the place
// where its image is, read from the directory beside the open store.
TEST_F(VolumeTest, TheListingFindsEachLiveChunksImageWhereverItIs) {
  auto cs = open(std::chrono::hours(1));  // the removed record stays in the file, unpunched
  const std::map<std::string, std::string> kept = {
      {id_of(1), test::random_bytes(5000, 1)},
      {id_of(3), test::random_bytes(70000, 3)},
      {id_of(4), test::random_bytes((1 << 20) + 1, 4)}};
  publish(*cs, {{id_of(1), kept.at(id_of(1))},
                {id_of(2), test::random_bytes(9000, 2)},
                {id_of(3), kept.at(id_of(3))}});
  publish(*cs, {{id_of(4), kept.at(id_of(4))}});  // too big to pack: a file
  ASSERT_TRUE(cs->remove(id_of(2)).is_ok());

  auto listed = list_stored_chunks(dir_.path());
  ASSERT_TRUE(listed.is_ok()) << listed.status().to_string();
  EXPECT_TRUE(listed.value().problems.empty());
  std::map<std::string, StoredChunk> found;
  for (const auto& c : listed.value().chunks) found[c.id] = c;
  ASSERT_EQ(found.size(), kept.size());
  for (const auto& [id, data] : kept) {
    ASSERT_TRUE(found.count(id)) << id;
    const StoredChunk& c = found.at(id);
    EXPECT_EQ(c.bytes, chunk_file_bytes(data.size())) << id;
    std::ifstream in(c.path, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(c.offset + kChunkHeaderSize));
    std::string got(data.size(), '\0');
    in.read(got.data(), static_cast<std::streamsize>(got.size()));
    EXPECT_TRUE(got == data) << id << " at " << c.path << ":" << c.offset;
  }
  EXPECT_EQ(found.at(id_of(1)).path, cs->packed_location(id_of(1))->first);
  EXPECT_EQ(found.at(id_of(4)).offset, 0u);
}

// A mistyped directory is an error, never an empty listing that would make
// "this disk holds no chunk" true.
TEST_F(VolumeTest, TheListingOfAMissingDirectoryIsAnError) {
  EXPECT_EQ(list_stored_chunks(dir_.path() + "/nowhere").status().code(), Code::kNotFound);
  auto empty = list_stored_chunks(dir_.path());  // exists, holds nothing yet
  ASSERT_TRUE(empty.is_ok());
  EXPECT_TRUE(empty.value().chunks.empty());
}

// A removed chunk stays removed across a restart that comes before its
// space is punched out, as an unlinked file does.
TEST_F(VolumeTest, ARemovedPackedChunkDoesNotComeBackBeforeItIsPunched) {
  {
    auto cs = open(std::chrono::hours(1));
    publish(*cs,
            {{id_of(1), test::random_bytes(5000, 1)}, {id_of(2), test::random_bytes(6000, 2)}});
    ASSERT_TRUE(cs->remove(id_of(1)).is_ok());
  }
  auto cs = open(std::chrono::hours(1));
  EXPECT_FALSE(cs->contains(id_of(1)));
  EXPECT_TRUE(cs->contains(id_of(2)));
  EXPECT_EQ(cs->chunk_count(), 1u);
}

// A volume whose first page is damaged cannot be read (its salt is gone):
// it is kept aside, never deleted, and the others are served.
TEST_F(VolumeTest, AVolumeWithADamagedHeaderIsKeptAsideNotDeleted) {
  std::string first;
  {
    auto cs = open();
    publish(*cs, {{id_of(1), test::random_bytes(5000, 1)}});
    first = cs->packed_location(id_of(1))->first;
  }
  {
    auto cs = open();  // a new run appends to a new volume
    publish(*cs, {{id_of(2), test::random_bytes(5000, 2)}});
    EXPECT_NE(cs->packed_location(id_of(2))->first, first);
  }
  scribble(first, 0, "XXXXXXXX");
  auto cs = open();
  EXPECT_FALSE(cs->contains(id_of(1)));
  EXPECT_TRUE(cs->contains(id_of(2)));
  EXPECT_TRUE(fs::exists(first + ".damaged"));
}

// A client's bytes may hold anything, including what looks like a record
// header. Only headers made with the volume's secret salt count, so a torn
// record's data never passes for a record of another chunk.
TEST_F(VolumeTest, ARecordHeaderForgedInsideChunkDataIsNeverTakenForARecord) {
  const std::string victim = id_of(77);
  std::string forged_image =
      ChunkFileHeader{10, Sha256::hex_of("0123456789"), kCrcBlockSize}.encode();
  forged_image += "0123456789";
  forged_image += encode_crcs({crc32c("0123456789", 10)});
  std::string data = test::random_bytes(3 * 4096, 9);
  // The data starts 64 + 128 bytes into its page-aligned record: this lands
  // the forged header on the next page boundary.
  const size_t at = 4096 - kRecordHeaderSize - kChunkHeaderSize;
  const std::string forged =
      encode_record_header(std::string(kVolumeSaltSize, 'x'), victim, forged_image.size(), 0) +
      forged_image;
  data.replace(at, forged.size(), forged);
  {
    auto cs = open();
    publish(*cs, {{id_of(1), data}});
    // The real record's header is torn: a restart walks into its data.
    auto [path, image] = cs->packed_location(id_of(1)).value();
    scribble(path, image - kRecordHeaderSize, std::string(kRecordHeaderSize, '\0'));
  }
  auto cs = open();
  EXPECT_FALSE(cs->contains(victim));
  EXPECT_FALSE(cs->contains(id_of(1)));
  EXPECT_EQ(cs->chunk_count(), 0u);
}

TEST(VolumeFormat, RecordHeadersRoundTripAndRefuseDamage) {
  const std::string salt(kVolumeSaltSize, 's');
  const std::string id = id_of(42);
  std::string h = encode_record_header(salt, id, 5000, 8192);
  auto r = decode_record_header(salt, h.data(), h.size(), 4096);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->id, id);
  EXPECT_EQ(r->payload, 5000u);
  EXPECT_EQ(r->synced_before, 8192u);
  EXPECT_EQ(r->bytes(), 8192u);
  EXPECT_FALSE(
      decode_record_header(std::string(kVolumeSaltSize, 't'), h.data(), h.size(), 0).is_ok());
  for (size_t i = 0; i < kRecordHeaderSize; ++i) {
    std::string bad = h;
    bad[i] ^= 1;
    EXPECT_FALSE(decode_record_header(salt, bad.data(), bad.size(), 0).is_ok()) << i;
  }
  EXPECT_EQ(volume_number(volume_name(12)), 12u);
  EXPECT_EQ(volume_number("12.vol"), 0u);
  EXPECT_EQ(volume_number("0000001x.vol"), 0u);
}

}  // namespace
}  // namespace dfs
