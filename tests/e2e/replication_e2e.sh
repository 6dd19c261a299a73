#!/usr/bin/env bash
# Process-level test of replication: every chunk on R distinct workers, reads
# that survive dead and corrupt replicas, and puts that survive a worker
# killed or stopped mid-write. Real binaries, started by launch/up.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

live_workers_are() { [ "$("$DFS" df | grep -c ' live ' || true)" -eq "$1" ]; }
# No live worker of $RUN holds a temporary.
no_temporaries() {
  local d
  for d in "$RUN"/worker-*; do
    kill -0 "$(cat "$d/pid")" 2>/dev/null || continue
    [ -z "$(ls "$d/tmp")" ] || return 1
  done
}

# ============ three workers, replication 3 ============
start_cluster three --workers 3 --chunk-size 4M
head -c $((20 << 20)) /dev/urandom >"$WORK/a"
check "put on 3 workers at the default replication" "$DFS" put -q "$WORK/a" /a
check "RF=3 on 3 workers: every chunk on 3 distinct workers, on disk" replicas_on_disk /a 3
check "fsck of a healthy file exits 0" "$DFS" fsck /a

# ---- kill -9 two of the three replica holders ----
read -r keep victim1 victim2 <<<"$(replica_lines /a | head -1)"
kill -9 "$(pid_of "worker-${victim1#w}")" "$(pid_of "worker-${victim2#w}")"
check "after kill -9 of $victim1 and $victim2: get is byte-identical" \
  bash -c "'$DFS' get -q /a '$WORK/a.back' && cmp -s '$WORK/a' '$WORK/a.back'"
check "the master sees only $keep live" eventually 30 live_workers_are 1
check "fsck reports the replicas on dead workers (exit 1), once the master judges them dead" \
  eventually 30 bash -c "out=\$('$DFS' fsck /a); [ \$? -eq 1 ] && grep -q '1 of 3 good \[good $keep\]' <<<\"\$out\""
expect_error "too few live workers: put fails clearly" "needs 3 live workers with room, only 1 available" \
  "$DFS" put -q "$WORK/a" /b
check "and leaves no file" bash -c "! '$DFS' stat /b 2>/dev/null"
check "--min-replication 1 stores it anyway" "$DFS" put -q --min-replication 1 "$WORK/a" /b
check "...on the one live worker" replicas_on_disk /b 1
check "...and fsck names it under-replicated" bash -c "'$DFS' fsck /b | grep -q '^/b chunk 0 .*1 of 3 good'"
check "launch/up restarts the killed workers" "$ROOT/launch/up" --dir "$RUN"

# ---- one corrupt replica ----
read -r bad other _ <<<"$(replica_lines /a | head -1)"
id="$("$DFS" stat --json /a | grep -o '"id":"[0-9a-f]*"' | head -1 | cut -d'"' -f4)"
flip_chunk_byte "$bad" "$id" 5000
check "one flipped byte in $bad's replica: get is byte-identical" \
  bash -c "'$DFS' get -q /a '$WORK/a.back2' && cmp -s '$WORK/a' '$WORK/a.back2'"
check "the client reported it: the master recorded $bad's replica corrupt" \
  eventually 10 bash -c "grep -q 'replica on $bad is corrupt' '$RUN'/master-*/dfs-master.log"
# With no other worker to copy to, repair drops the bad copy, has it deleted
# from $bad, and copies a good one back there.
whole() { "$DFS" fsck /a >/dev/null && replicas_on_disk /a 3 >/dev/null; }
check "repair makes the file whole again: fsck exits 0, every chunk on 3 workers" eventually 60 whole
same_image() {
  chunk_image "$bad" "$id" >"$WORK/bad.img" && chunk_image "$other" "$id" >"$WORK/other.img" &&
    [ -s "$WORK/bad.img" ] && cmp -s "$WORK/bad.img" "$WORK/other.img"
}
check "...and the copy on $bad is a good one again, the same as $other's" same_image
"$ROOT/launch/down" --dir "$RUN" >/dev/null 2>&1

# ============ five workers ============
start_cluster five --workers 5 --chunk-size 16M \
  --worker-flags "--pipeline-timeout-ms 2000 --idle-timeout-ms 5000"
check "put on 5 workers at the default replication" "$DFS" put -q "$WORK/a" /a
check "RF=3 on 5 workers: every chunk on 3 distinct workers, on disk" replicas_on_disk /a 3

# ---- kill -9 of a worker in the middle of a 500 MiB put ----
head -c $((500 << 20)) /dev/urandom >"$WORK/big"
"$DFS" put -q "$WORK/big" /big >"$WORK/big.out" 2>&1 &
put=$!
# Kill once the victim is writing a chunk of this put.
for _ in $(seq 1 200); do
  [ -n "$(ls "$RUN/worker-2/tmp")" ] && break
  sleep 0.05
done
kill -9 "$(pid_of worker-2)"
rc=0
wait "$put" || rc=$?
if [ $rc -eq 0 ]; then
  check "put with a worker killed mid-way succeeded: every chunk on 3 distinct workers" \
    bash -c "[ \$('$DFS' stat --json /big | grep -o '\"replicas\":\[[^]]*\]' | grep -vc '\"[^\"]*\",\"[^\"]*\",\"[^\"]*\"') -eq 0 ]"
  check "...and reads back byte-identical" \
    bash -c "'$DFS' get -q /big '$WORK/big.back' && cmp -s '$WORK/big' '$WORK/big.back'"
else
  check "put with a worker killed mid-way failed with one clear line" \
    bash -c "[ \$(wc -l <'$WORK/big.out') -eq 1 ] && grep -q '^dfs: put' '$WORK/big.out'"
  check "...and left no visible file" bash -c "! '$DFS' stat /big 2>/dev/null"
fi
check "no temporaries left on any live worker" eventually 30 no_temporaries
check "launch/up restarts the killed worker" "$ROOT/launch/up" --dir "$RUN"

# ---- a stopped (SIGSTOP) worker in the pipeline ----
head -c $((64 << 20)) /dev/urandom >"$WORK/c"
kill -STOP "$(pid_of worker-3)"
start=$SECONDS
rc=0
timeout 60 "$DFS" put -q "$WORK/c" /c 2>"$WORK/c.err" || rc=$?
elapsed=$((SECONDS - start))
kill -CONT "$(pid_of worker-3)"
check "a stopped worker does not hang the put (exit $rc after ${elapsed}s)" \
  bash -c "[ $rc -eq 0 ] || { [ $rc -eq 1 ] && [ \$(wc -l <'$WORK/c.err') -eq 1 ]; }"
if [ $rc -eq 0 ]; then
  check "...its chunks avoid the stopped worker" bash -c "! '$DFS' stat --json /c | grep -q '\"w3\"'"
  check "...and read back byte-identical" \
    bash -c "'$DFS' get -q /c '$WORK/c.back' && cmp -s '$WORK/c' '$WORK/c.back'"
fi
check "no temporaries left once the stopped worker resumes" eventually 30 no_temporaries

finish
