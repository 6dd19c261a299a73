// Costs on the data path that every byte pays: hashing, block CRCs, frame encoding, and
// the chunk ticket a master signs per chunk and a worker checks per frame.
#include <benchmark/benchmark.h>

#include "bus/chunk_ticket.h"
#include "bus/wire.h"
#include "codec/codec.h"
#include "codec/crc32c.h"
#include "codec/sha256.h"

namespace dfs {
namespace {

void BM_Sha256(benchmark::State& state) {
  std::string data(static_cast<size_t>(state.range(0)), 'x');
  for (auto _ : state) benchmark::DoNotOptimize(Sha256::hex_of(data));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Sha256)->Arg(1 << 20);

// The block check every byte read pays, with the CPU's instruction and without.
void BM_Crc32c(benchmark::State& state) {
  std::string data(static_cast<size_t>(state.range(0)), 'x');
  for (auto _ : state) benchmark::DoNotOptimize(crc32c(data.data(), data.size()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
  state.SetLabel(crc32c_uses_hardware() ? "sse4.2" : "table");
}
BENCHMARK(BM_Crc32c)->Arg(64 << 10);

void BM_Crc32cTable(benchmark::State& state) {
  std::string data(static_cast<size_t>(state.range(0)), 'x');
  for (auto _ : state)
    benchmark::DoNotOptimize(crc32c_extend_portable(0, data.data(), data.size()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Crc32cTable)->Arg(64 << 10);

void BM_EncodeDecodeWriteFrame(benchmark::State& state) {
  WriteChunkFrame frame{std::string(32, 'a'), 1 << 20, 64 << 20, false, "", {}};
  for (auto _ : state) {
    auto decoded = decode<WriteChunkFrame>(encode(frame));
    benchmark::DoNotOptimize(decoded);
  }
}
BENCHMARK(BM_EncodeDecodeWriteFrame);

void BM_SignTicket(benchmark::State& state) {
  auto signer = TicketSigner::make(generate_ticket_key().value()).value();
  for (auto _ : state) {
    benchmark::DoNotOptimize(signer->sign(std::string(32, 'a'), "alice", "read", 1));
  }
}
BENCHMARK(BM_SignTicket);

void BM_CheckTicket(benchmark::State& state) {
  auto key = generate_ticket_key().value();
  auto ticket = TicketSigner::make(key).value()->sign(std::string(32, 'a'), "alice", "read", 2);
  const std::vector<std::string> keys{key.public_key};
  for (auto _ : state) {
    benchmark::DoNotOptimize(check_ticket(ticket, keys, std::string(32, 'a'), "read", 1));
  }
}
BENCHMARK(BM_CheckTicket);

}  // namespace
}  // namespace dfs

BENCHMARK_MAIN();
