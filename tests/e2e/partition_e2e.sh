#!/usr/bin/env bash
# Network partitions between real masters, each in a network namespace this
# test creates, joined by veth pairs to bridges in a hub namespace (where the
# test's client runs). Every address (10.211.0.0/24) exists only inside these
# namespaces, and all of it is torn down at exit. Links are cut with
# `ip link set down`; a split moves one side's links to a second bridge.
#   - the leader cut off: its side commits nothing and its clients get errors,
#     the rest elect a leader and go on;
#   - a follower cut off: writes go on; past its limit it refuses stale reads
#     of files; it catches up once healed;
#   - five masters split two against three: only the three commit;
#   - after each heal every master converges on the same applied state.
# Needs root (network namespaces); exits 77 (skipped) without.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null; then
  echo "skipped: network namespaces need root and iproute2"
  exit 77
fi
N=5
# A master cut off this long refuses stale reads of files: longer than any
# check below takes to look at a cut-off master's state (under TSan too),
# short enough to wait out once.
STALE_LIMIT_MS=20000
TAG="dfs$$"
HUB="$TAG-hub"
PIDS=()
teardown() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for i in $(seq 1 $N); do ip netns del "$TAG-m$i" 2>/dev/null || true; done
  ip netns del "$HUB" 2>/dev/null || true
  cleanup
}
trap teardown EXIT

ip netns add "$HUB"
ip -n "$HUB" link set lo up
for br in br0 br1; do
  ip -n "$HUB" link add "$br" type bridge
  ip -n "$HUB" link set "$br" up
done
ip -n "$HUB" addr add 10.211.0.100/24 dev br0
addr() { echo "10.211.0.$1:7400"; }
peers=""
for i in $(seq 1 $N); do peers+="${peers:+,}$i=$(addr "$i")"; done
MASTERS=""
for i in $(seq 1 $N); do MASTERS+="${MASTERS:+,}$(addr "$i")"; done
# Keys as launch/up makes them: one pair per master, one for the client.
mkdir -p "$WORK/keys"
for i in $(seq 1 $N); do
  "$DFS" keygen "$WORK/keys/m$i" >/dev/null
  echo "master m$i $(sed -n 's/^public-key = //p' "$WORK/keys/m$i.pub") endpoint=$(addr "$i")" >>"$WORK/keys/keyring"
done
"$DFS" keygen "$WORK/keys/admin" >/dev/null
echo "admin admin $(sed -n 's/^public-key = //p' "$WORK/keys/admin.pub")" >>"$WORK/keys/keyring"
export DFS_KEY="$WORK/keys/admin.key" DFS_KEYRING="$WORK/keys/keyring"
unset DFS_CONFIG
for i in $(seq 1 $N); do
  ns="$TAG-m$i"
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip -n "$HUB" link add "h$i" type veth peer name eth0 netns "$ns"
  ip -n "$HUB" link set "h$i" master br0 up
  ip -n "$ns" addr add "10.211.0.$i/24" dev eth0
  ip -n "$ns" link set eth0 up
  mkdir -p "$WORK/m$i"
  ip netns exec "$ns" setsid "$DFS_BUILD/bin/dfs-master" --id "m$i" --node-id "$i" \
    --listen "$(addr "$i")" --peers "$peers" --dir "$WORK/m$i" \
    --stale-read-limit-ms "$STALE_LIMIT_MS" \
    --key "$WORK/keys/m$i.key" --keyring "$WORK/keys/keyring" \
    --log-file "$WORK/m$i/dfs-master.log" >>"$WORK/m$i/stderr.log" 2>&1 </dev/null &
  PIDS+=($!)
  disown  # killed at exit without the shell reporting it
done

hub() { ip netns exec "$HUB" "$DFS" --masters "$MASTERS" "$@"; }
# A client inside master N's namespace, which reaches only what N reaches.
beside() { local n="$1"; shift; ip netns exec "$TAG-m$n" "$DFS" --masters "$(addr "$n")" "$@"; }
# Master N's own view, answered by it alone.
view_of() { beside "$1" --stale --timeout-ms 1000 df --json 2>/dev/null; }
field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^\",}]*\).*/\1/p"; }
leader() {
  local i
  for i in $(seq 1 $N); do
    [ "$(view_of "$i" | field role)" = leader ] && { echo "$i"; return; }
  done
}
wait_for() {  # wait_for SECONDS COMMAND...
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do [ $SECONDS -lt "$deadline" ] || return 1; sleep 0.2; done
}
# Every master has applied the same index, and sees the same leader.
converged() {
  local first="" i a
  for i in $(seq 1 $N); do
    a="$(view_of "$i" | field applied_index)"
    [ -n "$a" ] || return 1
    [ -z "$first" ] && first="$a"
    [ "$a" = "$first" ] || return 1
  done
  [ -n "$(leader)" ]
}
# Directory /$2 is (yes) or is not (no) in master $1's own state; a
# master that will not say (out of touch past its limit) is neither.
has() {
  local out
  if out="$(beside "$1" --stale --timeout-ms 1000 stat "/$2" 2>&1)"; then
    [ "$3" = yes ]
  else
    [ "$3" = no ] && grep -q "does not exist" <<<"$out"
  fi
}
shows_view() { view_of "$1" | grep -q '"role"'; }
# Master $1 refuses stale reads of files, its state not known current for too long.
refuses_stale() {
  local out
  ! out="$(beside "$1" --stale --timeout-ms 1000 stat /before 2>&1)" && grep -q "limit for stale reads" <<<"$out"
}
everywhere() { local i; for i in $(seq 1 $N); do has "$i" "$1" "$2" || return 1; done; }

has_leader() { [ -n "$(leader)" ]; }
not_leader() { [ "$(view_of "$1" | field role)" != leader ]; }

check "five masters in their own network namespaces elect a leader" wait_for 20 has_leader
check "a write through the hub commits" wait_for 10 hub --timeout-ms 2000 mkdir /before

# ---- the leader cut off ----
l="$(leader)"
ip -n "$HUB" link set "h$l" down
expect_error "the cut-off leader's own client gets an error, not success" "no master is leading|unreachable|not the leader|timed out|timeout" \
  beside "$l" --timeout-ms 1500 mkdir /minority-1
check "the other four elect a leader and commit" wait_for 15 hub --timeout-ms 2000 mkdir /majority-1
check "the cut-off side applied nothing of its refused write" has "$l" minority-1 no
ip -n "$HUB" link set "h$l" up
check "healed, every master converges on the same state" wait_for 20 converged
check "with the majority's write everywhere" everywhere majority-1 yes
check "and the refused write nowhere" everywhere minority-1 no

# ---- a follower cut off ----
l="$(leader)"
f=$(( l % N + 1 ))
ip -n "$HUB" link set "h$f" down
check "writes go on while a follower is cut off" hub --timeout-ms 2000 mkdir /majority-2
check "the cut-off follower does not have them" has "$f" majority-2 no
check "past its limit without a leader, it refuses stale reads of files" wait_for 45 refuses_stale "$f"
check "but still shows its own view" shows_view "$f"
ip -n "$HUB" link set "h$f" up
# Cut this long, the leader's TCP connection to it has backed off its
# retransmissions to many seconds; the links' heartbeats redial instead.
check "healed, the follower catches up within seconds and serves stale reads again" wait_for 10 has "$f" majority-2 yes
check "and the group converges" wait_for 20 converged

# ---- two against three ----
l="$(leader)"
# The leader and one other on the small side: the three must depose it.
o=$(( l % N + 1 ))
small=("$l" "$o")
for i in "${small[@]}"; do ip -n "$HUB" link set "h$i" master br1; done
expect_error "the two-master side commits nothing" "no master is leading|unreachable|not the leader|timed out|timeout" \
  beside "$l" --timeout-ms 1500 mkdir /minority-3
check "the three-master side elects a leader and commits" wait_for 15 hub --timeout-ms 2000 mkdir /majority-3
check "the old leader, without a majority, steps down" wait_for 5 not_leader "$l"
for i in "${small[@]}"; do ip -n "$HUB" link set "h$i" master br0; done
check "healed, all five converge" wait_for 20 converged
check "the three's write is everywhere" everywhere majority-3 yes
check "the two's write nowhere" everywhere minority-3 no

finish
