#!/usr/bin/env bash
# Heartbeat cost: one master (the leader) and one real worker, plus N
# simulated workers heartbeating it every second from one process
# (build/bin/heartbeat_bench). Prints the leader's CPU as a share of one core
# and its memory after the run.
#
#   bench/heartbeat_bench.sh [--workers N] [--seconds S]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORKERS=10000 SECONDS_MEASURED=20
while [ $# -gt 0 ]; do
  case "$1" in
    --workers) WORKERS="$2"; shift 2 ;;
    --seconds) SECONDS_MEASURED="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
RUN="$(mktemp -d "${TMPDIR:-/tmp}/dfs-hb-bench-XXXXXX")"
cleanup() { "$ROOT/launch/down" --dir "$RUN" >/dev/null 2>&1 || true; rm -rf "$RUN"; }
trap cleanup EXIT
PORT=$((20000 + RANDOM % 8000))
# --insecure: the simulated workers have no keys of their own (with CURVE,
# each would need one in the keyring to speak for itself).
"$ROOT/launch/up" --dir "$RUN" --base-port "$PORT" --masters 1 --workers 1 --insecure >/dev/null 2>&1
pid="$(cat "$RUN/master-1/pid")"
"$ROOT/build/bin/heartbeat_bench" --master "127.0.0.1:$PORT" --master-pid "$pid" \
  --workers "$WORKERS" --seconds "$SECONDS_MEASURED"
echo "leader memory after         $(awk '/VmRSS/ {printf "%.0f MiB", $2 / 1024}' "/proc/$pid/status")"
