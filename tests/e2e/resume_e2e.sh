#!/usr/bin/env bash
# Resumable uploads with real processes: a 1 GiB put killed with kill -9 at
# 30%, 60% and 90% of its chunks, each rerun sending only the chunks the
# masters have not recorded, the last one across a leader's death; a changed
# local file starts over; an aborted upload's chunks are collected.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_cluster resume --masters 3 --workers 3 --chunk-size 8M
STATUS() { "$ROOT/launch/status" --dir "$RUN"; }
leader() { STATUS | awk '$1 == "master" && $6 ~ /^leader/ {print $2}'; }

head -c $((1 << 30)) /dev/urandom >"$WORK/big"
CHUNKS=128  # 1 GiB in 8 MiB chunks
"$DFS" mkdir /r

# The one upload in progress (there is never more than one here).
upload_id() { "$DFS" admin uploads --json | grep -o '"id":"[0-9a-f]*"' | head -1 | cut -d'"' -f4; }
chunks_written() {
  "$DFS" admin uploads --json | grep -o '"chunks_written":[0-9]*' | head -1 | cut -d: -f2
}
# The ids of the chunks upload $1 has marked written, one per line, sorted.
written_ids() { "$DFS" admin uploads show "$1" --json | grep -o '"id":"[0-9a-f]*"' | sed 1d | cut -d'"' -f4 | sort; }

# put_until N LOCAL REMOTE [put options]: runs the put and kill -9s it once
# the masters record at least N of its chunks written. It is stopped
# (SIGSTOP) first, so nothing moves between the count and the kill. Fails if
# the put ended by itself first. With KILL_LEADER=1, the leader is killed
# as soon as the put says it resumes (the put held stopped meanwhile).
put_until() {
  local n="$1" local_file="$2" remote="$3"
  shift 3
  "$DFS" put -q "$@" "$local_file" "$remote" 2>>"$WORK/put.err" &
  local pid=$! deadline=$((SECONDS + 600)) w
  if [ "${KILL_LEADER:-0}" = 1 ]; then
    until grep -q "^dfs put: resuming upload" "$WORK/put.err"; do
      kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ] || { echo "no resume" >&2; return 1; }
      sleep 0.01
    done
    kill -STOP "$pid"
    local victim
    victim="$(leader)"
    kill -9 "$(pid_of "master-${victim#m}")"
    echo "killed the leader, $victim" >>"$WORK/leader.killed"
    kill -CONT "$pid"
  fi
  while :; do
    w="$(chunks_written 2>/dev/null || true)"
    [ "${w:-0}" -ge "$n" ] && break
    kill -0 "$pid" 2>/dev/null || { wait "$pid" || true; echo "the put ended before $n chunks" >&2; return 1; }
    [ $SECONDS -lt $deadline ] || { kill -9 "$pid"; echo "no $n chunks in time" >&2; return 1; }
    sleep 0.03
  done
  kill -STOP "$pid"
  kill -9 "$pid"
  wait "$pid" 2>/dev/null || true
}

# ---- killed at 30%, 60% and 90%; each rerun resumes ----
# The number of chunks a rerun found written, from its own words. (A mark the
# killed put had sent may still apply after the kill: the rerun's count is
# the one its sending is measured against.)
resumed_with() { sed -n "s/^dfs put: resuming upload $1 to \/r\/big: \([0-9]*\) of $CHUNKS chunks are written already\$/\1/p" "$WORK/put.err"; }
previous=""
for pct in 30 60 90; do
  want=$((CHUNKS * pct / 100))
  : >"$WORK/put.err"
  if [ -z "$previous" ]; then
    check "kill -9 of a 1 GiB put at $pct% of its chunks" put_until "$want" "$WORK/big" /r/big
  else
    if [ "$pct" = 60 ]; then
      # The leader dies under this one, which goes on to 60% all the same.
      KILL_LEADER=1 check "the rerun, across the leader's death, killed at $pct%" \
        put_until "$want" "$WORK/big" /r/big
      check "the leader was killed while it ran" grep -q "killed the leader" "$WORK/leader.killed"
    else
      check "the rerun killed at $pct%" put_until "$want" "$WORK/big" /r/big
    fi
    k="$(resumed_with "$id")"
    check "it resumed with at least the $(wc -l <<<"$previous") chunks written before (${k:-none})" \
      [ "${k:-0}" -ge "$(wc -l <<<"$previous")" ]
  fi
  id="$(upload_id)"
  now="$(written_ids "$id")"
  check "the upload at $pct% holds at least $want chunks written" [ "$(wc -l <<<"$now")" -ge "$want" ]
  if [ -n "$previous" ]; then
    check "no chunk written before was sent again (every earlier one is still the one recorded)" \
      bash -c "[ -z \"\$(comm -23 <(echo '$previous') <(echo '$now'))\" ]"
  fi
  previous="$now"
done

# ---- the last resume completes ----
: >"$WORK/put.err"
check "the last resume completes" bash -c "'$DFS' put -q '$WORK/big' /r/big 2>'$WORK/put.err'"
k="$(resumed_with "$id")"
check "it resumed with at least the $(wc -l <<<"$previous") chunks written before (${k:-none})" \
  [ "${k:-0}" -ge "$(wc -l <<<"$previous")" ]
check "and sent only the others ($((CHUNKS - ${k:-0})))" \
  grep -qF "resumed: sent $((CHUNKS - ${k:-0})) of $CHUNKS chunks" "$WORK/put.err"
"$DFS" stat --json /r/big | grep -o '"id":"[0-9a-f]*"' | cut -d'"' -f4 | sort >"$WORK/final.ids"
check "the file is made of every chunk written by the interrupted runs" \
  bash -c "[ -z \"\$(comm -23 <(echo '$previous') '$WORK/final.ids')\" ]"
check "the file reads back byte-identical" bash -c "'$DFS' get -q /r/big '$WORK/big.back' && cmp '$WORK/big' '$WORK/big.back'"
rm -f "$WORK/big.back"
check "no upload is left in progress" bash -c "[ -z \"\$('$DFS' admin uploads --json | grep -o '\"id\"')\" ]"
check "and no manifest" bash -c "[ -z \"\$(ls -A '$XDG_STATE_HOME/dfs/uploads' 2>/dev/null)\" ]"
check "launch/up restarts the killed master" "$ROOT/launch/up" --dir "$RUN"

# ---- a changed local file starts over ----
head -c $((64 << 20)) /dev/urandom >"$WORK/mid"
check "a put of 64 MiB killed after 2 chunks" put_until 2 "$WORK/mid" /r/mid --parallel 1
old="$(upload_id)"
head -c 4096 /dev/urandom | dd of="$WORK/mid" bs=4096 seek=1 conv=notrunc status=none
check "the rerun of the changed file succeeds" bash -c "'$DFS' put -q '$WORK/mid' /r/mid 2>'$WORK/put.err'"
check "it says why it started over" grep -qF "$WORK/mid changed since the interrupted upload to /r/mid: starting the upload over" "$WORK/put.err"
check "it did not resume" bash -c "! grep -q resum '$WORK/put.err'"
check "the new content reads back" bash -c "'$DFS' get -q /r/mid '$WORK/mid.back' && cmp '$WORK/mid' '$WORK/mid.back'"
expect_error "the old upload was aborted" "is unknown" "$DFS" admin uploads show "$old"

# ---- an aborted upload: its chunks are collected, a rerun starts over ----
check "a put killed after 2 chunks" put_until 2 "$WORK/mid" /r/mid2 --parallel 1
old="$(upload_id)"
ids="$(written_ids "$old")"
on_disk() {  # how many of the chunk ids in $1 are on some worker's disk
  local w
  for w in $(. "$RUN/cluster.env" && seq 1 "$WORKERS"); do chunk_ids_on "w$w"; done |
    sort -u | grep -cxF -f <(tr ' ' '\n' <<<"$1" | grep .) || true
}
check "its written chunks are on the workers' disks" [ "$(on_disk "$ids")" -ge 2 ]
check "dfs admin uploads lists it with its path" bash -c "'$DFS' admin uploads | grep -q '$old .* /r/mid2\$'"
check "dfs admin uploads abort drops it" "$DFS" admin uploads abort "$old"
none_on_disk() { [ "$(on_disk "$ids")" -eq 0 ]; }
check "its chunks are deleted from the workers" eventually 30 none_on_disk
check "the rerun succeeds" bash -c "'$DFS' put -q '$WORK/mid' /r/mid2 2>'$WORK/put.err'"
check "it says the upload is gone" grep -qF "the interrupted upload to /r/mid2 is gone (committed, expired or aborted): starting the upload over" "$WORK/put.err"

# ---- --no-resume keeps no manifest and leaves no upload behind ----
check "a --no-resume put killed after 2 chunks" put_until 2 "$WORK/mid" /r/mid3 --parallel 1 --no-resume
check "it kept no manifest" bash -c "[ -z \"\$(ls -A '$XDG_STATE_HOME/dfs/uploads' 2>/dev/null)\" ]"
abandoned="$(upload_id)"
check "a --no-resume rerun sends the whole file" bash -c "'$DFS' put -q --no-resume '$WORK/mid' /r/mid3 2>'$WORK/put.err'"
check "without resuming" bash -c "! grep -q resum '$WORK/put.err'"
check "the killed --no-resume upload is left for expiry, or an admin to abort" \
  "$DFS" admin uploads abort "$abandoned"

finish
