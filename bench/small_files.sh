#!/usr/bin/env bash
# Small files through the client library (no process per file) on a fresh
# local cluster (3 masters, 3 workers, R=3, CURVE): puts, gets, stats and
# deletes of 4 KiB files at 16 concurrent clients, with p50 and p99
# (build/bin/s3_small_bench without an S3 endpoint). Then the CLI: `dfs stat`
# and `dfs --help` run 16 at a time, to show what process start costs.
# With --ceph SCRIPT-OR-FILE, runs a Ceph bench script in the same sitting
# (or reads its saved output: "ceph_rados_write_4K_t16_IOPS: N ..." and
# "ceph_rados_seqread_4K_t16_IOPS: N ..." lines, as ../shared/peers/
# ceph_bench.sh prints) and prints dfs's puts and gets as ratios of them.
#
#   bench/small_files.sh [--clients 16] [--seconds 5] [--size 4096] [--ceph SCRIPT-OR-FILE]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLIENTS=16 SECONDS_PER_PHASE=5 SIZE=4096 CEPH=""
while [ $# -gt 0 ]; do
  case "$1" in
    --clients) CLIENTS="$2"; shift 2 ;;
    --seconds) SECONDS_PER_PHASE="$2"; shift 2 ;;
    --size) SIZE="$2"; shift 2 ;;
    --ceph) CEPH="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
RUN="$(mktemp -d "${TMPDIR:-/tmp}/dfs-small-bench-XXXXXX")"
cleanup() { "$ROOT/launch/down" --dir "$RUN" >/dev/null 2>&1 || true; rm -rf "$RUN" "$RUN.up.log"; }
trap cleanup EXIT
PORT=$((20000 + RANDOM % 8000))
"$ROOT/launch/up" --dir "$RUN" --base-port "$PORT" --workers 3 --replication 3 >"$RUN.up.log" 2>&1 ||
  { cat "$RUN.up.log" >&2; exit 1; }
cmake --build "$ROOT/build" --target s3_small_bench >/dev/null
OUT="$(DFS_KEY="$RUN/keys/admin.key" DFS_KEYRING="$RUN/keys/keyring" "$ROOT/build/bin/s3_small_bench" \
  --masters "127.0.0.1:$PORT" --clients "$CLIENTS" --seconds "$SECONDS_PER_PHASE" --size "$SIZE")"
echo "$OUT"

# The CLI, one process per operation, CLIENTS at a time, 20 rounds' worth.
export DFS_CONFIG="$RUN/dfs.conf"
"$ROOT/build/bin/dfs" put -q /dev/null /cli-probe 2>/dev/null || true
cli_rate() {
  local n=$((CLIENTS * 20)) start end
  start=$(date +%s.%N)
  seq "$n" | xargs -P "$CLIENTS" -I{} "$@" >/dev/null 2>&1 || true
  end=$(date +%s.%N)
  awk -v n="$n" -v s="$start" -v e="$end" 'BEGIN {printf "%.0f", n / (e - s)}'
}
echo "cli: dfs stat, $CLIENTS at a time: $(cli_rate "$ROOT/build/bin/dfs" stat /cli-probe) ops/s;" \
  "dfs --help: $(cli_rate "$ROOT/build/bin/dfs" --help) ops/s"

[ -n "$CEPH" ] || exit 0
if [ -x "$CEPH" ] || [[ "$CEPH" == *.sh ]]; then
  "$ROOT/launch/down" --dir "$RUN" >/dev/null 2>&1 || true  # Ceph gets the machine to itself
  CEPH_OUT="$(bash "$CEPH")"
else
  CEPH_OUT="$(cat "$CEPH")"
fi
echo "$CEPH_OUT" | grep -E '^ceph_rados_(write|seqread)_4K' || true
ceph_iops() { echo "$CEPH_OUT" | awk -v k="ceph_rados_$1_4K_t16_IOPS:" '$1 == k {print $2}'; }
dfs_rate() { echo "$OUT" | awk -v p="$1" '$1 == "lib" && $2 == p {print $4}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "n/a"}'; }
echo "dfs put / ceph 4K write IOPS: $(ratio "$(dfs_rate put)" "$(ceph_iops write)") (target >= 2)"
echo "dfs get / ceph 4K read IOPS: $(ratio "$(dfs_rate get)" "$(ceph_iops seqread)") (target >= 1)"
