#!/usr/bin/env bash
# Failover time of the masters' Raft group: kill -9 the leader of a local
# 3-master cluster and time until the first write commits again (a `dfs mkdir`
# retried with a short per-attempt timeout), then restart the killed master
# and wait for the group to be whole before the next trial. Prints every
# trial, the median and the max. With --etcd PATH it runs that etcd bench
# (../shared/peers/etcd_bench.sh style: "failover trial N: ... after X s"
# lines) with the same number of trials in the same sitting, and prints both.
#
#   bench/failover.sh [--trials N] [--etcd PATH]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TRIALS=10 ETCD=""
while [ $# -gt 0 ]; do
  case "$1" in
    --trials) TRIALS="$2"; shift 2 ;;
    --etcd) ETCD="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
RUN="$(mktemp -d "${TMPDIR:-/tmp}/dfs-failover-bench-XXXXXX")"
cleanup() { "$ROOT/launch/down" --dir "$RUN" >/dev/null 2>&1 || true; rm -rf "$RUN"; }
trap cleanup EXIT
PORT=$((20000 + RANDOM % 8000))
"$ROOT/launch/up" --dir "$RUN" --base-port "$PORT" --workers 3 >/dev/null 2>&1
DFS="$ROOT/build/bin/dfs"
export DFS_MASTERS="127.0.0.1:$PORT,127.0.0.1:$((PORT + 4)),127.0.0.1:$((PORT + 8))" DFS_CONFIG="$RUN/dfs.conf"
leader() { "$ROOT/launch/status" --dir "$RUN" | awk '$1 == "master" && $6 ~ /^leader/ {print $2}'; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
stats() {  # median and max of the numbers on stdin
  sort -n | awk '{v[NR] = $1} END {if (NR == 0) {print "none"; exit}
    m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "median %.3f s, max %.3f s (%d trials)\n", m, v[NR], NR}'
}

: >"$RUN/dfs.txt"
for t in $(seq 1 "$TRIALS"); do
  l=""
  for _ in $(seq 1 100); do l="$(leader)"; [ -n "$l" ] && break; sleep 0.1; done
  [ -n "$l" ] || { echo "# trial $t: no leader"; continue; }
  kill -9 "$(cat "$RUN/master-${l#m}/pid")"
  start=$(now_ms)
  until "$DFS" --timeout-ms 200 mkdir "/failover-$t" 2>/dev/null; do
    [ $(($(now_ms) - start)) -lt 20000 ] || break
  done
  took=$(($(now_ms) - start))
  echo "dfs failover trial $t: killed leader $l -> first committed write after $(awk -v ms="$took" 'BEGIN {printf "%.3f", ms / 1000}') s"
  awk -v ms="$took" 'BEGIN {printf "%.3f\n", ms / 1000}' >>"$RUN/dfs.txt"
  "$ROOT/launch/up" --dir "$RUN" >/dev/null 2>&1
  # Whole again: three masters answer, one leads.
  for _ in $(seq 1 100); do
    [ "$("$ROOT/launch/status" --dir "$RUN" | awk '$1 == "master" && $6 ~ /^(leader|follower)/' | wc -l)" -eq 3 ] && break
    sleep 0.1
  done
done
echo "dfs_leader_failover: $(stats <"$RUN/dfs.txt")"
echo "dfs_settings: raft tick 50 ms, election timeout 6-12 ticks (0.3-0.6 s), log fsync per Ready on every master, same disk"
if [ -n "$ETCD" ]; then
  out="$(FAIL_TRIALS="$TRIALS" REPS=1 SEQ_N=200 CONC_SECS=2 CHECK_PERF=none bash "$ETCD" 2>&1 || true)"
  grep -i "failover trial" <<<"$out" || true
  grep -oE 'failover trial [0-9]+: .* after [0-9.]+ s' <<<"$out" | grep -oE '[0-9.]+ s$' | tr -d ' s' >"$RUN/etcd.txt" || true
  echo "etcd_leader_failover: $(stats <"$RUN/etcd.txt")"
fi
