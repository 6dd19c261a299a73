#include "worker/repair_copier.h"

#include <spdlog/spdlog.h>

#include "bus/chunk_transfer.h"
#include "bus/rpc_client.h"

namespace dfs {
namespace {
constexpr size_t kRememberedResults = 4096;
}  // namespace

RepairCopier::RepairCopier(zmq::context_t& ctx, std::string worker_id, ChunkStore* store,
                           Options options)
    : ctx_(ctx),
      worker_id_(std::move(worker_id)),
      store_(store),
      options_(options),
      queue_(options.queue_depth) {
  for (int i = 0; i < std::max(1, options_.threads); ++i) threads_.emplace_back([this] { run(); });
}

RepairCopier::~RepairCopier() { stop(); }

void RepairCopier::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  queue_.close();
  for (auto& t : threads_) t.join();
}

void RepairCopier::submit(const ReplicateChunkJob& job) {
  std::lock_guard lock(mu_);
  if (stopped_ || active_.count(job.job_id)) return;
  if (auto it = ended_.find(job.job_id); it != ended_.end()) {
    done_.push_back(it->second);  // the master missed the report: say it again
    return;
  }
  auto now = std::chrono::steady_clock::now();
  auto expires = job.expires_in_ms ? now + std::chrono::milliseconds(job.expires_in_ms)
                                   : std::chrono::steady_clock::time_point::max();
  if (!queue_.try_push(Queued{job, expires})) return;  // full: the master sends it again
  active_[job.job_id] = true;
}

size_t RepairCopier::in_progress() {
  std::lock_guard lock(mu_);
  return active_.size();
}

std::vector<ReplicateChunkDone> RepairCopier::take_done() {
  std::lock_guard lock(mu_);
  return std::exchange(done_, {});
}

void RepairCopier::finish(ReplicateChunkDone done) {
  std::lock_guard lock(mu_);
  active_.erase(done.job_id);
  ended_[done.job_id] = done;
  ended_order_.push_back(done.job_id);
  if (ended_order_.size() > kRememberedResults) {
    ended_.erase(ended_order_.front());
    ended_order_.pop_front();
  }
  done_.push_back(std::move(done));
}

void RepairCopier::run() {
  while (!queue_.closed()) {
    auto queued = queue_.pop(std::chrono::milliseconds(500));
    if (!queued) continue;
    if (std::chrono::steady_clock::now() >= queued->expires) {
      // The leader has given it up and planned it again, maybe elsewhere:
      // a late copy would only be surplus.
      spdlog::debug("repair job {} expired in the queue; dropped", queued->job.job_id);
      std::lock_guard lock(mu_);
      active_.erase(queued->job.job_id);
      continue;
    }
    finish(copy(queued->job));
  }
}

ReplicateChunkDone RepairCopier::copy(const ReplicateChunkJob& job) {
  ReplicateChunkDone done{job.job_id, worker_id_, job.chunk_id, {}, 0, "", ""};
  for (const auto& t : job.targets) done.targets.push_back(t.id);
  auto fail = [&](const Status& s, const std::string& culprit) {
    done.code = static_cast<uint16_t>(s.code());
    done.message = s.message().substr(0, 1024);
    done.culprit = culprit;
    spdlog::warn("repair copy of chunk {} to {}: {}", job.chunk_id, job.targets.front().id,
                 s.to_string());
    return done;
  };
  auto reader = store_->open_reader(job.chunk_id);
  if (!reader.is_ok()) {
    // Missing or with a damaged header: this copy is no good.
    Code code = reader.status().code() == Code::kNotFound ? Code::kChecksumMismatch
                                                          : reader.status().code();
    return fail(Status(code, "source copy unusable: " + reader.status().message()), worker_id_);
  }
  const ChunkFileHeader& header = (*reader)->header();
  if (header.size != job.size || header.sha256 != job.sha256) {
    return fail(
        Status(Code::kChecksumMismatch,
               "the stored chunk " + job.chunk_id + " is not the one recorded (size " +
                   std::to_string(header.size) + ", expected " + std::to_string(job.size) + ")"),
        worker_id_);
  }
  RpcClient target(ctx_, job.targets.front().endpoint, job.targets.front().key,
                   std::chrono::milliseconds(2000), 64, nullptr, /*bulk=*/true);
  std::vector<WorkerAddr> downstream(job.targets.begin() + 1, job.targets.end());
  TransferOptions topts;
  topts.timeout = options_.timeout;
  topts.expect_sha256 = job.sha256;
  ChunkReader& in = *reader.value();
  ChunkSource source = [&](uint64_t offset, char* buf, size_t len) -> Status {
    auto n = in.read(offset, len, buf);
    if (!n.is_ok()) return n.status();
    if (n.value() != len) {
      return Status(Code::kChecksumMismatch, "the stored chunk " + job.chunk_id + " is short");
    }
    return Status::ok();
  };
  std::string culprit;
  auto sent =
      write_chunk(target, job.chunk_id, job.size, downstream, source, topts, nullptr, &culprit);
  if (sent.is_ok()) {
    spdlog::info("repair: copied chunk {} to {} worker(s)", job.chunk_id, job.targets.size());
    return done;
  }
  const Status& s = sent.status();
  if (s.code() == Code::kChecksumMismatch && culprit.empty()) return fail(s, worker_id_);
  if (s.code() == Code::kAlreadyExists && job.targets.size() == 1) {
    // Stored earlier by a copy whose report was lost -- or being written
    // right now by another copy, which may still fail. Only a stored chunk
    // can be read; it was verified when it was stored, and ids are never reused.
    RpcClient probe(ctx_, job.targets.front().endpoint, job.targets.front().key);
    auto stored = probe.call<ReadChunkRequest, ReadChunkReply>(ReadChunkRequest{job.chunk_id, 0, 1},
                                                               options_.timeout);
    if (stored.is_ok() && stored->total_size == job.size) return done;
  }
  return fail(s, culprit.empty() ? job.targets.front().id : culprit);
}

}  // namespace dfs
