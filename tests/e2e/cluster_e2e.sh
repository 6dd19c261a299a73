#!/usr/bin/env bash
# Process-level test: a real cluster brought up with launch/up, used through
# the dfs CLI, with kill -9 of the master and of a worker, and a full disk.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CHUNK=$((8 << 20))
start_cluster main --workers 3 --chunk-size 8M

# ---- the monitor taps the bus ----
# It runs until stopped: other events (a worker joining, a leader's) may come
# before the file's, so waiting for one event alone would be a race.
"$DFS_BUILD/bin/dfs-monitor" >"$WORK/monitor.out" 2>&1 &
monitor=$!
# A subscriber misses what was published before it joined: publish until seen.
for i in $(seq 1 50); do
  echo "$i" | "$DFS" put - "/monitor-$i" >/dev/null 2>&1
  grep -q '^event.file.committed /monitor-' "$WORK/monitor.out" && break
  kill -0 "$monitor" 2>/dev/null || break
  sleep 0.1
done
kill "$monitor" 2>/dev/null || true
wait "$monitor" 2>/dev/null || true
check "dfs-monitor shows a committed file" grep -q '^event.file.committed /monitor-' "$WORK/monitor.out"

# ---- put/get at every chunk boundary, and a large file ----
sizes=(0 1 $((CHUNK - 1)) $CHUNK $((CHUNK + 1)) $((200 << 20)))
for size in "${sizes[@]}"; do
  head -c "$size" /dev/urandom >"$WORK/f$size"
  check "put $size bytes" "$DFS" put -q "$WORK/f$size" "/f$size"
  check "get $size bytes back identical" bash -c "'$DFS' get -q /f$size '$WORK/back$size' && cmp -s '$WORK/f$size' '$WORK/back$size'"
done
json="$("$DFS" stat --json "/f$((200 << 20))")"
check "stat --json lists 25 chunks with sha256 and replicas" \
  bash -c "[ \$(grep -o '\"sha256\"' <<<'$json' | wc -l) -eq 25 ] && grep -q '\"replicas\":\[\"w' <<<'$json'"
# Where chunk 0 of $1 lies on its first replica's disk (the path only).
stored_at() {
  local id w
  id="$("$DFS" stat --json "$1" | grep -o '"id":"[0-9a-f]*"' | head -1 | cut -d'"' -f4)"
  w="$(replica_lines "$1" | head -1 | awk '{print $1}')"
  "$DFS_BUILD/bin/dfs-chunk" locate "$RUN/worker-${w#w}" "$id" | cut -d' ' -f2
}
check "by default a small chunk is packed into a volume file" bash -c "[[ \$1 == */volumes/*.vol ]]" _ "$(stored_at /f1)"
check "...and an 8 MiB chunk has a file of its own" bash -c "[[ \$1 == */chunks/* ]]" _ "$(stored_at /f$CHUNK)"

# ---- standard input and output ----
check "put from stdin, cat to stdout" bash -c "'$DFS' put - /from-stdin <'$WORK/f$((CHUNK + 1))' && '$DFS' cat /from-stdin | cmp -s - '$WORK/f$((CHUNK + 1))'"

# ---- namespace semantics through the CLI ----
expect_error "put refuses an existing file" "already exists" "$DFS" put -q "$WORK/f1" /f1
check "put --force replaces it" bash -c "'$DFS' put -q '$WORK/f1' /replace && '$DFS' put -q --force '$WORK/f0' /replace && '$DFS' stat --json /replace | grep -q '\"size\":0,'"
expect_error "mkdir without -p needs the parent" "does not exist" "$DFS" mkdir /a/b
check "mkdir -p makes parents" "$DFS" mkdir -p /a/b/c
expect_error "put into a missing directory" "/nope.*does not exist" "$DFS" put -q "$WORK/f1" /nope/x
expect_error "relative paths are refused" "not absolute" "$DFS" stat a/b
expect_error "stat of a missing file" "not found" "$DFS" stat /missing
check "mv a file into a directory" bash -c "'$DFS' put -q '$WORK/f1' /movable && '$DFS' mv /movable /a/b && '$DFS' stat /a/b/movable >/dev/null"
check "ls lists names" bash -c "'$DFS' ls /a/b | grep -qx 'c/' && '$DFS' ls /a/b | grep -qx 'movable'"
check "ls -R shows full paths" bash -c "'$DFS' ls -R /a | grep -qx '/a/b/movable'"
check "ls with a prefix" bash -c "[ \"\$('$DFS' ls /f$CHUNK | head -1)\" = f$CHUNK ] && [ \$('$DFS' ls /f83886 | wc -l) -eq 3 ]"
check "ls --json" bash -c "'$DFS' ls --json /a/b | grep -q '\"path\":\"/a/b/movable\"'"
expect_error "rm of a non-empty directory needs -r" "not empty" "$DFS" rm /a
check "rm -r removes the tree" bash -c "'$DFS' rm -r /a && ! '$DFS' stat /a 2>/dev/null"
check "df shows three live workers" bash -c "[ \$('$DFS' df | grep -c ' live ') -eq 3 ]"
check "launch/status --json names every process" bash -c \
  "'$ROOT/launch/status' --dir '$RUN' --json | grep -q '\"workers\":\[{\"id\":\"w1\"'"

# ---- kill -9 of the master and of a worker, then restart ----
kill -9 "$(pid_of master-1)"
victim="$(grep -o '"replicas":\["w[0-9]*' <<<"$json" | head -1 | grep -o 'w[0-9]*')"
kill -9 "$(pid_of "worker-${victim#w}")"
check "launch/up restarts what was killed" "$ROOT/launch/up" --dir "$RUN" >/dev/null 2>&1
for size in "${sizes[@]}"; do
  check "after kill -9: $size bytes identical" bash -c "'$DFS' get -q /f$size '$WORK/again$size' && cmp -s '$WORK/f$size' '$WORK/again$size'"
done

# ---- SIGTERM stops every process cleanly ----
"$ROOT/launch/down" --dir "$RUN" >/dev/null 2>&1
check "SIGTERM: every process logged a clean stop" bash -c \
  "grep -q 'master stopped' '$RUN/master-1/dfs-master.log' && for i in 1 2 3; do grep -q \"worker w\$i stopped\" '$RUN/worker-'\$i/dfs-worker.log || exit 1; done"
check "launch/down leaves nothing running" bash -c "! '$ROOT/launch/status' --dir '$RUN' | grep -q running"

# ---- a full worker: clear error, no partial file ----
start_cluster full --workers 1 --capacity 20M --chunk-size 4M
head -c $((40 << 20)) /dev/urandom >"$WORK/big"
expect_error "put larger than the free space fails clearly" "room|full" "$DFS" put -q "$WORK/big" /big
check "no partial file is visible" bash -c "! '$DFS' stat /big 2>/dev/null && [ -z \"\$('$DFS' ls /)\" ]"
check "no temporaries left on the worker" bash -c "[ -z \"\$(ls '$RUN/worker-1/tmp')\" ]"
head -c $((8 << 20)) /dev/urandom >"$WORK/fits"
check "space comes back: a file that fits is stored" bash -c \
  "for i in \$(seq 1 100); do '$DFS' put -q '$WORK/fits' /fits 2>/dev/null && exit 0; sleep 0.1; done; exit 1"

# ---- no master ----
"$ROOT/launch/down" --dir "$RUN" >/dev/null 2>&1
expect_error "an unreachable master is a clear error" "unreachable" "$DFS" --timeout-ms 500 ls /

finish
