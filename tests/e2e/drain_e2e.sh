#!/usr/bin/env bash
# Process-level test of decommissioning and of the monitor: a worker drained
# while a put runs and while the leader is killed ends up holding nothing the
# cluster needs, with no data lost; a drained worker takes no new chunk until
# recommissioned; dfs-monitor --json, tapping the bus the whole time, sees
# the drain, a worker's death, and the repair start and finish. Real
# binaries, started by launch/up.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# A throttled repair (4 MiB/s of 1 MiB chunks) keeps the drain running long
# enough to kill the leader in the middle of it.
start_cluster drain --masters 3 --workers 5 --chunk-size 1M \
  --master-flags "--dead-after-ms 3000 --suspect-after-ms 1000 --repair-rate 4M"
STATUS() { "$ROOT/launch/status" --dir "$RUN"; }
leader() { STATUS | awk '$1 == "master" && $6 ~ /^leader/ {print $2}'; }

EVENTS="$WORK/events.jsonl"
"$DFS_BUILD/bin/dfs-monitor" --json >"$EVENTS" 2>"$WORK/monitor.err" &
monitor=$!
stop_monitor() { kill "$monitor" 2>/dev/null || true; wait "$monitor" 2>/dev/null || true; }
# The monitor's first picture of the cluster comes before any test step.
check "dfs-monitor --json starts with a picture of the cluster" \
  eventually 20 grep -q '"kind":"monitor.snapshot"' "$EVENTS"

files=(a b c)
for f in "${files[@]}"; do head -c $((5 << 20 | RANDOM)) /dev/urandom >"$WORK/$f"; done
for f in "${files[@]}"; do check "put /$f at R=3 on 5 workers" "$DFS" put -q "$WORK/$f" "/$f"; done

# Nothing of any file is recorded on worker $1.
forgotten() {
  local f json
  for f in "${files[@]}"; do
    json="$("$DFS" stat --json "/$f")" || return 1
    ! grep -q "\"$1\"" <<<"$json" || return 1
  done
}
whole() {
  local f
  "$DFS" fsck / >/dev/null || return 1
  for f in "${files[@]}"; do replicas_on_disk "/$f" 3 >/dev/null || return 1; done
}
reads_back() {
  local f
  for f in "${files[@]}"; do
    "$DFS" get -q "/$f" "$WORK/$f.back" && cmp -s "$WORK/$f" "$WORK/$f.back" || return 1
  done
}
empty_disk() { [ -z "$(chunk_ids_on "$1")" ]; }

# ---- decommission while a put runs, and kill the leader mid-drain ----
victim="$(replica_lines /a | head -1 | awk '{print $1}')"
# The put reads its data from a pipe this script feeds: half before the
# decommission, half after, so it is certainly under way across it.
head -c $((40 << 20)) /dev/urandom >"$WORK/big"
mkfifo "$WORK/feed"
"$DFS" put -q - /big <"$WORK/feed" 2>"$WORK/big.err" &
putter=$!
exec 7>"$WORK/feed"
head -c $((20 << 20)) "$WORK/big" >&7
check "dfs admin decommission $victim starts its drain" \
  bash -c "'$DFS' admin decommission $victim | grep -q 'is draining'"
check "...while a put is under way" kill -0 "$putter"
files+=(big)
status_of() {  # the victim's entry in admin status --json
  "$DFS" admin status --json | grep -o "{\"id\":\"$victim\",[^}]*}"
}
draining() { status_of | grep -q '"draining":true'; }
not_draining() { status_of | grep -q '"draining":false'; }
to_move() { status_of | sed -n 's/.*"recorded_chunks":\([0-9-]*\).*/\1/p'; }
check "...admin status shows $victim draining" draining
check "...with chunks still to move when the leader is killed" [ "$(to_move)" -gt 0 ]
old="$(leader)"
kill -9 "$(pid_of "master-${old#m}")"
tail -c +$(((20 << 20) + 1)) "$WORK/big" >&7
exec 7>&-
put_rc=0
wait "$putter" || put_rc=$?
put_ok() { [ "$put_rc" -eq 0 ] || { cat "$WORK/big.err"; return 1; }; }
check "...the put finishes, the leader ($old) killed during it" put_ok
check "...dfs admin decommission --wait says when $victim is safe to stop" \
  bash -c "'$DFS' admin decommission $victim --wait 120 | grep -q 'safe to stop'"
check "...no file records a copy on $victim" forgotten "$victim"
check "...every chunk of every file is on 3 other workers, on disk" whole
check "...every file, the one put during the drain too, reads back byte-identical" reads_back
check "...$victim's disk holds no chunk file once its copies are collected" \
  eventually 30 empty_disk "$victim"
safe_to_stop() { status_of | grep -q '"recorded_chunks":0,"safe_to_stop":true'; }
check "...admin status --json says safe_to_stop" safe_to_stop

# ---- a drained worker takes no new chunk; recommissioned, it does ----
head -c $((3 << 20)) /dev/urandom >"$WORK/r"
not_on() {
  local json
  json="$("$DFS" stat --json "$1")" || return 1
  ! grep -q "\"$2\"" <<<"$json"
}
on_every_chunk() {
  local lines
  lines="$(replica_lines "$1")" && [ -n "$lines" ] || return 1
  [ "$(grep -vc "\b$2\b" <<<"$lines")" -eq 0 ]
}
check "put at R=4 with $victim drained" "$DFS" put -q --replication 4 "$WORK/r" /r4
check "...every chunk is on the 4 other workers" replicas_on_disk /r4 4
check "...none on $victim" not_on /r4 "$victim"
check "dfs admin recommission $victim" bash -c "'$DFS' admin recommission $victim | grep -q 'back in service'"
check "...admin status no longer shows it draining" not_draining
check "...a put at R=5 places every chunk on $victim too" "$DFS" put -q --replication 5 "$WORK/r" /r5
check "...every chunk is on all 5 workers" replicas_on_disk /r5 5
check "...$victim among them" on_every_chunk /r5 "$victim"
expect_error "decommission of a worker no one knows fails with one clear line" \
  "worker w99 is unknown" "$DFS" admin decommission w99
"$DFS" rm /r4
"$DFS" rm /r5

# ---- the monitor sees a worker die and the repair start and finish ----
dead="$(replica_lines /a | head -1 | awk '{print $1}')"
kill -9 "$(pid_of "worker-${dead#w}")"
healed() { forgotten "$dead" && whole; }
check "kill -9 of $dead: every chunk is back on 3 workers" eventually 120 healed
# The events of one kind, in the order the monitor printed them.
saw() { grep -q "\"kind\":\"$1\",\"subject\":\"$2\"" "$EVENTS"; }
check "dfs-monitor saw $victim draining" saw worker.draining "$victim"
check "...and drained" saw worker.drained "$victim"
check "dfs-monitor saw $dead go dead" eventually 10 saw worker.dead "$dead"
after_dead() {  # repair.started and repair.finished both printed after worker.dead
  awk -v w="$dead" '/"kind":"worker.dead"/ && index($0, "\"subject\":\"" w "\"") {d = NR}
    d && /"kind":"repair.started"/ {s = NR} s && /"kind":"repair.finished"/ {f = NR}
    END {exit !(d && s > d && f > s)}' "$EVENTS"
}
check "dfs-monitor saw the repair start and finish after it" eventually 20 after_dead
check "dfs-monitor saw its connections to the masters made and lost (the killed leader)" \
  bash -c "grep -q '\"kind\":\"monitor.connected\"' '$EVENTS' && grep -q '\"kind\":\"monitor.disconnected\"' '$EVENTS'"
check "...and took a fresh picture under the new leader" \
  [ "$(grep -c '"kind":"monitor.snapshot"' "$EVENTS")" -ge 2 ]
# Within each leader's epoch the events it printed are numbered upward with
# no number twice (the gaps, if any, are announced, not hidden).
numbered() {
  grep '"sequence"' "$EVENTS" | grep -v monitor. |
    sed 's/.*"sequence":\([0-9]*\),"epoch":\([0-9]*\).*/\2 \1/' |
    awk '{ if ($1 in last && $2 <= last[$1]) exit 1; last[$1] = $2 }'
}
check "...its events are numbered upward within each leader's epoch" numbered
stop_monitor
cp "$EVENTS" "${DFS_KEEP_EVENTS:-/dev/null}" 2>/dev/null || true

finish
