// A whole cluster in one process, over real sockets: what a user of libdfs
// relies on, end to end.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "bus/process.h"
#include "bus/rpc_client.h"
#include "client/upload_writer.h"
#include "client/worker_pool.h"
#include "codec/sha256.h"
#include "tests/cluster_fixture.h"
#include "tests/reply_dropper.h"
#include "worker/chunk_file.h"

namespace dfs {
namespace {

constexpr uint64_t kChunk = 64 << 10;

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The workers' own pipeline timeout, not the fixture's 1 s: no test here
    // waits on it, and a worker thread starved by a loaded machine missed 1 s.
    cluster_ = std::make_unique<test::InProcessCluster>(
        test::InProcessCluster::Options{3, capacity(), kChunk, 3, std::chrono::milliseconds(5000)});
    ASSERT_TRUE(cluster_->wait_live(3));
    client_ = std::make_unique<Client>(cluster_->client_options());
  }
  virtual uint64_t capacity() { return 0; }

  std::string local(const std::string& name) { return cluster_->dir() / name; }

  void write_local(const std::string& name, const std::string& data) {
    std::ofstream(local(name), std::ios::binary) << data;
  }
  std::string read_local(const std::string& name) {
    std::ifstream in(local(name), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  // Waits until the master has no garbage left and no worker holds a chunk.
  bool wait_until_workers_empty() {
    return test::wait_for([&] {
      auto st = client_->cluster_status();
      if (!st.is_ok() || st->garbage_chunks != 0) return false;
      for (auto& w : st->workers) {
        if (w.chunk_count != 0) return false;
      }
      return true;
    });
  }

  bool wait_until_garbage_collected() {
    return test::wait_for([&] {
      auto st = client_->cluster_status();
      return st.is_ok() && st->garbage_chunks == 0;
    });
  }

  std::unique_ptr<test::InProcessCluster> cluster_;
  std::unique_ptr<Client> client_;
};

TEST_F(ClusterTest, FilesOfEveryBoundarySizeComeBackIdentical) {
  for (uint64_t size : {uint64_t{0}, uint64_t{1}, kChunk - 1, kChunk, kChunk + 1, 7 * kChunk + 3}) {
    std::string name = "f" + std::to_string(size);
    std::string data = test::random_bytes(size, static_cast<uint32_t>(size));
    write_local(name, data);
    ASSERT_TRUE(client_->put(local(name), "/" + name, {}, nullptr).is_ok()) << size;
    ASSERT_TRUE(client_->get("/" + name, local(name + ".back"), nullptr).is_ok()) << size;
    EXPECT_EQ(read_local(name + ".back"), data) << "size " << size;
    auto st = client_->stat("/" + name);
    ASSERT_TRUE(st.is_ok());
    EXPECT_EQ(st->entry.size, size);
    EXPECT_EQ(st->chunks.size(), (size + kChunk - 1) / kChunk);
  }
}

// Writers told the file's size: a file of one chunk has it allocated with
// the upload and committed with it. Wrong hints (more bytes, fewer, more than
// a chunk) fall back to the general path; every file comes back whole, and
// the pooled connections serve writer after writer.
TEST_F(ClusterTest, WritersGivenTheSizeStoreEveryFileWholeWhateverTheHint) {
  const ClientOptions options = cluster_->client_options();
  TransferPool pool(process_context(), options.masters, options.timeout, options.identity);
  struct Case {
    uint64_t hint;
    uint64_t size;
  };
  const std::vector<Case> cases{{4096, 4096},
                                {kChunk, kChunk},
                                {4096, 4000},
                                {4096, 5000},
                                {4096, 3 * kChunk},
                                {3 * kChunk, 3 * kChunk},
                                {kChunk - 1, kChunk - 1},
                                {0, 100},
                                {100, 0}};
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string path = "/hinted" + std::to_string(i);
    const std::string data = test::random_bytes(cases[i].size, 50 + static_cast<uint32_t>(i));
    PutOptions put;
    put.size_hint = cases[i].hint;
    auto writer = UploadWriter::begin(process_context(), options, path, put, &pool);
    ASSERT_TRUE(writer.is_ok()) << writer.status().to_string();
    // In pieces, as a gateway streams a body.
    for (size_t at = 0; at < data.size(); at += 1500) {
      ASSERT_TRUE(writer.value()
                      ->append(data.data() + at, std::min<size_t>(1500, data.size() - at))
                      .is_ok());
    }
    Status s = writer.value()->finish();
    ASSERT_TRUE(s.is_ok()) << i << ": " << s.to_string();
    writer.value().reset();
    ASSERT_TRUE(client_->get(path, local("hinted.back"), nullptr).is_ok()) << i;
    EXPECT_EQ(read_local("hinted.back"), data) << "case " << i;
  }
  // The small files went to slots of one lease, which stays open for the
  // next ones; no file's upload was left open.
  auto left = client_->uploads("");
  ASSERT_TRUE(left.is_ok());
  ASSERT_EQ(left->uploads.size(), 1u);
  EXPECT_EQ(left->uploads[0].path, "") << "an upload was left open";
  // The allocations the wrong hints made and never used are collected.
  EXPECT_TRUE(wait_until_garbage_collected());
}

// Small files through a pool's leased slots: one lease serves many files;
// a lease the masters no longer know (expired, or aborted as here) and a
// missing directory are handled by the ordinary way, and every file comes
// back whole.
TEST_F(ClusterTest, SmallFilesThroughLeasedSlotsSurviveALostLeaseAndMakeParents) {
  const ClientOptions options = cluster_->client_options();
  TransferPool pool(process_context(), options.masters, options.timeout, options.identity);
  auto write = [&](const std::string& path, const std::string& data, bool make_parents) {
    PutOptions put;
    put.size_hint = data.size();
    put.make_parents = make_parents;
    auto writer = UploadWriter::begin(process_context(), options, path, put, &pool);
    if (!writer.is_ok()) return writer.status();
    Status s = writer.value()->append(data.data(), data.size());
    return s.is_ok() ? writer.value()->finish() : s;
  };
  auto read = [&](const std::string& path) {
    EXPECT_TRUE(client_->get(path, local("slot.back"), nullptr).is_ok()) << path;
    return read_local("slot.back");
  };
  std::vector<std::string> data;
  for (uint32_t i = 0; i < 4; ++i) data.push_back(test::random_bytes(1000 + i, 70 + i));
  ASSERT_TRUE(write("/s0", data[0], false).is_ok());
  ASSERT_TRUE(write("/s1", data[1], false).is_ok());
  auto leases = client_->uploads("");
  ASSERT_TRUE(leases.is_ok());
  ASSERT_EQ(leases->uploads.size(), 1u);
  const std::string lease = leases->uploads[0].upload_id;
  // Without make_parents a missing directory is an error, and no file.
  EXPECT_EQ(write("/no/such/s2", data[2], false).code(), Code::kNotFound);
  ASSERT_TRUE(write("/made/for/s2", data[2], true).is_ok());
  EXPECT_EQ(read("/made/for/s2"), data[2]);
  // Neither needed another lease.
  leases = client_->uploads("");
  ASSERT_TRUE(leases.is_ok());
  ASSERT_EQ(leases->uploads.size(), 1u);
  EXPECT_EQ(leases->uploads[0].upload_id, lease);
  // The masters drop the lease: the pool's kept slots no longer commit.
  ASSERT_TRUE(client_->abort_upload(lease).is_ok());
  ASSERT_TRUE(write("/s3", data[3], false).is_ok());
  EXPECT_EQ(read("/s0"), data[0]);
  EXPECT_EQ(read("/s1"), data[1]);
  EXPECT_EQ(read("/s3"), data[3]);
  EXPECT_FALSE(client_->stat("/no/such/s2").is_ok());
}

TEST_F(ClusterTest, ChunksSpreadOverWorkers) {
  write_local("f", test::random_bytes(12 * kChunk, 9));
  ASSERT_TRUE(client_->put(local("f"), "/f", {}, nullptr).is_ok());
  auto st = client_->stat("/f");
  std::set<std::string> used;
  for (auto& c : st->chunks) used.insert(c.replicas.at(0));
  EXPECT_EQ(used.size(), 3u);
}

TEST_F(ClusterTest, ExistingFileIsKeptUnlessForced) {
  write_local("a", "first version");
  write_local("b", "second version, longer");
  ASSERT_TRUE(client_->put(local("a"), "/f", {}, nullptr).is_ok());
  Status s = client_->put(local("b"), "/f", {}, nullptr);
  EXPECT_EQ(s.code(), Code::kAlreadyExists);
  EXPECT_NE(s.message().find("/f"), std::string::npos);
  ASSERT_TRUE(client_->get("/f", local("out"), nullptr).is_ok());
  EXPECT_EQ(read_local("out"), "first version");
  PutOptions force;
  force.overwrite = true;
  ASSERT_TRUE(client_->put(local("b"), "/f", force, nullptr).is_ok());
  ASSERT_TRUE(client_->get("/f", local("out"), nullptr).is_ok());
  EXPECT_EQ(read_local("out"), "second version, longer");
}

TEST_F(ClusterTest, PutIntoAMissingDirectoryFailsAndLeavesNothing) {
  write_local("a", "x");
  Status s = client_->put(local("a"), "/no/such/f", {}, nullptr);
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_NE(s.message().find("/no/such"), std::string::npos);
}

TEST_F(ClusterTest, DeletedFilesChunksAreCollectedFromWorkers) {
  write_local("f", test::random_bytes(5 * kChunk, 3));
  ASSERT_TRUE(client_->put(local("f"), "/f", {}, nullptr).is_ok());
  ASSERT_TRUE(client_->remove("/f", false).is_ok());
  EXPECT_EQ(client_->stat("/f").status().code(), Code::kNotFound);
  EXPECT_TRUE(wait_until_workers_empty());
}

TEST_F(ClusterTest, ReadOfALostChunkNamesItAndLeavesNoFile) {
  write_local("f", test::random_bytes(6 * kChunk, 4));
  PutOptions single;
  single.replication = 1;
  ASSERT_TRUE(client_->put(local("f"), "/f", single, nullptr).is_ok());
  auto st = client_->stat("/f");
  std::string victim = st->chunks[0].replicas[0];
  cluster_->stop_worker(std::stoi(victim.substr(1)));
  auto options = cluster_->client_options();
  options.timeout = std::chrono::milliseconds(1000);
  Client impatient(options);
  Status s = impatient.get("/f", local("out"), nullptr);
  EXPECT_FALSE(s.is_ok());
  // Several chunks may live on the stopped worker; the error names one of them.
  bool names_a_lost_chunk = false;
  for (const auto& c : st->chunks) {
    if (c.replicas[0] == victim && s.message().find(c.id) != std::string::npos)
      names_a_lost_chunk = true;
  }
  EXPECT_TRUE(names_a_lost_chunk) << s.message();
  EXPECT_NE(s.message().find("lost"), std::string::npos) << s.message();
  EXPECT_FALSE(std::filesystem::exists(local("out")));
  for (auto& e : std::filesystem::directory_iterator(cluster_->dir().path())) {
    EXPECT_EQ(e.path().filename().string().find(".out.dfs-"), std::string::npos)
        << "temporary left behind";
  }
}

TEST_F(ClusterTest, ARangeOfAChunkWithoutBlockCrcsIsGivenOnlyOnceTheChunkMatched) {
  std::string data = test::random_bytes(kChunk, 6);
  write_local("f", data);
  ASSERT_TRUE(client_->put(local("f"), "/f", {}, nullptr).is_ok());
  const auto c = client_->stat("/f")->chunks[0];
  ASSERT_EQ(c.replicas.size(), 3u);
  // Every replica as a worker from before block CRCs stored it (format 1);
  // the one read first has a damaged byte.
  for (const auto& w : c.replicas) {
    std::string path = cluster_->worker_dir(std::stoi(w.substr(1))) + "/chunks/" +
                       c.id.substr(0, 2) + "/" + c.id.substr(2, 2) + "/" + c.id;
    std::string stored = data;
    if (w == c.replicas[0]) stored[500] ^= 0x5a;
    std::ofstream(path, std::ios::binary | std::ios::trunc)
        << ChunkFileHeader{data.size(), c.sha256, 0}.encode() << stored;
  }
  std::string got;
  Status s = client_->read_range("/f", 400, 300, [&](const char* p, size_t n) {
    got.append(p, n);
    return Status::ok();
  });
  ASSERT_TRUE(s.is_ok()) << s.to_string();
  EXPECT_EQ(got, data.substr(400, 300));  // not one damaged byte given first
  EXPECT_EQ(client_->stat("/f")->chunks[0].corrupt, std::vector<std::string>{c.replicas[0]});
}

TEST_F(ClusterTest, ACorruptReplicaIsSkippedReportedAndAllCorruptFailsTheRead) {
  std::string data = test::random_bytes(kChunk, 5);
  write_local("f", data);
  ASSERT_TRUE(client_->put(local("f"), "/f", {}, nullptr).is_ok());
  auto st = client_->stat("/f");
  ASSERT_TRUE(st.is_ok());
  const auto c = st->chunks[0];
  ASSERT_EQ(c.replicas.size(), 3u);
  auto flip_byte = [&](const std::string& worker) {
    std::string path = cluster_->worker_dir(std::stoi(worker.substr(1))) + "/chunks/" +
                       c.id.substr(0, 2) + "/" + c.id.substr(2, 2) + "/" + c.id;
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(1000);
    char b = static_cast<char>(f.peek());
    f.seekp(1000);
    f.put(static_cast<char>(b ^ 0x5a));
  };
  // Chunk 0 is read from its first replica first.
  flip_byte(c.replicas[0]);
  ASSERT_TRUE(client_->get("/f", local("out"), nullptr).is_ok());
  EXPECT_EQ(read_local("out"), data);
  auto after = client_->stat("/f");
  ASSERT_TRUE(after.is_ok());
  EXPECT_EQ(after->chunks[0].corrupt, std::vector<std::string>{c.replicas[0]});

  flip_byte(c.replicas[1]);
  flip_byte(c.replicas[2]);
  std::filesystem::remove(local("out"));
  Status s = client_->get("/f", local("out"), nullptr);
  EXPECT_FALSE(s.is_ok());
  // The damaged block is caught by its CRC, before the chunk's SHA-256 is.
  EXPECT_NE(s.message().find("does not match its CRC"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("lost"), std::string::npos) << s.message();
  EXPECT_FALSE(std::filesystem::exists(local("out")));
}

TEST_F(ClusterTest, OrphanChunksOnAWorkerAreCollectedAndFilesAreNot) {
  write_local("kept", test::random_bytes(3 * kChunk, 11));
  ASSERT_TRUE(client_->put(local("kept"), "/kept", {}, nullptr).is_ok());
  // A chunk no file references, as a master that restarted mid-upload leaves.
  const std::string orphan = "0badc0de0badc0de0badc0de0badc0de";
  {
    auto store = std::move(ChunkStore::open({cluster_->worker_dir(2), 0})).value();
    auto w = std::move(store->create(orphan, 5)).value();
    ASSERT_TRUE(w->append("stray", 5).is_ok());
    ASSERT_TRUE(w->commit(Sha256::hex_of("stray")).is_ok());
  }
  std::string path = cluster_->worker_dir(2) + "/chunks/0b/ad/" + orphan;
  ASSERT_TRUE(std::filesystem::exists(path));
  EXPECT_TRUE(test::wait_for([&] { return !std::filesystem::exists(path); }));
  EXPECT_TRUE(wait_until_garbage_collected());
  ASSERT_TRUE(client_->get("/kept", local("kept.back"), nullptr).is_ok());
  EXPECT_EQ(read_local("kept.back"), read_local("kept"));
}

TEST_F(ClusterTest, NamespaceOperationsBehaveLikeAFileSystem) {
  ASSERT_TRUE(client_->mkdir("/a/b", true).is_ok());
  EXPECT_EQ(client_->mkdir("/a", false).code(), Code::kAlreadyExists);
  write_local("x", "x");
  ASSERT_TRUE(client_->put(local("x"), "/a/b/x", {}, nullptr).is_ok());
  ASSERT_TRUE(client_->rename("/a", "/c").is_ok());
  EXPECT_TRUE(client_->stat("/c/b/x").is_ok());
  auto l = client_->list("/c/b", "");
  ASSERT_TRUE(l.is_ok());
  ASSERT_EQ(l->size(), 1u);
  EXPECT_EQ(l.value()[0].name, "x");
  EXPECT_EQ(client_->remove("/c", false).code(), Code::kDirectoryNotEmpty);
  EXPECT_TRUE(client_->remove("/c", true).is_ok());
  EXPECT_EQ(client_->stat("/c").status().code(), Code::kNotFound);
}

TEST_F(ClusterTest, ListingPagesThroughLargeDirectories) {
  write_local("x", "x");
  ASSERT_TRUE(client_->mkdir("/many", false).is_ok());
  for (int i = 0; i < 1005; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "/many/f%05d", i);
    ASSERT_TRUE(client_->put(local("x"), name, {}, nullptr).is_ok());
  }
  auto l = client_->list("/many", "");
  ASSERT_TRUE(l.is_ok());
  ASSERT_EQ(l->size(), 1005u);
  EXPECT_EQ(l->back().name, "f01004");
  EXPECT_EQ(client_->list("/many", "f0100")->size(), 5u);
}

TEST_F(ClusterTest, MalformedRequestsGetErrorsAndServersKeepServing) {
  zmq::context_t ctx;
  auto opts = cluster_->client_options();
  RpcClient master(ctx, master_api(opts.masters[0]));
  Envelope junk;
  junk.header.type = MsgType::kStatRequest;
  junk.body = "\xc1\xc1 not msgpack";
  auto reply = master.call(std::move(junk), std::chrono::milliseconds(5000));
  ASSERT_TRUE(reply.is_ok());
  EXPECT_EQ(decode_reply<StatReply>(reply.value()).status().code(), Code::kProtocol);
  Envelope wrong = make_envelope(WriteChunkAck{std::string(32, 'a'), 1, false});
  reply = master.call(std::move(wrong), std::chrono::milliseconds(5000));
  ASSERT_TRUE(reply.is_ok());
  EXPECT_EQ(decode_reply<OkReply>(reply.value()).status().code(), Code::kProtocol);

  auto st = client_->cluster_status();
  RpcClient worker(ctx, st->workers.at(0).endpoint);
  Envelope frame =
      make_envelope(WriteChunkFrame{std::string(32, 'b'), 0, 10, false, "", {}});  // no data frame
  reply = worker.call(std::move(frame), std::chrono::milliseconds(5000));
  ASSERT_TRUE(reply.is_ok());
  EXPECT_EQ(decode_reply<WriteChunkAck>(reply.value()).status().code(), Code::kProtocol);
  EXPECT_TRUE(client_->mkdir("/still-works", false).is_ok());
}

class FullClusterTest : public ClusterTest {
  uint64_t capacity() override { return 4 * kChunk; }
};

TEST_F(FullClusterTest, FullWorkersGiveAClearErrorAndNoPartialFile) {
  write_local("big", test::random_bytes(20 * kChunk, 6));
  Status s = client_->put(local("big"), "/big", {}, nullptr);
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.code(), Code::kDiskFull) << s.to_string();
  EXPECT_NE(s.message().find("room"), std::string::npos) << s.message();
  EXPECT_EQ(client_->stat("/big").status().code(), Code::kNotFound);
  // The aborted upload's chunks are collected, so the space comes back.
  EXPECT_TRUE(wait_until_workers_empty());
  write_local("small", test::random_bytes(2 * kChunk, 7));
  s = client_->put(local("small"), "/small", {}, nullptr);
  EXPECT_TRUE(s.is_ok()) << s.to_string();
}

}  // namespace
}  // namespace dfs

namespace dfs {
namespace {

// Four workers, replication 3: room to route around one that is gone.
class ReplicatedClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    test::InProcessCluster::Options o;
    o.workers = 4;
    cluster_ = std::make_unique<test::InProcessCluster>(o);
    ASSERT_TRUE(cluster_->wait_live(4));
    client_ = std::make_unique<Client>(cluster_->client_options());
  }
  std::string local(const std::string& name) { return cluster_->dir() / name; }

  std::unique_ptr<test::InProcessCluster> cluster_;
  std::unique_ptr<Client> client_;
};

TEST_F(ReplicatedClusterTest, APutRoutesAroundAWorkerTheMasterStillBelievesLive) {
  std::string data = test::random_bytes(16 * (64 << 10), 21);
  std::ofstream(local("f"), std::ios::binary) << data;
  // Stopped, but its last heartbeats keep it live on the master for a while:
  // pipelines through it fail and the chunks are retried without it.
  cluster_->stop_worker(2);
  ASSERT_TRUE(client_->put(local("f"), "/f", {}, nullptr).is_ok());
  auto st = client_->stat("/f");
  ASSERT_TRUE(st.is_ok());
  for (const auto& c : st->chunks) {
    std::set<std::string> distinct(c.replicas.begin(), c.replicas.end());
    EXPECT_EQ(distinct.size(), 3u);
    EXPECT_EQ(distinct.count("w2"), 0u)
        << "chunk " << c.index << " acknowledged on a stopped worker";
  }
  ASSERT_TRUE(client_->get("/f", local("back"), nullptr).is_ok());
  std::ifstream in(local("back"), std::ios::binary);
  std::stringstream back;
  back << in.rdbuf();
  EXPECT_EQ(back.str(), data);
}

// A reply lost after its request applied is not a failure the user sees:
// the client asks again and the master answers with the original outcome.
TEST_F(ClusterTest, MutationsWhoseRepliesAreLostStillSucceedForTheUser) {
  test::ReplyDropper dropper(cluster_->context(), cluster_->spare_port(),
                             cluster_->master_api_endpoint(),
                             {MsgType::kCommitUploadRequest, MsgType::kRenameRequest,
                              MsgType::kDeleteRequest, MsgType::kMkdirRequest});
  ClientOptions options = cluster_->client_options();
  options.masters = {HostPort{"127.0.0.1", cluster_->spare_port()}};
  options.timeout = std::chrono::milliseconds(1500);  // give up on a lost reply soonish
  Client client(options);

  ASSERT_TRUE(client.mkdir("/dir", false).is_ok());  // not "already exists"
  std::string data = test::random_bytes(3 * kChunk + 5, 11);
  write_local("f", data);
  Status put = client.put(local("f"), "/dir/f", {}, nullptr);
  ASSERT_TRUE(put.is_ok()) << put.to_string();             // not "upload unknown"
  ASSERT_TRUE(client.rename("/dir/f", "/dir/g").is_ok());  // not "not found"
  ASSERT_TRUE(client_->get("/dir/g", local("back"), nullptr).is_ok());
  EXPECT_EQ(read_local("back"), data);
  ASSERT_TRUE(client.remove("/dir/g", false).is_ok());  // not "not found"
  EXPECT_EQ(dropper.dropped(), 4);
  EXPECT_EQ(client_->stat("/dir/g").status().code(), Code::kNotFound);
  // Nothing applied twice: no file is left and one directory was made.
  auto st = client_->cluster_status();
  ASSERT_TRUE(st.is_ok());
  EXPECT_EQ(st->files, 0u);
  EXPECT_EQ(st->directories, 1u);
}

}  // namespace
}  // namespace dfs
