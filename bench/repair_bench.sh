#!/usr/bin/env bash
# Repair speed: R=3 on 4 workers holding SIZE_MB of files; kill -9 one worker
# and time from the kill to full replication, split into detection (the
# master declares it dead) and copy (every chunk on 3 live workers again, none
# recorded on the dead one). Prints the copy rate next to the raw fsync'd
# sequential write bandwidth of the same disk, measured in the same run
# (dd of 1 GiB with conv=fsync), since every copy is written and fsynced there.
#
#   bench/repair_bench.sh [--size-mb N] [--dead-after-ms N] [--copies-per-worker N]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SIZE_MB=2048 DEAD_MS=10000 COPIES=2
while [ $# -gt 0 ]; do
  case "$1" in
    --size-mb) SIZE_MB="$2"; shift 2 ;;
    --dead-after-ms) DEAD_MS="$2"; shift 2 ;;
    --copies-per-worker) COPIES="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
RUN="$(mktemp -d "${TMPDIR:-/tmp}/dfs-repair-bench-XXXXXX")"
cleanup() { "$ROOT/launch/down" --dir "$RUN/cluster" >/dev/null 2>&1 || true; rm -rf "$RUN"; }
trap cleanup EXIT
DFS="$ROOT/build/bin/dfs"
now_ms() { echo $(($(date +%s%N) / 1000000)); }

raw="$(dd if=/dev/zero of="$RUN/raw.bin" bs=4M count=256 conv=fsync 2>&1 |
  awk '/copied/ {for (i = 1; i <= NF; i++) if ($i == "copied,") s = $(i + 1); printf "%.0f", $1 / s / 1e6}')"
rm -f "$RUN/raw.bin"

PORT=$((20000 + RANDOM % 8000))
"$ROOT/launch/up" --dir "$RUN/cluster" --base-port "$PORT" --workers 4 \
  --master-flags "--dead-after-ms $DEAD_MS --repair-copies-per-worker $COPIES" >/dev/null 2>&1
export DFS_MASTERS="127.0.0.1:$PORT" DFS_CONFIG="$RUN/cluster/dfs.conf"
files=$(((SIZE_MB + 511) / 512))
head -c $((512 << 20)) /dev/urandom >"$RUN/data"
for i in $(seq 1 "$files"); do "$DFS" put -q "$RUN/data" "/f$i"; done

victim=w1
bytes=$(du -sb "$RUN/cluster/worker-1/chunks" | awk '{print $1}')
kill -9 "$(cat "$RUN/cluster/worker-1/pid")"
killed=$(now_ms)
until "$DFS" df | grep -q "^$victim .* dead "; do sleep 0.05; done
dead=$(now_ms)
repaired() {
  local i
  "$DFS" fsck / >/dev/null 2>&1 || return 1
  for i in $(seq 1 "$files"); do
    ! "$DFS" stat --json "/f$i" | grep -q "\"$victim\"" || return 1
  done
}
until repaired; do sleep 0.1; done
done_at=$(now_ms)
copy_ms=$((done_at - dead))
echo "repair of $victim ($((bytes >> 20)) MiB of chunks, R=3 on 4 workers, $COPIES copies per worker):"
echo "  detection $(awk -v m=$((dead - killed)) 'BEGIN {printf "%.2f", m / 1000}') s (dead timeout $((DEAD_MS / 1000)) s)," \
  "copy $(awk -v m=$copy_ms 'BEGIN {printf "%.2f", m / 1000}') s, total $(awk -v m=$((done_at - killed)) 'BEGIN {printf "%.2f", m / 1000}') s"
rate=$(awk -v b="$bytes" -v m="$copy_ms" 'BEGIN {printf "%.0f", b / 1e6 / (m / 1000)}')
echo "  copy rate $rate MB/s; raw fsync'd write of this disk $raw MB/s ($(awk -v r="$rate" -v w="$raw" 'BEGIN {printf "%.0f", 100 * r / w}')%)"
