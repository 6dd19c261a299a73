#!/usr/bin/env bash
# Ranged reads with real processes: dfs cat --offset --length against a local
# copy, at random and at every kind of boundary (chunk, CRC block, the end,
# past it, zero length); a block damaged on the replica read first is caught
# by its CRC, reported, and read from another replica.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Chunks of 4 MiB: several 1 MiB frames each, so a replica can fail after
# it gave part of a range.
start_cluster ranges --masters 1 --workers 3 --chunk-size 4M
CHUNK=$((4 << 20))
BLOCK=65536
SIZE=$((5 * CHUNK + 3 * BLOCK + 777))  # 6 chunks, the last short
head -c "$SIZE" /dev/urandom >"$WORK/f"
"$DFS" put -q "$WORK/f" /f

# same OFFSET LENGTH: dfs cat of the range succeeds with the local file's bytes.
same() {
  "$DFS" cat --offset "$1" --length "$2" /f >"$WORK/got" &&
    cmp -s "$WORK/got" <(tail -c +$(($1 + 1)) "$WORK/f" | head -c "$2")
}
cases=()
for k in 0 1 2 3 4 5; do  # around every chunk boundary
  b=$((k * CHUNK))
  cases+=("$b 1" "$((b > 0 ? b - 1 : 0)) 2" "$((b > 0 ? b - 7 : 0)) $CHUNK" "$b $((CHUNK + 1))")
done
for k in 1 2 17 79; do  # around CRC block boundaries
  b=$((k * BLOCK))
  cases+=("$((b - 1)) 1" "$((b - 1)) 2" "$b $BLOCK" "$((b + 1)) $((BLOCK - 2))" "$((b - 100)) 4096")
done
cases+=("0 $SIZE" "0 $((SIZE + 1000))" "$((SIZE - 1)) 1" "$((SIZE - 1)) 100" "$SIZE 10"
  "$((SIZE + 5)) 10" "12345 0" "0 0")
RANDOM=7
for _ in $(seq 1 60); do
  o=$(((RANDOM * 32768 + RANDOM) % (SIZE + 100)))
  l=$(((RANDOM * 32768 + RANDOM) % (3 * CHUNK)))
  cases+=("$o $l")
done
bad=""
for c in "${cases[@]}"; do
  # shellcheck disable=SC2086
  same $c || bad="$bad [$c]"
done
check "${#cases[@]} ranges read back as the local copy has them${bad:+ (wrong:$bad)}" [ -z "$bad" ]
check "a range past the end is empty" bash -c "'$DFS' cat --offset $((SIZE + 1)) /f >'$WORK/got' && [ ! -s '$WORK/got' ]"
check "--length alone reads from the start" \
  bash -c "'$DFS' cat --length 1000 /f >'$WORK/got' && cmp -s '$WORK/got' <(head -c 1000 '$WORK/f')"
expect_error "a malformed offset is a usage error" "offset" "$DFS" cat --offset lots /f
expect_error "a directory is no file to read" "directory" "$DFS" cat --offset 0 /

# ---- a damaged block on the replica read first ----
# Chunk 2 is read from its replica at position 2 % 3 first.
id="$("$DFS" stat --json /f | grep -o '"id":"[0-9a-f]*"' | sed -n 3p | cut -d'"' -f4)"
first="$(replica_lines /f | sed -n 3p | awk '{print $3}')"
check "the chunk is on $first's disk" has_chunk "$first" "$id"
# Block 32 of chunk 2, 2 MiB in: in the second 1 MiB frame of a range that
# starts 128 KiB before 1 MiB (the file's header is 128 bytes).
flip_chunk_byte "$first" "$id" $((128 + 32 * BLOCK + 40))
check "a range over the damaged block reads right all the same" \
  same $((2 * CHUNK + (1 << 20) - 2 * BLOCK)) $((3 << 19))
# Reported: the master lists the copy as corrupt, or has already replaced it.
reported() {
  local c
  c="$("$DFS" stat --json /f | grep -o "\"id\":\"$id\"[^}]*")"
  grep -q "\"corrupt\":\[\"$first\"\]" <<<"$c" || ! grep -q "\"$first\"" <<<"$c"
}
check "the damaged replica was reported to the master" eventually 10 reported
check "a range of that chunk outside the damage is still right" same $((2 * CHUNK)) $BLOCK

finish
