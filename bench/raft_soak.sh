#!/usr/bin/env bash
# Soak for the Raft core: runs the simulator over many more seeds than CI
# does (N per shard, 8 shards: 3 and 5 nodes, 4 shards each), both cores busy.
#
#   bench/raft_soak.sh [SEEDS_PER_SHARD]   (default 25000: 200,000 runs)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N="${1:-25000}"
cd "$ROOT/build"
start=$SECONDS
DFS_RAFT_SEEDS="$N" ctest -R '^raft\.' -j "$(nproc)" --timeout 0 --output-on-failure
echo "raft soak: $((N * 8)) seeded runs passed in $((SECONDS - start)) s"
