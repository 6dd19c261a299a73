#!/usr/bin/env bash
# Builds the fuzz targets with clang in build-fuzz/ and runs each: first over
# its kept corpus (tests/fuzz/corpus/TARGET: seeds and every crash ever
# found, as regression cases), then fuzzing from it for a bounded time.
#
#   tests/fuzz/run.sh [--seconds N] [--seeds] [TARGET...]
# --seconds: fuzzing time per target (default 30); --seeds: rewrite the
# seed files from make_seeds before running. A crash fails the run and
# leaves its input in build-fuzz/artifacts/; add it to the target's corpus
# once fixed.
source "$(dirname "${BASH_SOURCE[0]}")/../../launch/lib.sh"

seconds=30
write_seeds=0
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --seeds) write_seeds=1; shift ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_messages fuzz_header fuzz_path fuzz_keyring fuzz_key_file
  fuzz_chunk_header fuzz_bulk_open fuzz_namespace)

ensure_deps clang libclang-rt-14-dev
FUZZ_BUILD="$DFS_ROOT/build-fuzz"
if [ ! -f "$FUZZ_BUILD/build.ninja" ]; then
  CXX=clang++ cmake -S "$DFS_ROOT" -B "$FUZZ_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DDFS_FUZZ=ON -DDFS_BUILD_TESTS=OFF -DDFS_BUILD_BENCH=OFF >/dev/null
fi
cmake --build "$FUZZ_BUILD" -j "$(nproc)" --target "${targets[@]}" make_seeds \
  >"$FUZZ_BUILD/build-output.log" 2>&1 || {
  tail -40 "$FUZZ_BUILD/build-output.log" >&2
  die "fuzz build failed (full log: $FUZZ_BUILD/build-output.log)"
}
CORPUS="$DFS_ROOT/tests/fuzz/corpus"
[ "$write_seeds" = 1 ] && "$FUZZ_BUILD/bin/make_seeds" "$CORPUS"
ARTIFACTS="$FUZZ_BUILD/artifacts"
mkdir -p "$ARTIFACTS"

failed=()
for t in "${targets[@]}"; do
  bin="$FUZZ_BUILD/bin/$t"
  log_file="$FUZZ_BUILD/$t.log"
  [ -d "$CORPUS/$t" ] || die "no corpus for $t (run with --seeds)"
  # Every kept input once: the regression cases.
  if ! "$bin" -runs=0 -artifact_prefix="$ARTIFACTS/$t-" "$CORPUS/$t" >"$log_file" 2>&1; then
    failed+=("$t (a kept input)")
    tail -30 "$log_file" >&2
    continue
  fi
  # Fuzzing writes new inputs into a scratch copy, never into the kept corpus.
  work="$(mktemp -d)"
  cp "$CORPUS/$t"/* "$work"/
  if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -artifact_prefix="$ARTIFACTS/$t-" "$work" >>"$log_file" 2>&1; then
    log "$t: $(grep -o 'Done [0-9]* runs' "$log_file" | tail -1) in ${seconds}s, no crash"
  else
    failed+=("$t")
    tail -30 "$log_file" >&2
  fi
  rm -rf "$work"
done
[ ${#failed[@]} -eq 0 ] || die "fuzzing found crashes in: ${failed[*]} (inputs in $ARTIFACTS)"
