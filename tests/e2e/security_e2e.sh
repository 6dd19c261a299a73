#!/usr/bin/env bash
# Process-level test of the cluster's security: every bound socket of every
# process (master api, peer, events, jobs; worker data, pipeline) refuses a
# peer with no keys, with a key not in the keyring, and with a key revoked
# from it, each checked with a real client of that socket's type; a key
# allowed in may send only what its role may (a client cannot publish a
# heartbeat, feed the pipeline or speak Raft; a worker cannot speak for
# another worker; only admin may drain); processes refuse to mix --insecure
# with CURVE; the cluster serves throughout.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PROBE="$DFS_BUILD/bin/security_probe"
start_cluster sec --masters 3 --workers 3 --chunk-size 1M
KEYS="$RUN/keys"
base="$(. "$RUN/cluster.env" && echo "$BASE_PORT")"
key_of() { sed -n 's/^public-key = //p' "$KEYS/$1.pub"; }

head -c 3000000 /dev/urandom >"$WORK/before"
check "a put works with the cluster's keys (made by launch/up)" "$DFS" put "$WORK/before" /before

# ---- keys ----
check "dfs keygen writes a secret key readable by its owner only" \
  bash -c "'$DFS' keygen '$WORK/eve' >/dev/null && [ \"\$(stat -c %a '$WORK/eve.key')\" = 600 ]"
expect_error "dfs keygen will not overwrite a key" "exists" "$DFS" keygen "$WORK/eve"
cp "$KEYS/admin.key" "$WORK/loose.key"
chmod 644 "$WORK/loose.key"
expect_error "a secret key open to others is refused" "open to others" \
  "$DFS" --key "$WORK/loose.key" df

# ---- every bound socket refuses no key and an unknown key ----
# type endpoint owner, for each socket of each process
sockets=()
for i in 1 2 3; do
  p=$((base + 4 * (i - 1)))
  sockets+=("dealer tcp://127.0.0.1:$p m$i api" "dealer tcp://127.0.0.1:$((p + 1)) m$i peer"
    "pub tcp://127.0.0.1:$((p + 2)) m$i events" "sub tcp://127.0.0.1:$((p + 3)) m$i jobs")
  d=$((base + 100 + 2 * i))
  sockets+=("dealer tcp://127.0.0.1:$d w$i data" "push tcp://127.0.0.1:$((d + 1)) w$i pipeline")
done
refused() {  # refused PROBE-ARGS...: the probe's handshake is refused
  local out
  out="$("$PROBE" --wait-ms 3000 "$@" 2>&1)" && return 1
  grep -q "^handshake: refused" <<<"$out"
}
for s in "${sockets[@]}"; do
  read -r type ep owner name <<<"$s"
  check "$owner $name refuses a $type with no keys" refused --type "$type" --connect "$ep"
  check "$owner $name refuses a $type with an unknown key" \
    refused --type "$type" --connect "$ep" --server-key "$(key_of "$owner")" --new-key
done

# ---- a key allowed in may send only what its role may ----
echo "client eve $(sed -n 's/^public-key = //p' "$WORK/eve.pub")" >>"$KEYS/keyring"
admitted() { "$PROBE" --wait-ms 2000 "$@" >/dev/null 2>&1; }
check "a key added to the keyring is let in within seconds" eventually 10 \
  admitted --type dealer --connect "tcp://127.0.0.1:$base" --server-key "$(key_of m1)" --key "$WORK/eve.key"
ev="tcp://127.0.0.1:$((base + 2))"
check "a client key may not publish heartbeats" \
  refused --type pub --connect "$ev" --server-key "$(key_of m1)" --key "$WORK/eve.key" --send heartbeat:w99
check "a client key may not feed a worker's pipeline" \
  refused --type push --connect "tcp://127.0.0.1:$((base + 103))" --server-key "$(key_of w1)" \
  --key "$WORK/eve.key" --send replica-frame
check "a client key may not speak Raft" \
  refused --type dealer --connect "tcp://127.0.0.1:$((base + 1))" --server-key "$(key_of m1)" \
  --key "$WORK/eve.key" --send raft
check "a worker key may not speak Raft" \
  refused --type dealer --connect "tcp://127.0.0.1:$((base + 1))" --server-key "$(key_of m1)" \
  --key "$KEYS/w1.key" --send raft
drain_reply() {
  "$PROBE" --type dealer --connect "tcp://127.0.0.1:$base" --server-key "$(key_of m1)" \
    --key "$WORK/eve.key" --send drain | grep -q "^reply: ErrorReply permission denied"
}
check "a client key may not decommission a worker (permission denied)" drain_reply
# w1's key is let in to the events socket, but may speak only for w1.
for i in 1 2 3; do
  p=$((base + 4 * (i - 1) + 2))
  "$PROBE" --type pub --connect "tcp://127.0.0.1:$p" --server-key "$(key_of "m$i")" \
    --key "$KEYS/w1.key" --send heartbeat:w99 >/dev/null 2>&1 || true
done
check "a worker key's heartbeat for another worker is refused and logged" eventually 10 \
  bash -c "grep -q 'may not speak for w99' '$RUN'/master-*/dfs-master.log"
check "the made-up worker never appears in df" bash -c "! '$DFS' df --json | grep -q w99"
check "the Raft group did not take a forged vote's term" \
  bash -c "[ \$('$DFS' df --json | grep -o '\"term\":[0-9]*' | head -1 | cut -d: -f2) -lt 1000 ]"

# ---- a revoked key is refused on its open connection and its next one ----
"$PROBE" --type dealer --connect "tcp://127.0.0.1:$base" --server-key "$(key_of m1)" \
  --key "$WORK/eve.key" --send stat --watch-ms 20000 >"$WORK/held.out" 2>&1 &
held=$!
eventually 10 grep -qs "^reply: StatReply" "$WORK/held.out" || true
grep -v "^client eve " "$KEYS/keyring" >"$KEYS/keyring.new"
mv "$KEYS/keyring.new" "$KEYS/keyring"  # whole, never half-written
wait "$held" || true
check "a connection open when its key is revoked is answered, then cut, its redial refused" \
  bash -c "grep -q '^reply: StatReply' '$WORK/held.out' && grep -q '^connection: cut' '$WORK/held.out' &&
    tail -1 '$WORK/held.out' | grep -q '^redial: refused' || { cat '$WORK/held.out' >&2; exit 1; }"
check "a key removed from the keyring is refused on its next connection" eventually 10 \
  refused --type dealer --connect "tcp://127.0.0.1:$base" --server-key "$(key_of m1)" --key "$WORK/eve.key"
# Each process rereads the file on its own one-second clock.
for s in "${sockets[@]}"; do
  read -r type ep owner name <<<"$s"
  check "$owner $name refuses the revoked key" eventually 5 \
    refused --type "$type" --connect "$ep" --server-key "$(key_of "$owner")" --key "$WORK/eve.key"
done
expect_error "dfs with a revoked key says so" "refused this process's key" \
  "$DFS" --key "$WORK/eve.key" --timeout-ms 3000 ls /

# ---- the cluster kept serving ----
check "files written before read back identical" bash -c "'$DFS' cat /before | cmp - '$WORK/before'"
head -c 2000000 /dev/urandom >"$WORK/after"
check "a put after all this works" "$DFS" put "$WORK/after" /after
check "and reads back identical" bash -c "'$DFS' cat /after | cmp - '$WORK/after'"

# ---- modes do not mix ----
expect_error "dfs --insecure against a CURVE cluster fails clearly" "other security mode" \
  "$DFS" --insecure --timeout-ms 3000 ls /
mkdir -p "$WORK/w9"
check "an --insecure worker refuses to join a CURVE cluster, saying why" bash -c "
  ! env -u DFS_CONFIG timeout 20 '$DFS_BUILD/bin/dfs-worker' --id w9 --listen 127.0.0.1:$((base + 118)) \
    --masters '$DFS_MASTERS' --dir '$WORK/w9' --insecure 2>'$WORK/w9.err' &&
  grep -q 'other security mode' '$WORK/w9.err' || { cat '$WORK/w9.err'; exit 1; }"
check "a worker without keys is told how to start" bash -c "
  out=\$(env -u DFS_CONFIG '$DFS_BUILD/bin/dfs-worker' --id w9 --listen 127.0.0.1:$((base + 118)) \
    --masters '$DFS_MASTERS' --dir '$WORK/w9' 2>&1) && exit 1
  grep -q -- '--key and --keyring' <<<\"\$out\""

start_cluster plain --masters 1 --workers 1 --insecure
check "an --insecure cluster serves a put" "$DFS" put "$WORK/after" /after
check "and a get" bash -c "'$DFS' cat /after | cmp - '$WORK/after'"

finish
