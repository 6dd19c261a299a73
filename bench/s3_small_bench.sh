#!/usr/bin/env bash
# Small objects through the S3 gateway next to the client library, on a
# fresh local cluster (launch/up, CURVE on): 4 KiB PUTs and GETs at 16
# concurrent clients (build/bin/s3_small_bench), printed as ops/s.
#
#   bench/s3_small_bench.sh [--clients 16] [--seconds 5] [--size 4096]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLIENTS=16 SECONDS_PER_PHASE=5 SIZE=4096
while [ $# -gt 0 ]; do
  case "$1" in
    --clients) CLIENTS="$2"; shift 2 ;;
    --seconds) SECONDS_PER_PHASE="$2"; shift 2 ;;
    --size) SIZE="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
RUN="$(mktemp -d "${TMPDIR:-/tmp}/dfs-s3-bench-XXXXXX")"
cleanup() { "$ROOT/launch/down" --dir "$RUN" >/dev/null 2>&1 || true; rm -rf "$RUN"; }
trap cleanup EXIT
PORT=$((20000 + RANDOM % 8000))
"$ROOT/launch/up" --dir "$RUN" --base-port "$PORT" --workers 3 >/dev/null
cmake --build "$ROOT/build" --target s3_small_bench >/dev/null
read -r AK SK _ < <(awk '!/^#/ && NF == 3' "$RUN/s3/credentials")
DFS_KEY="$RUN/keys/admin.key" DFS_KEYRING="$RUN/keys/keyring" "$ROOT/build/bin/s3_small_bench" \
  --endpoint "127.0.0.1:$((PORT + 90))" --access-key "$AK" --secret "$SK" \
  --masters "127.0.0.1:$PORT" --clients "$CLIENTS" --seconds "$SECONDS_PER_PHASE" --size "$SIZE"
