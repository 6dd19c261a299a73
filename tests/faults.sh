#!/usr/bin/env bash
# Proves the checkers catch real bugs: builds with each known fault and
# requires the checker's tests to fail.
#   - the Raft core's faults (master/raft/README.md): `ctest -R raft` (the simulation)
#   - the master service's faults (master/README.md): `ctest -R lincheck` (the
#     linearizability check of what clients see)
#
#   tests/faults.sh [BUILD_DIR]   (default build-faults/ in the checkout)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${1:-$ROOT/build-faults}"
missed=0

# prove README CMAKE_VAR TARGET CTEST_REGEX MIN SAYS: every fault listed in
# the README's table, built in through CMAKE_VAR, makes the tests fail with
# a verdict matching SAYS (a checker's, or a story test's assertion), not a
# crash or a setup error. The first failing test ends the run.
prove() {
  local readme="$1" var="$2" target="$3" regex="$4" min="$5" says="$6"
  local faults
  mapfile -t faults < <(grep -o '^| `[a-z_]*`' "$ROOT/$readme" | tr -d '|` ')
  [ "${#faults[@]}" -ge "$min" ] || { echo "faults: fewer than $min faults listed in $readme" >&2; exit 1; }
  for f in "${faults[@]}"; do
    cmake -S "$ROOT" -B "$DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDFS_BUILD_BENCH=OFF \
      -DDFS_RAFT_INJECT_FAULT= -DDFS_MASTER_INJECT_FAULT= -D"$var=$f" >/dev/null
    cmake --build "$DIR" --target "$target" >/dev/null
    start=$SECONDS
    if (cd "$DIR" && ctest -R "$regex" -j "$(nproc)" --timeout 300 --stop-on-failure --output-on-failure >"$DIR/$target-$f.log" 2>&1); then
      echo "MISSED  $f: ctest -R $regex passed with the fault built in"
      missed=$((missed + 1))
    elif ! grep -q "$says" "$DIR/$target-$f.log"; then
      echo "MISSED  $f: ctest -R $regex failed, but not with the checker's verdict ($says): see $DIR/$target-$f.log"
      missed=$((missed + 1))
    else
      echo "caught  $f in $((SECONDS - start)) s: $(grep -m1 -o 'seed [0-9]*[ :(].\{0,120\}' "$DIR/$target-$f.log" || echo 'see the log')"
    fi
  done
}

prove master/raft/README.md DFS_RAFT_INJECT_FAULT raft_test '^raft\.' 5 'failed at step\|: Failure'
prove master/README.md DFS_MASTER_INJECT_FAULT lincheck_test '^lincheck\.Seeds/' 2 'agrees with their results'
cmake -S "$ROOT" -B "$DIR" -DDFS_RAFT_INJECT_FAULT= -DDFS_MASTER_INJECT_FAULT= >/dev/null
[ "$missed" -eq 0 ]
