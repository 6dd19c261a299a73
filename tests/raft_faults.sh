#!/usr/bin/env bash
# Proves the Raft simulation catches real bugs: builds the core once with each
# fault listed in master/raft/README.md and requires `ctest -R raft` to fail.
#
#   tests/raft_faults.sh [BUILD_DIR]   (default build-faults/ in the checkout)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${1:-$ROOT/build-faults}"
mapfile -t faults < <(grep -o '^| `[a-z_]*`' "$ROOT/master/raft/README.md" | tr -d '|` ')
[ "${#faults[@]}" -ge 5 ] || { echo "raft_faults: no faults listed in master/raft/README.md" >&2; exit 1; }
missed=0
for f in "${faults[@]}"; do
  cmake -S "$ROOT" -B "$DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDFS_BUILD_BENCH=OFF \
    -DDFS_RAFT_INJECT_FAULT="$f" >/dev/null
  cmake --build "$DIR" --target raft_test >/dev/null
  start=$SECONDS
  if (cd "$DIR" && ctest -R '^raft\.' -j "$(nproc)" --timeout 300 --output-on-failure >"$DIR/raft-$f.log" 2>&1); then
    echo "MISSED  $f: ctest -R raft passed with the fault built in"
    missed=$((missed + 1))
  else
    echo "caught  $f in $((SECONDS - start)) s: $(grep -m1 -o 'seed [0-9]* ([0-9] nodes) failed at step [0-9]*: .\{0,100\}' "$DIR/raft-$f.log" || echo 'see the log')"
  fi
done
cmake -S "$ROOT" -B "$DIR" -DDFS_RAFT_INJECT_FAULT= >/dev/null
[ "$missed" -eq 0 ]
