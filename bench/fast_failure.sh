#!/usr/bin/env bash
# What a worker's death costs a transfer in flight: a put of SIZE MiB with a
# worker of its pipeline killed -9 while it writes, and a get of the same
# file with the replica it reads from killed -9 while it reads, each timed
# against the same transfer undisturbed in the same run. Prints every trial
# and the extra seconds each kill cost. Five workers, R=3; the killed worker
# is restarted before the next trial.
#
#   bench/fast_failure.sh [--trials N] [--size-mb N]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TRIALS=3 SIZE_MB=256
while [ $# -gt 0 ]; do
  case "$1" in
    --trials) TRIALS="$2"; shift 2 ;;
    --size-mb) SIZE_MB="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
RUN="$(mktemp -d "${TMPDIR:-/tmp}/dfs-fast-failure-XXXXXX")"
cleanup() { "$ROOT/launch/down" --dir "$RUN/cluster" >/dev/null 2>&1 || true; rm -rf "$RUN"; }
trap cleanup EXIT
PORT=$((20000 + RANDOM % 8000))
"$ROOT/launch/up" --dir "$RUN/cluster" --base-port "$PORT" --workers 5 --chunk-size 16M >/dev/null 2>&1
DFS="$ROOT/build/bin/dfs"
export DFS_MASTERS="127.0.0.1:$PORT" DFS_CONFIG="$RUN/cluster/dfs.conf"
now_ms() { echo $(($(date +%s%N) / 1000000)); }
head -c $((SIZE_MB << 20)) /dev/urandom >"$RUN/data"

# Runs "$@" in the background; once any worker holds a temporary (a put) or
# the transfer has run `after_ms` (a get), kills -9 the worker chosen by
# `pick` and waits. Prints the elapsed seconds.
timed_kill() {
  local pick="$1" after_ms="$2"; shift 2
  local start victim pid
  start=$(now_ms)
  "$@" >/dev/null 2>"$RUN/err" &
  pid=$!
  victim=""
  while kill -0 "$pid" 2>/dev/null && [ -z "$victim" ]; do
    victim="$($pick)"
    [ $(($(now_ms) - start)) -ge "$after_ms" ] || victim=""
    [ -n "$victim" ] || sleep 0.02
  done
  [ -n "$victim" ] && kill -9 "$(cat "$RUN/cluster/worker-${victim#w}/pid")"
  wait "$pid" || echo "# transfer failed: $(cat "$RUN/err")" >&2
  echo "$victim $(( $(now_ms) - start ))"
}
writing_worker() {  # a worker of the current pipeline
  local d
  for d in "$RUN"/cluster/worker-*; do
    [ -n "$(ls "$d/tmp" 2>/dev/null)" ] && { basename "$d" | sed 's/worker-/w/'; return; }
  done
}
reading_worker() {  # the first replica of the file's middle chunk, which a get reads first
  "$DFS" stat --json /f | grep -o '"replicas":\[[^]]*\]' | sed -n "$((SIZE_MB / 32 + 1))p" |
    grep -o 'w[0-9]*' | head -1
}
secs() { awk -v ms="$1" 'BEGIN {printf "%.2f", ms / 1000}'; }

for t in $(seq 1 "$TRIALS"); do
  "$DFS" rm /f >/dev/null 2>&1 || true
  s=$(now_ms); "$DFS" put -q "$RUN/data" /f; clean_put=$(($(now_ms) - s))
  "$DFS" rm /f
  read -r victim killed_put <<<"$(timed_kill writing_worker 300 "$DFS" put -q "$RUN/data" /f)"
  "$ROOT/launch/up" --dir "$RUN/cluster" >/dev/null 2>&1
  s=$(now_ms); "$DFS" get -q /f "$RUN/back"; clean_get=$(($(now_ms) - s))
  read -r rvictim killed_get <<<"$(timed_kill reading_worker $((clean_get / 3)) "$DFS" get -q /f "$RUN/back")"
  cmp -s "$RUN/data" "$RUN/back" || echo "# trial $t: the get returned different bytes" >&2
  "$ROOT/launch/up" --dir "$RUN/cluster" >/dev/null 2>&1
  echo "trial $t: put ${SIZE_MB} MiB $(secs "$clean_put") s, with $victim killed $(secs "$killed_put") s (+$(secs $((killed_put - clean_put))) s); get $(secs "$clean_get") s, with $rvictim killed $(secs "$killed_get") s (+$(secs $((killed_get - clean_get))) s)"
done
