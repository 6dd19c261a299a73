#!/usr/bin/env bash
# Process-level test of keys changed through the Raft log (dfs admin keys),
# with no keyring file edited anywhere: a user added while the cluster runs
# can use the masters and the workers at once; revoked, they are refused,
# and connections they hold open (to a master's api, a worker's data socket
# and a master's jobs PUB) are cut within seconds while everyone else goes
# on. The changes survive the loss of the leader and reach a restarted
# worker. Keys listed only in the file can be revoked too; the last admin
# key and a member master's key cannot.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_cluster keys --masters 3 --workers 3 --chunk-size 1M
KEYS="$RUN/keys"
PROBE="$DFS_BUILD/bin/security_probe"
pub_of() { sed -n 's/^public-key = //p' "$1"; }
for u in carol ops dave; do "$DFS" keygen "$WORK/$u" >/dev/null; done
as() { local u="$1"; shift; "$DFS" --key "$WORK/$u.key" "$@"; }
head -c 2500000 /dev/urandom >"$WORK/data"
leader_api() { "$DFS" admin members | awk '$3 == "leader" {sub("^tcp://", "", $2); print $2}'; }
leader_id() { "$DFS" admin members | awk '$3 == "leader" {print $1}'; }
# The jobs PUB of the master whose api is at $1 (api port + 3).
jobs_of() { echo "tcp://${1%:*}:$((${1##*:} + 3))"; }
master_key_at() { awk -v ep="endpoint=$1" '$1 == "master" && $NF == ep {print $3}' "$KEYS/keyring"; }

expect_error "a key the keyring does not list is refused" "handshake|refused|not in the keyring" \
  as carol --timeout-ms 3000 ls /
check "admin adds carol through the log; every worker takes her in" \
  "$DFS" admin keys add client carol "$WORK/carol.pub" --groups staff
check "carol lists the root at once" as carol ls /
check "admin gives her a directory" bash -c "'$DFS' mkdir /carol && '$DFS' chown carol /carol"
check "carol writes a file through the workers" as carol put -q "$WORK/data" /carol/data
check "and reads it back" bash -c "'$DFS' --key '$WORK/carol.key' cat /carol/data | cmp -s - '$WORK/data'"
check "keys list shows her, from the log" bash -c "
  '$DFS' admin keys list | awk -v k='$(pub_of "$WORK/carol.pub")' '
    \$1 == \"log\" && \$2 == \"client\" && \$3 == \"carol\" && \$4 == k && \$5 == \"groups=staff\" {f = 1}
    END {exit !f}'"
check "and every worker at the log's version" bash -c "
  out=\$('$DFS' admin keys list --json)
  v=\$(grep -o '\"version\":[0-9]*' <<<\"\$out\" | head -1 | cut -d: -f2)
  [ \$(grep -o '\"state\":\"live\",\"version\":'\$v <<<\"\$out\" | wc -l) -eq 3 ]"
expect_error "a key cannot be added twice" "in the keyring already, as client carol" \
  "$DFS" admin keys add client carol2 "$WORK/carol.pub"
expect_error "a client may not change the keyring" "may not send KeyChangeRequest" \
  as carol admin keys add client dave "$WORK/dave.pub"
expect_error "nor list it" "may not send KeysRequest" as carol admin keys list
expect_error "the last admin key cannot be revoked" "last admin key" \
  "$DFS" admin keys revoke "$KEYS/admin.pub"
# About one Z85 key in 85 begins with '-': it is still a key, not an option.
expect_error "a key that begins with '-' is read as a key" "is not in the keyring" \
  "$DFS" admin keys revoke "-$(printf '0%.0s' {1..39})"
api="$(leader_api)"
expect_error "nor a member master's" "remove it from the group first" \
  "$DFS" admin keys revoke "$(master_key_at "$api")"
check "ops, an admin key added through the log, may change the keyring" bash -c "
  '$DFS' admin keys add admin ops '$WORK/ops.pub' &&
  '$DFS' --key '$WORK/ops.key' admin keys add client dave '$WORK/dave.pub'"

# ---- revocation cuts open connections ----
# Held open with the key about to be revoked: carol at the leader's api, at
# a follower's and at a worker's data socket (each has carried a message),
# ops subscribed to the leader's jobs.
w1_ep="$(. "$RUN/cluster.env" && echo "tcp://127.0.0.1:$((BASE_PORT + 102))")"
"$PROBE" --type dealer --connect "tcp://$api" --server-key "$(master_key_at "$api")" \
  --key "$WORK/carol.key" --send stat --watch-ms 20000 >"$WORK/carol-api.out" 2>&1 &
api_probe=$!
follower="$("$DFS" admin members | awk '$3 == "voter" {sub("^tcp://", "", $2); print $2; exit}')"
"$PROBE" --type dealer --connect "tcp://$follower" --server-key "$(master_key_at "$follower")" \
  --key "$WORK/carol.key" --send stat --watch-ms 20000 >"$WORK/carol-follower.out" 2>&1 &
follower_probe=$!
"$PROBE" --type dealer --connect "$w1_ep" --server-key "$(pub_of "$KEYS/w1.pub")" \
  --key "$WORK/carol.key" --send read --watch-ms 20000 >"$WORK/carol-data.out" 2>&1 &
data_probe=$!
"$PROBE" --type sub --connect "$(jobs_of "$api")" --server-key "$(master_key_at "$api")" \
  --key "$WORK/ops.key" --watch-ms 20000 >"$WORK/ops-jobs.out" 2>&1 &
jobs_probe=$!
held() { grep -q '^reply: ' "$WORK/carol-api.out" && grep -q '^reply: ' "$WORK/carol-data.out" &&
  grep -q '^reply: StatReply' "$WORK/carol-follower.out" && grep -q '^handshake: ok' "$WORK/ops-jobs.out"; }
check "the four connections are open and have been used" eventually 10 held
check "admin revokes carol and ops" bash -c "
  '$DFS' admin keys revoke '$WORK/carol.pub' && '$DFS' admin keys revoke '$WORK/ops.pub'"
wait "$api_probe" "$follower_probe" "$data_probe" "$jobs_probe" || true
for f in carol-api carol-follower carol-data ops-jobs; do
  check "$f: the open connection is cut and the redial refused" bash -c "
    grep -q '^connection: cut' '$WORK/$f.out' && tail -1 '$WORK/$f.out' | grep -q '^redial: refused' ||
      { cat '$WORK/$f.out' >&2; exit 1; }"
done
expect_error "carol is refused from now on" "handshake|refused|not in the keyring" \
  as carol --timeout-ms 3000 ls /
expect_error "so is ops" "handshake|refused|not in the keyring" \
  as ops --timeout-ms 3000 admin keys list
check "dave, added by ops before, still works" as dave ls /
check "and admin reads carol's file" bash -c "'$DFS' cat /carol/data | cmp -s - '$WORK/data'"
timeout 30 "$DFS_BUILD/bin/dfs-monitor" --lines >"$WORK/monitor.out" 2>&1 &
monitor=$!
check "monitors on the rebound jobs socket hear events again" eventually 20 bash -c "
  '$DFS' put -q -f '$WORK/data' /after-revoke && grep -q '^event.file.committed /after-revoke' '$WORK/monitor.out'"
kill "$monitor" 2>/dev/null || true
check "keys list no longer shows carol or ops" bash -c "
  out=\$('$DFS' admin keys list); ! grep -q 'carol' <<<\"\$out\" && ! grep -q ' ops ' <<<\"\$out\""

# ---- a file key revoked through the log ----
check "a key only the file lists can be revoked" "$DFS" admin keys revoke "$KEYS/w3.pub"
check "keys list shows it revoked" bash -c "'$DFS' admin keys list | grep -E '^file +worker +w3 .*\\(revoked\\)'"
check "the revoked worker is declared dead" eventually 30 bash -c "
  '$DFS' admin status | grep -E '^ +w3 +dead'"
check "admitted again through the log, it comes back" bash -c "
  '$DFS' admin keys add worker w3 '$KEYS/w3.pub' --wait 0 && '$DFS' admin keys list | grep -E '^file +worker +w3 ' |
    grep -vq revoked"
check "and is live again" eventually 30 bash -c "'$DFS' admin status | grep -E '^ +w3 +live'"

# ---- the leader goes; the changes stay ----
old="$(leader_id)"
kill -9 "$(pid_of "master-$old")"
check "a new leader is elected" eventually 20 bash -c "
  id=\$('$DFS' --timeout-ms 2000 admin members 2>/dev/null | awk '\$3 == \"leader\" {print \$1}'); [ -n \"\$id\" ] && [ \"\$id\" != '$old' ]"
expect_error "carol stays revoked under it" "handshake|refused|not in the keyring" \
  as carol --timeout-ms 3000 ls /
check "dave stays admitted" as dave ls /
check "carol is admitted again through the new leader" "$DFS" admin keys add client carol "$WORK/carol.pub"
check "and reads her file from the workers" bash -c "
  '$DFS' --key '$WORK/carol.key' cat /carol/data | cmp -s - '$WORK/data'"

# ---- a restarted worker hears the keyring without waiting 30 s ----
w1_pid="$(pid_of worker-1)"
kill -9 "$w1_pid"
check "worker 1 is killed" eventually 10 bash -c "! kill -0 $w1_pid 2>/dev/null"
check "launch/up starts it again (and the old leader)" "$ROOT/launch/up" --dir "$RUN"
check "and takes the log's keyring in within seconds" eventually 10 bash -c "
  out=\$('$DFS' admin keys list --json)
  v=\$(grep -o '\"version\":[0-9]*' <<<\"\$out\" | head -1 | cut -d: -f2)
  grep -q '\"id\":\"w1\",\"state\":\"live\",\"version\":'\$v <<<\"\$out\""

finish
