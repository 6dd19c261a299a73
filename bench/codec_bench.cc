// Costs on the data path that every byte pays: hashing and frame encoding.
#include <benchmark/benchmark.h>

#include "bus/wire.h"
#include "codec/codec.h"
#include "codec/sha256.h"

namespace dfs {
namespace {

void BM_Sha256(benchmark::State& state) {
  std::string data(static_cast<size_t>(state.range(0)), 'x');
  for (auto _ : state) benchmark::DoNotOptimize(Sha256::hex_of(data));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Sha256)->Arg(1 << 20);

void BM_EncodeDecodeWriteFrame(benchmark::State& state) {
  WriteChunkFrame frame{std::string(32, 'a'), 1 << 20, 64 << 20, false, "", {}};
  for (auto _ : state) {
    auto decoded = decode<WriteChunkFrame>(encode(frame));
    benchmark::DoNotOptimize(decoded);
  }
}
BENCHMARK(BM_EncodeDecodeWriteFrame);

}  // namespace
}  // namespace dfs

BENCHMARK_MAIN();
