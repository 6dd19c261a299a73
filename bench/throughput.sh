#!/usr/bin/env bash
# Throughput of dfs put/get against this machine's raw disk, in one run:
#   raw write: dd of the input with fsync      raw read: dd of that copy
#   put:       dfs put of the input            get:      dfs get to a local file
# Prints MB/s for each and the ratio to raw. Page cache is dropped before
# each read where the kernel allows it (it says so when it cannot).
#
#   bench/throughput.sh [--size-mb N] [--workers N] [--chunk-size S] [--dir D]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SIZE_MB=1024 WORKERS=3 CHUNK=64M DIR=""
while [ $# -gt 0 ]; do
  case "$1" in
    --size-mb) SIZE_MB="$2"; shift 2 ;;
    --workers) WORKERS="$2"; shift 2 ;;
    --chunk-size) CHUNK="$2"; shift 2 ;;
    --dir) DIR="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
DIR="${DIR:-$(mktemp -d "${TMPDIR:-/tmp}/dfs-bench-XXXXXX")}"
mkdir -p "$DIR"
RUN="$DIR/cluster"
PORT=$((10000 + RANDOM % 20000))
DFS="$ROOT/build/bin/dfs"
trap '"$ROOT/launch/down" --dir "$RUN" >/dev/null 2>&1 || true; rm -rf "$DIR"' EXIT

drop_caches() {
  sync
  if echo 3 >/proc/sys/vm/drop_caches 2>/dev/null; then CACHE="dropped"; else CACHE="NOT dropped (no permission)"; fi
}
seconds() { local s=$EPOCHREALTIME; "$@"; awk -v a="$s" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }'; }
rate() { awk -v mb="$SIZE_MB" -v t="$1" 'BEGIN { printf "%.1f", mb * 1.048576 / t }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", 100 * a / b }'; }

"$ROOT/launch/up" --dir "$RUN" --base-port "$PORT" --workers "$WORKERS" --chunk-size "$CHUNK" >/dev/null
export DFS_MASTERS="127.0.0.1:$PORT"
head -c $((SIZE_MB << 20)) /dev/urandom >"$DIR/input"
cat "$DIR/input" >/dev/null  # in page cache, as dfs put will find it

t_raw_write=$(seconds dd if="$DIR/input" of="$DIR/raw" bs=1M conv=fsync status=none)
drop_caches
t_raw_read=$(seconds dd if="$DIR/raw" of=/dev/null bs=1M status=none)
rm -f "$DIR/raw"
cat "$DIR/input" >/dev/null
t_put=$(seconds "$DFS" put -q "$DIR/input" /bench)
# The get writes into tmpfs when there is room, so it is compared with the
# raw read on equal terms (dd reads to /dev/null); writing the copy back to
# the same disk would measure that disk's write speed instead.
OUT_DIR="$DIR"
if [ -d /dev/shm ] && [ "$(df -Pk /dev/shm | awk 'NR==2 { print $4 }')" -gt $(((SIZE_MB + 64) * 1024)) ]; then
  OUT_DIR="$(mktemp -d /dev/shm/dfs-bench-XXXXXX)"
fi
drop_caches
t_get=$(seconds "$DFS" get -q /bench "$OUT_DIR/output")
cmp -s "$DIR/input" "$OUT_DIR/output" || { echo "bench: get returned different bytes" >&2; exit 1; }
[ "$OUT_DIR" = "$DIR" ] || rm -rf "$OUT_DIR"
GET_TO="$([ "$OUT_DIR" = "$DIR" ] && echo "the same disk" || echo "tmpfs")"

raw_w=$(rate "$t_raw_write") raw_r=$(rate "$t_raw_read") put=$(rate "$t_put") get=$(rate "$t_get")
printf 'dfs throughput, %d MiB, %d workers, chunk %s, page cache %s\n' "$SIZE_MB" "$WORKERS" "$CHUNK" "$CACHE"
printf '  %-28s %8s MB/s\n' "raw write (dd, fsync)" "$raw_w" "raw read (dd)" "$raw_r"
printf '  %-28s %8s MB/s  %5s%% of raw write\n' "dfs put" "$put" "$(pct "$put" "$raw_w")"
printf '  %-28s %8s MB/s  %5s%% of raw read\n' "dfs get (to $GET_TO)" "$get" "$(pct "$get" "$raw_r")"
