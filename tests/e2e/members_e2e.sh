#!/usr/bin/env bash
# Process-level test of membership changes under load: a fourth master is
# added to a running group of three (it joins as a learner, is promoted once
# caught up), then the leader is removed and the leadership handed to the
# newcomer, while a client keeps writing. No acknowledged write is lost and
# none fails.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_cluster members --masters 3 --workers 3 --chunk-size 1M
base="$(cut -d, -f1 <<<"$DFS_MASTERS" | cut -d: -f2)"
m4="127.0.0.1:$((base + 12))"
peers="1=$(cut -d, -f1 <<<"$DFS_MASTERS"),2=$(cut -d, -f2 <<<"$DFS_MASTERS"),3=$(cut -d, -f3 <<<"$DFS_MASTERS"),4=$m4"
# The newcomer's key goes into the keyring first; running processes reread it.
"$DFS" keygen "$RUN/keys/m4" >/dev/null
echo "master m4 $(sed -n 's/^public-key = //p' "$RUN/keys/m4.pub") endpoint=$m4" >>"$RUN/keys/keyring"
export DFS_MASTERS="$DFS_MASTERS,$m4"
members() { "$DFS" --timeout-ms 2000 admin members 2>/dev/null; }
leader_id() { members | awk '$3 == "leader" {print $1}'; }
role_of() { members | awk -v id="$1" '$1 == id {print $3}'; }
wait_for() {  # wait_for SECONDS COMMAND...: polls until the command succeeds
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do [ $SECONDS -lt $deadline ] || return 1; sleep 0.1; done
}

head -c 300000 /dev/urandom >"$WORK/small"
"$DFS" mkdir /load
(
  for i in $(seq 1 2000); do
    if [ $((i % 2)) -eq 0 ]; then
      "$DFS" put -q "$WORK/small" "/load/f$i" 2>>"$WORK/writer.err" && echo "put $i" || echo "FAIL put $i"
    else
      "$DFS" mkdir "/load/d$i" 2>>"$WORK/writer.err" && echo "mkdir $i" || echo "FAIL mkdir $i"
    fi
    [ -f "$WORK/stop" ] && break
  done
) >"$WORK/acked" &
writer=$!

# ---- add a fourth master ----
mkdir -p "$RUN/master-4"
env -u DFS_CONFIG setsid "$DFS_BUILD/bin/dfs-master" --id m4 --node-id 4 --join --listen "$m4" --peers "$peers" \
  --dir "$RUN/master-4" --key "$RUN/keys/m4.key" --keyring "$RUN/keys/keyring" \
  --ticket-key "$RUN/keys/ticket.key" \
  --log-file "$RUN/master-4/dfs-master.log" >>"$RUN/master-4/stderr.log" 2>&1 </dev/null &
echo $! >"$RUN/master-4/pid"
check "dfs admin members add names the new master 4" bash -c "'$DFS' admin members add '$m4' | grep -q 'master 4 '"
check "master 4 is promoted to voter once caught up" wait_for 20 bash -c "[ \"\$('$DFS' --timeout-ms 2000 admin members 2>/dev/null | awk '\$1 == 4 {print \$3}')\" = voter ]"
check "a second add of it is refused" bash -c "! '$DFS' admin members add '$m4' --id 4 2>/dev/null"
live_at_m4() { [ "$("$DFS" --stale --masters "$m4" --timeout-ms 1000 df --json 2>/dev/null | grep -o '"state":"live"' | wc -l)" -eq 3 ]; }
check "the workers learn of master 4 and heartbeat it" wait_for 10 live_at_m4

# ---- remove the leader ----
old="$(leader_id)"
check "dfs admin members remove the leader (master $old)" "$DFS" admin members remove "$old"
check "the group goes on without it, under a new leader" wait_for 20 bash -c "
  out=\$('$DFS' --timeout-ms 2000 admin members 2>/dev/null) || exit 1
  ! awk '{print \$1}' <<<\"\$out\" | grep -qx '$old' && awk '\$3 == \"leader\"' <<<\"\$out\" | grep -q ."
check "three voters remain" bash -c "[ \$('$DFS' admin members | awk '\$3 == \"voter\" || \$3 == \"leader\"' | wc -l) -eq 3 ]"

# ---- hand the leadership to the newcomer ----
check "dfs admin members transfer 4" "$DFS" admin members transfer 4
check "master 4 leads" wait_for 10 bash -c "[ \"\$('$DFS' --timeout-ms 2000 admin members 2>/dev/null | awk '\$3 == \"leader\" {print \$1}')\" = 4 ]"
kill -9 "$(pid_of "master-$old")"
for _ in $(seq 1 100); do [ "$(grep -c '' "$WORK/acked")" -ge 60 ] && break; sleep 0.1; done
touch "$WORK/stop"
wait "$writer" || true

check "no write failed while the membership changed" bash -c "! grep -q '^FAIL' '$WORK/acked' || { grep '^FAIL' '$WORK/acked' | head -3 >&2; tail -3 '$WORK/writer.err' >&2; exit 1; }"
lost=0
while read -r op i; do
  case "$op" in
    put) "$DFS" get -q "/load/f$i" "$WORK/back" 2>/dev/null && cmp -s "$WORK/small" "$WORK/back" || { lost=$((lost + 1)); echo "lost: put $i"; } ;;
    mkdir) "$DFS" stat "/load/d$i" >/dev/null 2>&1 || { lost=$((lost + 1)); echo "lost: mkdir $i"; } ;;
  esac
done < <(grep -v '^FAIL' "$WORK/acked")
check "every acknowledged write ($(grep -vc '^FAIL' "$WORK/acked")) is there afterwards" [ "$lost" -eq 0 ]
check "the removed master's kill changes nothing: writes go on" "$DFS" mkdir /after-remove

if [ "$FAILURES" -ne 0 ]; then
  echo "--- what the masters and workers said:"
  grep -h "leads\|learned\|membership\|hands\|connecting" "$RUN"/*/dfs-*.log | sort | tail -40
fi
finish
