#!/usr/bin/env bash
# Small files with real processes: many `dfs put`s of a few KiB at once, so
# the worker commits their chunks in groups, with the only worker killed
# with kill -9 three times in the middle and restarted. With one replica
# there is no other copy to read: every put that said it succeeded must
# read back byte-identical from that worker afterwards. What this catches
# is an answer given before the group's rename into place (the temporary
# is swept at restart); kill -9 leaves the page cache, so a missing sync
# would go unseen here: the order of syncs is the unit tests' to pin.
# The worker holds each group 20 ms (--group-commit-delay-ms), so that an
# answer given before the group's commit would be caught by a kill. Also: a
# file of one chunk costs two log entries, not four.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Each chunk has a file of its own here (--pack-chunks-up-to 0); packed_e2e.sh
# runs the same with the worker packing chunks into volumes, its default.
start_cluster "${SMALL_NAME:-small}" --masters 1 --workers 1 --replication 1 \
  --worker-flags "--group-commit-delay-ms 20 --pack-chunks-up-to ${SMALL_PACK:-0}"
"$DFS" mkdir /s

# ---- a file of one chunk: its upload and chunk in one entry, its commit in one ----
# Ten puts; anything else the masters log meanwhile (a worker's report) is
# the slack: four entries a file would be 40.
commit_index() { "$DFS" df --json | grep -o '"commit_index":[0-9]*' | cut -d: -f2; }
head -c 5000 /dev/urandom >"$WORK/one"
"$DFS" put -q "$WORK/one" /s/warm
before="$(commit_index)"
for i in $(seq 1 10); do "$DFS" put -q "$WORK/one" "/s/one$i"; done
after="$(commit_index)"
check "ten puts of one chunk take about two log entries each ($((after - before)) in all)" \
  [ "$((after - before))" -le 25 ]
"$DFS" get /s/one10 "$WORK/one.back"
check "and read back whole" cmp -s "$WORK/one" "$WORK/one.back"

# ---- WRITERS loops of small puts; kill -9 the worker mid-way; restart it ----
WRITERS=8
for w in $(seq 1 "$WRITERS"); do
  head -c $((3000 + w * 517)) /dev/urandom >"$WORK/body.$w"
done
# writer W: puts /s/W-N until $WORK/stop exists, and lists in $WORK/ok.W
# each N whose put exited 0 (and stops when the test's directory goes, at
# its exit). The deadline is only a last bound: it must outlast every wait below (three rounds and the last check,
# 60 s each, plus restarts), or the writers stop before the checks that
# count on them, as they once did on a loaded machine.
writer() {
  local w="$1" n=0 deadline=$((SECONDS + 600))
  : >"$WORK/ok.$w"
  while [ -d "$WORK" ] && [ ! -e "$WORK/stop" ] && [ $SECONDS -lt $deadline ]; do
    n=$((n + 1))
    if "$DFS" put -q --timeout-ms 2000 "$WORK/body.$w" "/s/$w-$n" 2>/dev/null; then
      echo "$n" >>"$WORK/ok.$w"
    fi
  done
}
pids=()
for w in $(seq 1 "$WRITERS"); do
  writer "$w" &
  pids+=($!)
done
acknowledged() { cat "$WORK"/ok.* 2>/dev/null | wc -l; }
# Puts acknowledged between kills: fewer under the sanitizers, where each
# `dfs put` process starts several times slower.
PER_ROUND=50
sanitized && PER_ROUND=15
acknowledged_at_least() { [ "$(acknowledged)" -ge "$1" ]; }
# Three rounds: an answer given too early is lost only if the kill lands
# between that answer and the group's commit, so one kill alone may miss it.
killed_at=0
for round in 1 2 3; do
  check "round $round: the writers store files" eventually 60 acknowledged_at_least $((killed_at + PER_ROUND))
  kill -9 "$(pid_of worker-1)"
  killed_at="$(acknowledged)"
  check "round $round: launch/up restarts the killed worker" "$ROOT/launch/up" --dir "$RUN"
done
check "the writers go on after the last restart" eventually 60 acknowledged_at_least $((killed_at + PER_ROUND))
touch "$WORK/stop"
wait "${pids[@]}"

lost=0
total=0
for w in $(seq 1 "$WRITERS"); do
  while read -r n; do
    total=$((total + 1))
    if ! "$DFS" get "/s/$w-$n" "$WORK/back" 2>/dev/null || ! cmp -s "$WORK/body.$w" "$WORK/back"; then
      lost=$((lost + 1))
      [ "$lost" -le 5 ] && echo "lost /s/$w-$n" >&2
    fi
  done <"$WORK/ok.$w"
done
check "every acknowledged put ($total, $killed_at before the last kill) reads back byte-identical" [ "$lost" -eq 0 ]
check "no temporary is left on the worker" [ -z "$(ls -A "$RUN/worker-1/tmp")" ]
if [ "${SMALL_PACK:-0}" = 0 ]; then
  check "the small chunks are files of their own, none in a volume" \
    [ -n "$(find "$RUN/worker-1/chunks" -type f)" -a -z "$(ls -A "$RUN/worker-1/volumes")" ]
else
  check "the small chunks are in volumes, not files of their own" \
    [ -n "$(ls -A "$RUN/worker-1/volumes")" -a -z "$(find "$RUN/worker-1/chunks" -type f)" ]
fi

finish
