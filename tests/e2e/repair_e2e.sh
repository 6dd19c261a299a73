#!/usr/bin/env bash
# Process-level test of self-healing: with R=3 on 5 workers, a worker killed
# with -9 has every chunk it held copied elsewhere within the dead timeout
# plus the copy time, and its copies are deleted when it comes back; the same
# with the leader killed in the middle of the repair; two workers killed at
# once. Real binaries, started by launch/up.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DEAD_MS=3000
# A throttled repair (2 MiB/s of 1 MiB chunks) keeps it running long enough
# to kill the leader in the middle of it.
start_cluster heal --masters 3 --workers 5 --chunk-size 1M \
  --master-flags "--dead-after-ms $DEAD_MS --suspect-after-ms 1000"
STATUS() { "$ROOT/launch/status" --dir "$RUN"; }
leader() { STATUS | awk '$1 == "master" && $6 ~ /^leader/ {print $2}'; }

for f in a b c; do head -c $((5 << 20 | RANDOM)) /dev/urandom >"$WORK/$f"; done
for f in a b c; do check "put /$f at R=3 on 5 workers" "$DFS" put -q "$WORK/$f" "/$f"; done

# Every file's chunks each on exactly 3 distinct workers, on disk, fsck clean.
whole() {
  local f
  "$DFS" fsck / >/dev/null || return 1
  for f in a b c; do replicas_on_disk "/$f" 3 >/dev/null || return 1; done
}
# Nothing of /a, /b, /c is recorded on worker $1.
forgotten() {
  local f json
  for f in a b c; do
    json="$("$DFS" stat --json "/$f")" || return 1
    ! grep -q "\"$1\"" <<<"$json" || return 1
  done
}
# Repaired around the dead workers named: none of them recorded, all whole.
healed() {
  local w
  for w in "$@"; do forgotten "$w" || return 1; done
  whole
}
# Worker $1's disk holds no chunk.
empty_disk() { [ -z "$(chunk_ids_on "$1")" ]; }
reads_back() {
  local f
  for f in a b c; do
    "$DFS" get -q "/$f" "$WORK/$f.back" && cmp -s "$WORK/$f" "$WORK/$f.back" || return 1
  done
}
repair_field() { "$DFS" df --json | sed -n "s/.*\"repair\":{[^}]*\"$1\":\([0-9]*\).*/\1/p"; }
check "every chunk starts on 3 workers" whole

# ---- kill -9 one worker ----
victim="$(replica_lines /a | head -1 | awk '{print $1}')"
held="$(chunk_ids_on "$victim" | wc -l)"
kill -9 "$(pid_of "worker-${victim#w}")"
start=$SECONDS
check "kill -9 of $victim ($held chunks): within the dead timeout plus the copy time, every chunk is on 3 other workers" \
  eventually 60 healed "$victim"
echo "     (repaired within $((SECONDS - start)) s of the kill; dead timeout $((DEAD_MS / 1000)) s)"
check "...and every file reads back byte-identical" reads_back
check "...admin status shows $victim dead and nothing under-replicated or lost" bash -c \
  "'$DFS' admin status --json | grep -q '\"id\":\"$victim\",\"state\":\"dead\"' &&
   '$DFS' admin status --json | grep -q '\"under_replicated\":0,\"lost\":0'"
copied="$(repair_field copied)"
check "...the leader counted at least $held copies ($copied)" [ "${copied:-0}" -ge "$held" ]

# ---- it comes back: its copies are surplus and go ----
check "launch/up restarts $victim" "$ROOT/launch/up" --dir "$RUN"
check "...its now unneeded copies are deleted from its disk" eventually 30 empty_disk "$victim"
check "...and every chunk stays on exactly 3 workers" whole

# ---- the leader dies in the middle of a repair ----
"$ROOT/launch/down" --dir "$RUN" >/dev/null 2>&1
start_cluster heal2 --masters 3 --workers 5 --chunk-size 1M \
  --master-flags "--dead-after-ms $DEAD_MS --suspect-after-ms 1000 --repair-rate 2M"
for f in a b c; do "$DFS" put -q "$WORK/$f" "/$f"; done
victim="$(replica_lines /a | head -1 | awk '{print $1}')"
kill -9 "$(pid_of "worker-${victim#w}")"
copying() { [ "$(repair_field copied)" -ge 1 ] 2>/dev/null; }
check "repair of $victim's chunks starts" eventually 30 copying
old="$(leader)"
kill -9 "$(pid_of "master-${old#m}")"
check "with the leader ($old) killed mid-repair, the new leader finishes it" \
  eventually 90 healed "$victim"
check "...and every file reads back byte-identical" reads_back
"$ROOT/launch/down" --dir "$RUN" >/dev/null 2>&1

# ---- two workers at once ----
start_cluster heal3 --masters 1 --workers 5 --chunk-size 1M \
  --master-flags "--dead-after-ms $DEAD_MS --suspect-after-ms 1000"
for f in a b c; do "$DFS" put -q "$WORK/$f" "/$f"; done
read -r v1 v2 _ <<<"$(replica_lines /a | head -1)"
kill -9 "$(pid_of "worker-${v1#w}")" "$(pid_of "worker-${v2#w}")"
check "two of five workers ($v1, $v2) killed at once: every chunk back on 3 of the 3 left" \
  eventually 90 healed "$v1" "$v2"
check "...and every file reads back byte-identical" reads_back
"$ROOT/launch/down" --dir "$RUN" >/dev/null 2>&1

# ---- the scrubber: damage to chunk files, and to packed chunks ----
# Chunk $1 of /a: its id and the workers holding it.
chunk_of() { "$DFS" stat --json /a | grep -o '"id":"[0-9a-f]*"' | sed -n "$(($1 + 1))p" | cut -d'"' -f4; }
# scrub_round NAME PACK DAMAGE0 DAMAGE1 DAMAGE2: on a cluster whose workers
# pack chunks up to PACK, damages the first replica of chunk n of /a with
# the function DAMAGEn (called with the worker and the chunk id), then
# waits for the scrubber to find each and the repair to replace it.
scrub_round() {
  local name="$1" pack="$2" n w id
  shift 2
  start_cluster "$name" --masters 1 --workers 5 --chunk-size 1M \
    --master-flags "--dead-after-ms $DEAD_MS --suspect-after-ms 1000" \
    --worker-flags "--scrub-rate 200M --scrub-interval-s 1 --pack-chunks-up-to $pack"
  for f in a b c; do "$DFS" put -q "$WORK/$f" "/$f"; done
  damaged=()
  for n in 0 1 2; do
    id="$(chunk_of $n)"
    w="$(replica_lines /a | sed -n "$((n + 1))p" | awk '{print $1}')"
    damaged+=("$w:$id")
    "$1" "$w" "$id"
    shift
  done
}
# The damaged copy is no longer recorded on its worker, and that worker no
# longer holds the chunk (with five workers, the new copy goes elsewhere).
replaced() {
  local d w id
  for d in "${damaged[@]}"; do
    w="${d%%:*}" id="${d#*:}"
    "$DFS" stat --json /a | grep -q "\"id\":\"$id\",\"size\":[0-9]*,\"sha256\":\"[0-9a-f]*\",\"replicas\":\[[^]]*\"$w\"" && return 1
    if has_chunk "$w" "$id"; then return 1; fi
  done
  whole
}
file_of() { echo "$RUN/worker-${1#w}/chunks/${2:0:2}/${2:2:2}/$2"; }
flip_data() { flip_chunk_byte "$1" "$2" 4128; }
truncate_file() { truncate -s 5000 "$(file_of "$1" "$2")"; }
delete_file() { rm "$(file_of "$1" "$2")"; }
scrub_round scrub-files 0 flip_data truncate_file delete_file
check "the scrubber finds a flipped byte, a truncated file and a deleted file; each chunk is repaired and the bad copy is gone" \
  eventually 60 replaced
check "...and every file reads back byte-identical" reads_back
"$ROOT/launch/down" --dir "$RUN" >/dev/null 2>&1

# A packed chunk's image, zeroed in its volume as a lost write would leave it.
zero_image() {
  local path offset bytes
  read -r _ path offset bytes <<<"$("$DFS_BUILD/bin/dfs-chunk" locate "$RUN/worker-${1#w}" "$2")"
  dd if=/dev/zero of="$path" bs=64K iflag=count_bytes oflag=seek_bytes seek="$offset" \
    count="$bytes" conv=notrunc status=none
}
flip_crc() {  # a changed byte in the block CRCs at the image's end
  local bytes
  read -r _ _ _ bytes <<<"$("$DFS_BUILD/bin/dfs-chunk" locate "$RUN/worker-${1#w}" "$2")"
  flip_chunk_byte "$1" "$2" $((bytes - 2))
}
scrub_round scrub-packed 1M flip_data zero_image flip_crc
check "packed chunks: the scrubber finds a flipped byte of data, a zeroed record and a flipped CRC; each is repaired and the bad copy is gone" \
  eventually 60 replaced
check "...and every file reads back byte-identical" reads_back
"$ROOT/launch/down" --dir "$RUN" >/dev/null 2>&1

# ---- a worker restarted with a wiped data directory is refilled ----
start_cluster wiped --masters 1 --workers 3 --chunk-size 1M \
  --master-flags "--dead-after-ms $DEAD_MS --suspect-after-ms 1000"
for f in a b c; do "$DFS" put -q "$WORK/$f" "/$f"; done
held="$(chunk_ids_on w2 | wc -l)"
kill -9 "$(pid_of worker-2)"
rm -rf "$RUN/worker-2/chunks" "$RUN/worker-2/volumes" "$RUN/worker-2/tmp"
"$ROOT/launch/up" --dir "$RUN" >/dev/null 2>&1
# With R=3 on 3 workers, the wiped one is the only place for the third copies.
refilled() { [ "$(chunk_ids_on w2 | wc -l)" -eq "$held" ] && whole; }
check "w2 restarted on a wiped disk is refilled with its $held chunks" eventually 60 refilled
check "...and every file reads back byte-identical" reads_back

# ---- rm gives the space back on every worker, and df shows it ----
df_used() { "$DFS" df --json | sed -n 's/.*"live_total":{"capacity":[0-9]*,"used":\([0-9]*\).*/\1/p'; }
used_before="$(df_used)"
for f in a b c; do "$DFS" rm "/$f"; done
no_chunks() {
  local w
  for w in $(. "$RUN/cluster.env" && seq 1 "$WORKERS"); do [ -z "$(chunk_ids_on "w$w")" ] || return 1; done
  [ "$(df_used)" = 0 ]
}
check "rm of every file: each worker's disk holds no chunk, and df's used goes from $used_before to 0" \
  eventually 30 no_chunks

finish
