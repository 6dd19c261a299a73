#!/usr/bin/env bash
# Metadata throughput of a local cluster through the client library:
# creates of empty files, mkdirs and stats at 1 and 32 concurrent clients
# (build/bin/meta_bench), on a fresh cluster brought up with launch/up.
# Given an etcd bench script (--etcd PATH, ../shared/peers/etcd_bench.sh style
# "etcd_put_seq_c1_leader_ops: N ops/s" lines), runs it in the same sitting and
# prints dfs's creates/s as a ratio of etcd's puts/s. Then runs the same on a
# cluster started with --insecure and prints creates/s with CURVE as a share
# of creates/s without.
#
#   bench/meta_bench.sh [--seconds S] [--clients "1,32"] [--etcd PATH]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECONDS_PER_PHASE=3 CLIENTS="1,32" ETCD=""
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) SECONDS_PER_PHASE="$2"; shift 2 ;;
    --clients) CLIENTS="$2"; shift 2 ;;
    --etcd) ETCD="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
RUN="$(mktemp -d "${TMPDIR:-/tmp}/dfs-meta-bench-XXXXXX")"
cleanup() { "$ROOT/launch/down" --dir "$RUN" >/dev/null 2>&1 || true; rm -rf "$RUN"; }
trap cleanup EXIT
PORT=$((20000 + RANDOM % 8000))
"$ROOT/launch/up" --dir "$RUN" --base-port "$PORT" --workers 3 >/dev/null
OUT="$(DFS_KEY="$RUN/keys/admin.key" DFS_KEYRING="$RUN/keys/keyring" \
  "$ROOT/build/bin/meta_bench" --masters "127.0.0.1:$PORT" --clients "$CLIENTS" --seconds "$SECONDS_PER_PHASE")"
echo "with CURVE:"
echo "$OUT"
"$ROOT/launch/down" --dir "$RUN" >/dev/null
PLAIN="$RUN-insecure"
PORT2=$((PORT + 200))
"$ROOT/launch/up" --dir "$PLAIN" --base-port "$PORT2" --workers 3 --insecure >/dev/null
PLAIN_OUT="$(DFS_INSECURE=1 "$ROOT/build/bin/meta_bench" --masters "127.0.0.1:$PORT2" --clients "$CLIENTS" \
  --seconds "$SECONDS_PER_PHASE")"
"$ROOT/launch/down" --dir "$PLAIN" >/dev/null
rm -rf "$PLAIN"
echo "with --insecure:"
echo "$PLAIN_OUT"
for c in ${CLIENTS//,/ }; do
  a="$(awk -v c="c=$c" '$2=="create" && $3==c {print $5}' <<<"$OUT")"
  b="$(awk -v c="c=$c" '$2=="create" && $3==c {print $5}' <<<"$PLAIN_OUT")"
  [ -n "$a" ] && [ -n "$b" ] && awk -v a="$a" -v b="$b" -v c="$c" \
    'BEGIN {printf "creates/s with CURVE as a share of --insecure, c=%s: %.0f%%\n", c, 100 * a / b}'
done
if [ -n "$ETCD" ]; then
  ETCD_OUT="$(bash "$ETCD" 2>/dev/null)"
  echo "$ETCD_OUT"
  for c in ${CLIENTS//,/ }; do
    dfs_rate="$(awk -v c="c=$c" '$2=="create" && $3==c {print $5}' <<<"$OUT")"
    # etcd_bench.sh names them etcd_put_seq_c1_leader_ops and etcd_put_conc<N>_ops.
    key="etcd_put_conc${c}_ops"
    [ "$c" = 1 ] && key="etcd_put_seq_c1_leader_ops"
    etcd_rate="$(awk -v k="$key:" '$1 == k {print $2}' <<<"$ETCD_OUT" | head -1)"
    if [ -n "$dfs_rate" ] && [ -n "$etcd_rate" ]; then
      awk -v d="$dfs_rate" -v e="$etcd_rate" -v c="$c" 'BEGIN {printf "ratio creates/etcd puts c=%s: %.2f\n", c, d / e}'
    fi
  done
fi
