// Writes the fuzz targets' seed corpora: every message type encoded from a
// filled-in example, real keyrings and key files, headers and paths. Run by
// tests/fuzz/run.sh --seeds; its output is kept in tests/fuzz/corpus/.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "bus/bulk_seal.h"
#include "bus/chunk_ticket.h"
#include "bus/curve_keys.h"
#include "bus/keyring.h"
#include "codec/codec.h"
#include "codec/commands.h"
#include "codec/header.h"
#include "codec/raft_messages.h"
#include "tests/fuzz/message_table.h"
#include "tests/fuzz/namespace_log.h"
#include "worker/chunk_file.h"

namespace fs = std::filesystem;
using namespace dfs;

namespace {

std::string out_dir;

void seed(const std::string& target, const std::string& name, const std::string& bytes) {
  fs::create_directories(out_dir + "/" + target);
  std::ofstream(out_dir + "/" + target + "/" + name, std::ios::binary) << bytes;
}

// A fuzz_messages seed: the byte that picks T, then its encoding.
template <typename T>
void message(const std::string& name, const T& msg) {
  seed("fuzz_messages", name, std::string(1, static_cast<char>(fuzz::pick_of<T>())) + encode(msg));
}

// fuzz_namespace seeds: short logs as clients and the leader write them.
void namespace_logs(const std::string& chunk, const WorkerAddr& w) {
  using fuzz::log_record;
  const std::string sha(64, 'b');
  const std::string upload(32, 'e');
  const std::string lease(32, 'd');
  const std::string slot(32, 'c');
  WorkerAddr w2{"w2", "tcp://127.0.0.1:7511", "tcp://127.0.0.1:7512", ""};
  std::vector<WorkerAddr> pipeline{w, w2};
  ChunkInfo c{0, chunk, 4096, sha, {"w1", "w2"}, {}};
  // A directory, a file written by upload (its commit retried), then, after
  // a restart, renamed, chmodded, damaged and repaired, and deleted.
  std::string files =
      log_record(RegisterWorkerCmd{w}, 0) + log_record(RegisterWorkerCmd{w2}, 0) +
      log_record(MkdirCmd{"/home/alice", true, 1, 0777}, 0, 1) +
      log_record(CreateUploadCmd{upload,
                                 "/home/alice/f",
                                 1 << 20,
                                 2,
                                 1,
                                 false,
                                 100,
                                 0644,
                                 false,
                                 chunk,
                                 4096,
                                 pipeline,
                                 {}},
                 1, 2) +
      log_record(ChunkWrittenCmd{upload, c}, 1, 2) +
      log_record(CommitUploadCmd{upload, 4096, {}, ""}, 1, 2) +
      log_record(CommitUploadCmd{upload, 4096, {}, ""}, 1, 2, fuzz::kRetry) +
      log_record(RenameCmd{"/home/alice/f", "/home/alice/g", 2}, 1, 2, fuzz::kRestartBefore) +
      log_record(SetAttrCmd{"/home/alice/g", 0600, "", ""}, 1, 2) +
      log_record(MarkReplicaBadCmd{chunk, "w2", "/home/alice/g", "bad", 0, ""}, 2) +
      log_record(ReplicaAddedCmd{2, "g", chunk, {"w3"}}, 0) +
      log_record(DeleteCmd{"/home/alice/g", false}, 2, 3) +
      log_record(DeleteCmd{"/home/alice/g", false}, 1, 2) + log_record(GcDoneCmd{"w1", {chunk}}, 0);
  seed("fuzz_namespace", "files", files);
  // Small files through a lease of slots, a whole-file commit, orphans,
  // expiry, draining, members and keys.
  CreateUploadCmd leased{lease,
                         "",
                         1 << 20,
                         2,
                         1,
                         false,
                         100,
                         kModeUnset,
                         false,
                         "",
                         65536,
                         {},
                         {ChunkSlot{slot, pipeline}, ChunkSlot{chunk, pipeline}}};
  ChunkInfo s0{0, slot, 4096, sha, {"w1", "w2"}, {}};
  std::string rest =
      log_record(RegisterWorkerCmd{w}, 0) + log_record(RegisterWorkerCmd{w2}, 0) +
      log_record(MkdirCmd{"/tmp", false, 1, 0777}, 0) + log_record(leased, 1, 1) +
      log_record(CommitUploadCmd{lease, 4096, {s0}, "", {}, "/tmp/small", false, 0644}, 1, 1) +
      log_record(CommitFileCmd{"/tmp/whole", false, 4096, 1 << 20, 2, {c}, 3, 0644, ""}, 3, 3) +
      log_record(AddGarbageCmd{{c}}, 0) + log_record(CollectOrphansCmd{"w1", {chunk}}, 0) +
      log_record(ExpireCmd{1000, 1000, 1000}, 0) + log_record(WorkerDrainCmd{"w2", true}, 0) +
      log_record(MemberChangeCmd{"add", 4, "127.0.0.1:7404"}, 0) +
      log_record(KeyAddCmd{"client dave " + std::string(40, 'k')}, 0) +
      log_record(KeyRevokeCmd{std::string(40, 'k'), false}, 0) +
      log_record(AbortUploadCmd{lease}, 1, 1);
  seed("fuzz_namespace", "uploads", rest);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds DIR\n");
    return 2;
  }
  out_dir = argv[1];
  const std::string chunk(32, 'a');
  WorkerAddr w{"w1", "tcp://127.0.0.1:7501", "tcp://127.0.0.1:7502", ""};
  ChunkInfo c{0, chunk, 1 << 20, std::string(64, 'b'), {"w1", "w2"}, {}};
  auto signer = TicketSigner::make(generate_ticket_key().value()).value();
  ChunkTicket ticket = signer->sign(chunk, "alice", "read", 1);
  message("error", ErrorReply{18, "permission denied", "127.0.0.1:7400", "w1"});
  message("mkdir", MkdirRequest{"/a/b", true, {7, 1}, 022});
  message("stat", StatRequest{"/a", false, true});
  message(
      "stat-reply",
      StatReply{
          EntryInfo{"a", 1, 10, 1, 3, 1 << 20, 1, "alice", "staff", 0640}, {c}, {w}, {}, {ticket}});
  message("setattr", SetAttrRequest{"/a", 0750, "alice", "staff", {7, 2}});
  message("allocate-reply", AllocateChunkReply{chunk, {w}, ticket});
  WriteChunkFrame frame{chunk, 0, 1 << 20, false, "", {w}, ticket};
  message("write-frame", frame);
  message("read", ReadChunkRequest{chunk, 0, 4096, ticket});
  Heartbeat hb;
  hb.worker_id = "w1";
  hb.endpoint = w.endpoint;
  hb.pipeline = w.pipeline;
  message("heartbeat", hb);
  message("commit-cmd", CommitFileCmd{"/a", false, 1 << 20, 1 << 20, 2, {c}, 5, 0644});
  Command cmd = make_command(MkdirCmd{"/a", true, 5, 0755}, 5, {7, 3});
  cmd.caller = user_caller("alice", {"staff"});
  seed("fuzz_messages", "command",
       std::string(1, static_cast<char>(fuzz::kCommandPick)) + encode(cmd));
  raft::Message vote;
  vote.kind = static_cast<uint8_t>(raft::MsgKind::kVote);
  message("raft-vote", vote);
  const std::string z85(40, 'k');
  message("key-change",
          KeyChangeRequest{"add", "client carol " + z85 + " groups=staff", "", {7, 4}});
  message("keyring-update", KeyringUpdate{9, {"admin ops " + z85}, {std::string(40, 'r')}});
  message("keys-reply", KeysReply{9, {KeyListing{"client carol " + z85, "log", false}}});

  message("bulk-session-reply",
          BulkSessionReply{std::string(16, 's'), std::string(32, 'k'), "tcp://127.0.0.1:7503"});

  // fuzz_bulk_open: frames as 2-byte lengths and bytes, after a mode byte
  // and a byte to change (see the target).
  auto framed = [](const std::vector<zmq::message_t>& frames) {
    std::string out;
    for (const auto& f : frames) {
      out += static_cast<char>(f.size() >> 8);
      out += static_cast<char>(f.size() & 0xff);
      out += f.to_string();
    }
    return out;
  };
  Header rh{MsgType::kReadChunkRequest, 7};
  auto rh_bytes = rh.encode();
  std::vector<zmq::message_t> inner;
  inner.emplace_back(rh_bytes.data(), rh_bytes.size());
  std::string read_body = encode(ReadChunkRequest{chunk, 0, 4096, ticket});
  inner.emplace_back(read_body.data(), read_body.size());
  seed("fuzz_bulk_open", "seal-and-change", std::string("\x01\x05", 2) + framed(inner));
  BulkSealer sealer(BulkSecret{std::string(16, 's'), std::string(32, 'k')},
                    BulkDirection::kToServer);
  if (!sealer.seal(&inner).is_ok()) return 1;
  seed("fuzz_bulk_open", "sealed", std::string("\x00\x00", 2) + framed(inner));

  Header h{MsgType::kStatRequest, 42};
  auto hb_bytes = h.encode();
  seed("fuzz_header", "stat", std::string(hb_bytes.begin(), hb_bytes.end()));

  ChunkFileHeader fh;
  fh.size = 1 << 20;
  fh.sha256 = std::string(64, 'c');
  seed("fuzz_chunk_header", "chunk", fh.encode());

  auto key = generate_key_pair().value();
  auto tkey = generate_ticket_key().value();
  seed("fuzz_keyring", "keyring",
       "# ROLE NAME PUBLIC-KEY\nmaster m1 " + key.public_key +
           " endpoint=127.0.0.1:7400\nclient alice " + generate_key_pair()->public_key +
           " groups=staff,ops\nticket t1 " + tkey.public_key + "\n");
  seed("fuzz_key_file", "secret",
       "# dfs CURVE secret key\npublic-key = " + key.public_key +
           "\nsecret-key = " + key.secret_key + "\n");
  seed("fuzz_key_file", "ticket",
       "public-key = " + tkey.public_key + "\nsecret-key = " + tkey.secret_key + "\n");
  namespace_logs(chunk, w);
  seed("fuzz_path", "plain", "/a/b/c");
  seed("fuzz_path", "dots", "//a/./b/../c/");
  seed("fuzz_path", "utf8", "/d\xc3\xa9j\xc3\xa0/vu");
  return 0;
}
