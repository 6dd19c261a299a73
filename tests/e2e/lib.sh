# Helpers for process-level tests: real binaries started by launch/ scripts
# on free loopback ports, in a temporary run directory removed at exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export DFS_BUILD="${DFS_BUILD:-$ROOT/build}"
DFS="$DFS_BUILD/bin/dfs"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/dfs-e2e-XXXXXX")"
# Where dfs put keeps its resume manifests: inside the test's directory.
export XDG_STATE_HOME="$WORK/state"
RUNS=()
# True in a sanitizer's build tree (build-address-undefined, build-thread),
# where each process starts and runs several times slower: loops of CLI
# calls there run fewer times.
sanitized() { [ "$(basename "$DFS_BUILD")" != build ]; }
FAILURES=0
PASSES=0

# The daemons' warnings and errors, oldest first, the latest 40 of each run:
# a failed check's cause is often there, and the logs go with the run
# directory.
daemon_warnings() {
  local r f
  for r in "${RUNS[@]}"; do
    for f in "$r"/*/*.log; do
      [ -f "$f" ] || continue
      grep -E '\] \[(warning|error|critical)\] ' "$f" | sed "s|^|$(basename "$r")/$(basename "$(dirname "$f")") |" || true
    done | sort -k2,3 | tail -n 40
  done
}

cleanup() {
  local rc=$?  # a suite that stopped on an error has failed too
  if [ "$FAILURES" -gt 0 ] || [ "$rc" -ne 0 ]; then
    echo "-- the daemons' latest warnings and errors --" >&2
    daemon_warnings >&2
  fi
  for r in "${RUNS[@]}"; do "$ROOT/launch/down" --dir "$r" --timeout 5 >/dev/null 2>&1 || true; done
  # DFS_E2E_KEEP=1 keeps the run directories and logs for a look afterwards.
  if [ -n "${DFS_E2E_KEEP:-}" ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# Claims a base port whose block (base .. base+131: masters 1..5, the S3 gateway at
# base+90, workers 1..15 at base+100 on) is reserved for this test and has
# nothing listening. Tests run in parallel: checking that a port is free is
# not enough, since another test may check the same block before either
# binds. So blocks are aligned to 200 ports and each is claimed with flock on
# a shared lock file, held by this shell (and the processes it starts) until
# they exit; a crashed test's claim goes with it. The unit tests' in-process
# clusters claim theirs the same way (tests/cluster_fixture.h), in the same
# directory: one per machine, as the ports are.
PORT_LOCKS=/tmp/dfs-test-ports
# Sets CLAIMED_PORT; not run in a subshell, which would drop the lock.
claim_base_port() {
  local base p fd
  mkdir -p -m 1777 "$PORT_LOCKS"
  for _ in $(seq 1 200); do
    # Below the kernel's ephemeral range (32768+), so no outgoing connection holds one.
    base=$((10000 + 200 * ((RANDOM + $$) % 110)))
    exec {fd}>>"$PORT_LOCKS/$base.lock" || continue
    if ! flock -n "$fd"; then exec {fd}>&-; continue; fi
    local busy=0
    for p in $(seq "$base" $((base + 19))) $((base + 90)) $(seq $((base + 100)) $((base + 131))); do
      if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then busy=1; break; fi
    done
    if [ $busy -eq 0 ]; then CLAIMED_PORT="$base"; return; fi
    exec {fd}>&-
  done
  echo "no free ports" >&2
  return 1
}

# start_cluster NAME [launch/up options...]: sets RUN and exports DFS_MASTERS
# and DFS_CONFIG (the cluster's client config: the admin key and the keyring).
start_cluster() {
  local name="$1"; shift
  RUN="$WORK/$name"
  RUNS+=("$RUN")
  claim_base_port
  local port="$CLAIMED_PORT"
  "$ROOT/launch/up" --dir "$RUN" --base-port "$port" "$@" >"$WORK/$name.up.log" 2>&1 || {
    cat "$WORK/$name.up.log" >&2
    return 1
  }
  local masters
  masters="$(. "$RUN/cluster.env" && for i in $(seq 1 "$MASTERS"); do printf '127.0.0.1:%s,' $((port + 4 * (i - 1))); done)"
  export DFS_MASTERS="${masters%,}"
  export DFS_CONFIG="$RUN/dfs.conf"
}

pass() { PASSES=$((PASSES + 1)); echo "ok   $*"; }
fail() { FAILURES=$((FAILURES + 1)); echo "FAIL $*"; }
check() {  # check DESCRIPTION COMMAND...: passes if the command succeeds
  local what="$1"; shift
  local err
  if err="$("$@" 2>&1 >/dev/null)"; then pass "$what"; else fail "$what${err:+: $err}"; fi
}
# expect_error DESCRIPTION PATTERN COMMAND...: the command fails (exit 1, or
# 2 for a usage error) with one line on stderr matching PATTERN.
expect_error() {
  local what="$1" pattern="$2"; shift 2
  local err rc=0
  err="$("$@" 2>&1 >/dev/null)" || rc=$?
  if [ $rc -ge 1 ] && [ $rc -le 2 ] && grep -qE "$pattern" <<<"$err" && [ "$(wc -l <<<"$err")" -eq 1 ]; then
    pass "$what"
  else
    fail "$what (exit $rc, stderr: $err)"
  fi
}
pid_of() { cat "$RUN/$1/pid"; }
# The replica lists of a file's chunks, one line per chunk: "w1 w3 w2".
replica_lines() {
  "$DFS" stat --json "$1" | grep -o '"replicas":\[[^]]*\]' | sed 's/"replicas":\[//; s/\]//; s/[",]/ /g'
}
# Chunks on a worker's disk (WORKER is "w3"), read with dfs-chunk, which
# finds a chunk whether it has a file of its own or is packed in a volume.
chunk_ids_on() { "$DFS_BUILD/bin/dfs-chunk" list "$RUN/worker-${1#w}" | cut -d' ' -f1; }
# has_chunk WORKER ID
has_chunk() { "$DFS_BUILD/bin/dfs-chunk" locate "$RUN/worker-${1#w}" "$2" >/dev/null 2>&1; }
# chunk_image WORKER ID: the chunk's stored bytes (header, data, block CRCs) on stdout.
chunk_image() { "$DFS_BUILD/bin/dfs-chunk" image "$RUN/worker-${1#w}" "$2"; }
# flip_chunk_byte WORKER ID AT: adds one to byte AT of the chunk's stored image, in place.
flip_chunk_byte() {
  local path offset v
  read -r _ path offset _ <<<"$("$DFS_BUILD/bin/dfs-chunk" locate "$RUN/worker-${1#w}" "$2")"
  [ -n "$path" ] || return 1
  v="$(od -An -tu1 -j $((offset + $3)) -N1 "$path" | tr -d ' ')"
  # shellcheck disable=SC2059
  printf "\\$(printf '%03o' $(((v + 1) % 256)))" |
    dd of="$path" bs=1 seek=$((offset + $3)) conv=notrunc status=none
}

# Every chunk of $1 has $2 distinct replicas, each of them on that worker's disk.
replicas_on_disk() {
  local file="$1" want="$2" json ids line i=0 w id
  local -A listed=()  # each worker's chunk ids, listed once
  json="$("$DFS" stat --json "$file")"
  mapfile -t ids < <(grep -o '"id":"[0-9a-f]*"' <<<"$json" | cut -d'"' -f4)
  [ "${#ids[@]}" -gt 0 ] || return 1
  while read -r line; do
    id="${ids[$i]}"
    i=$((i + 1))
    [ "$(tr ' ' '\n' <<<"$line" | grep -c .)" -eq "$want" ] || { echo "chunk $id on [$line]"; return 1; }
    [ "$(tr ' ' '\n' <<<"$line" | grep . | sort -u | wc -l)" -eq "$want" ] || { echo "chunk $id repeats a worker"; return 1; }
    for w in $line; do
      [ -n "${listed[$w]+set}" ] || listed[$w]="$(chunk_ids_on "$w")" || return 1
      grep -qx "$id" <<<"${listed[$w]}" || { echo "chunk $id missing on $w"; return 1; }
    done
  done < <(replica_lines "$file")
  [ "$i" -eq "${#ids[@]}" ]
}
# eventually SECONDS COMMAND...: the command succeeds within SECONDS.
eventually() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}

finish() {
  echo "$PASSES passed, $FAILURES failed"
  [ "$FAILURES" -eq 0 ]
}
