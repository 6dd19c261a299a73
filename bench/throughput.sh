#!/usr/bin/env bash
# Throughput of dfs put/get against this machine's raw disk, in one run:
#   raw write: dd of the input with fsync      raw read: dd of that copy
#   put:       dfs put at replication R        get:      dfs get to a local file
# for each R in --replications and each master count in --masters (a
# group of 1 or 3: the metadata's replication must not slow the data),
# each on a fresh cluster. On one machine
# every replica shares one disk, so the ceiling for a put is raw write / R.
# Also prints the peak RSS of the client and of each worker during the put
# (VmHWM), and the client's peak for a smaller file, to show memory does
# not grow with file size. Page cache is dropped before each read where
# the kernel allows it (it says so when it cannot). Each cluster runs with
# CURVE on every socket and again with --insecure (--modes), and the ratio of
# the two is printed at the end: what encryption and authentication cost.
# With --mount yes (the default) the same 1 GiB also goes through `dfs mount`
# (dd bs=4M in and out), next to the CLI's figures. --moosefs SCRIPT-OR-FILE
# runs a MooseFS benchmark script (or reads its saved output) that prints
# "moosefs_seq_read_...: MB/s" and "moosefs_seq_write_...: MB/s" lines, and
# the mount's figures are compared with MooseFS's FUSE mount. With --s3 yes
# (the default when awscli is installed) the 1 GiB also goes through the
# cluster's S3 gateway: aws s3 cp with awscli's defaults (a multipart upload
# of 8 MiB parts, 10 at once, and ranged GETs likewise), and as one PUT and
# one GET.
#
#   bench/throughput.sh [--size-mb N] [--workers N] [--chunk-size S] [--replications "1 2 3"]
#                       [--masters "1 3"] [--modes "curve insecure"] [--mount yes|no]
#                       [--moosefs SCRIPT-OR-FILE] [--ceph SCRIPT-OR-FILE] [--hw SCRIPT-OR-FILE]
#                       [--rounds N] [--dir D]
#
# --ceph and --hw run a peer script (a path ending in .sh, as in ../shared/
# peers/: ceph_bench.sh, hw_limits.sh) after dfs's runs, in the same sitting,
# or read its saved output; then dfs's put and get at R=3 (CURVE, the median
# over --rounds) are printed as ratios of Ceph's 4M rados bench write and
# seq read and of the disk's O_DIRECT write divided by R.
#
# --rounds N runs the modes N times, taking turns (curve, insecure, curve...),
# and the ratio line compares each mode's median: on a shared VM one run of
# each can differ by 20% from the next for reasons of the machine's own.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SIZE_MB=1024 WORKERS=3 CHUNK=64M DIR="" REPLICATIONS="1 2 3" SMALL_MB=256 MASTER_COUNTS="3"
MODES="curve insecure" MOUNT=yes MOOSEFS="" ROUNDS=1 CEPH="" HW="" S3=$(command -v aws >/dev/null && echo yes || echo no)
while [ $# -gt 0 ]; do
  case "$1" in
    --size-mb) SIZE_MB="$2"; shift 2 ;;
    --workers) WORKERS="$2"; shift 2 ;;
    --chunk-size) CHUNK="$2"; shift 2 ;;
    --replications) REPLICATIONS="$2"; shift 2 ;;
    --masters) MASTER_COUNTS="$2"; shift 2 ;;
    --modes) MODES="$2"; shift 2 ;;
    --dir) DIR="$2"; shift 2 ;;
    --mount) MOUNT="$2"; shift 2 ;;
    --moosefs) MOOSEFS="$2"; shift 2 ;;
    --s3) S3="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --ceph) CEPH="$2"; shift 2 ;;
    --hw) HW="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
DIR="${DIR:-$(mktemp -d "${TMPDIR:-/tmp}/dfs-bench-XXXXXX")}"
mkdir -p "$DIR"
DFS="$ROOT/build/bin/dfs"
RUN=""
OUT_DIR=""
MNT=""
cleanup() {
  [ -z "$MNT" ] || fusermount3 -u -z "$MNT" 2>/dev/null || true
  [ -z "$RUN" ] || "$ROOT/launch/down" --dir "$RUN" >/dev/null 2>&1 || true
  [ -z "$OUT_DIR" ] || [ "$OUT_DIR" = "$DIR" ] || rm -rf "$OUT_DIR"
  rm -rf "$DIR"
}
trap cleanup EXIT

drop_caches() {
  sync
  if echo 3 >/proc/sys/vm/drop_caches 2>/dev/null; then CACHE="dropped"; else CACHE="NOT dropped (no permission)"; fi
}
seconds() { local s=$EPOCHREALTIME; "$@"; awk -v a="$s" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }'; }
rate() { awk -v mb="$1" -v t="$2" 'BEGIN { printf "%.1f", mb * 1.048576 / t }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", 100 * a / b }'; }
hwm_mb() { awk '/^VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "?"; }
# children_cpu: sets CHILDREN_CPU to the CPU seconds (user + system) of the
# children this shell has waited for so far. It is called in the subshell
# that runs one measured command, so that is the command's CPU. It is never
# called in $(...): a pipe or a command substitution forks, and a forked
# shell's children start at zero, so `times` is redirected to a file.
children_cpu() {
  times >"$DIR/times.out"
  CHILDREN_CPU=$(awk 'NR == 2 { n = 0; for (i = 1; i <= 2; i++) { split($i, p, /[ms]/); n += p[1] * 60 + p[2] }
                                printf "%.2f", n }' "$DIR/times.out")
}
# daemon_cpu RUN: CPU seconds (user + system) the cluster's daemons have used.
daemon_cpu() {
  local ticks=0 f pid
  for f in "$1"/*/pid; do
    pid="$(cat "$f")"
    [ -r "/proc/$pid/stat" ] || continue
    # utime and stime: fields 14 and 15, counted after the "(name)" field.
    local t
    # 0 for a daemon that exited in between.
    t=$(awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$pid/stat" 2>/dev/null) || t=0
    ticks=$((ticks + ${t:-0}))
  done
  awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }'
}
# timed COMMAND...: runs it, prints "SECONDS CPU_SECONDS" (its CPU time).
timed() {
  local s=$EPOCHREALTIME
  "$@"
  local e=$EPOCHREALTIME
  children_cpu
  awk -v a="$s" -v b="$e" -v c="$CHILDREN_CPU" 'BEGIN { print b - a, c }'
}
# peak_rss_of COMMAND...: runs it, prints "SECONDS PEAK_MB CPU_SECONDS" (peak
# sampled from VmHWM, which only grows, until the process exits).
peak_rss_of() {
  local s=$EPOCHREALTIME
  "$@" &
  local pid=$!
  # The sampler is a process of its own, waited for only after the command's
  # CPU is read: its sleeps and awks are not the command's.
  (
    peak=0
    while kill -0 "$pid" 2>/dev/null; do
      now="$(hwm_mb "$pid")"
      [[ "$now" =~ ^[0-9]+$ ]] && [ "$now" -gt "$peak" ] && peak=$now
      sleep 0.05
    done
    echo "$peak"
  ) >"$DIR/peak.out" &
  local sampler=$!
  wait "$pid"
  local e=$EPOCHREALTIME
  children_cpu
  wait "$sampler"
  awk -v a="$s" -v b="$e" -v p="$(cat "$DIR/peak.out")" -v c="$CHILDREN_CPU" 'BEGIN { print b - a, p, c }'
}

head -c $((SIZE_MB << 20)) /dev/urandom >"$DIR/input"
SMALL_MB=$((SMALL_MB < SIZE_MB ? SMALL_MB : SIZE_MB))
head -c $((SMALL_MB << 20)) "$DIR/input" >"$DIR/small"
t_raw_write=$(seconds dd if="$DIR/input" of="$DIR/raw" bs=1M conv=fsync status=none)
drop_caches
t_raw_read=$(seconds dd if="$DIR/raw" of=/dev/null bs=1M status=none)
rm -f "$DIR/raw"
raw_w=$(rate "$SIZE_MB" "$t_raw_write") raw_r=$(rate "$SIZE_MB" "$t_raw_read")

# The get writes into tmpfs when there is room, so it is compared with the
# raw read on equal terms (dd reads to /dev/null); writing the copy back to
# the same disk would measure that disk's write speed instead.
OUT_DIR="$DIR"
if [ -d /dev/shm ] && [ "$(df -Pk /dev/shm | awk 'NR==2 { print $4 }')" -gt $(((SIZE_MB + 64) * 1024)) ]; then
  OUT_DIR="$(mktemp -d /dev/shm/dfs-bench-XXXXXX)"
fi
GET_TO="$([ "$OUT_DIR" = "$DIR" ] && echo "the same disk" || echo "tmpfs")"

printf 'dfs throughput, %d MiB, %d workers, chunk %s\n' "$SIZE_MB" "$WORKERS" "$CHUNK"
printf '  %-24s %8s MB/s\n' "raw write (dd, fsync)" "$raw_w" "raw read (dd)" "$raw_r"
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "--rounds takes a number >= 1" >&2; exit 2; }
# median "A B C...": the middle figure (the lower middle of an even count).
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
declare -A PUT GET MPUT MGET
for m in $MASTER_COUNTS; do
for r in $REPLICATIONS; do
for round in $(seq 1 "$ROUNDS"); do
for mode in $MODES; do
  RUN="$DIR/cluster-m$m-r$r-$mode-$round"
  port=$((10000 + RANDOM % 20000))
  "$ROOT/launch/up" --dir "$RUN" --base-port "$port" --masters "$m" --workers "$WORKERS" \
    --chunk-size "$CHUNK" --replication "$r" $([ "$mode" = insecure ] && echo --insecure) >/dev/null 2>&1
  export DFS_MASTERS="127.0.0.1:$port" DFS_CONFIG="$RUN/dfs.conf"
  # A running cluster, not one just started: the smaller file goes in and
  # out first, so connections, bulk sessions and pipeline routes are up and
  # the daemons' heaps have grown (a page fault costs microseconds in a VM).
  read -r t_small small_mb _ < <(peak_rss_of "$DFS" put -q "$DIR/small" /small)
  "$DFS" get -q /small "$OUT_DIR/output" && rm -f "$OUT_DIR/output"
  cat "$DIR/input" >/dev/null  # in page cache, as a put of a fresh file finds it
  cpu0=$(daemon_cpu "$RUN")
  read -r t_put client_mb put_client_cpu < <(peak_rss_of "$DFS" put -q "$DIR/input" /bench)
  cpu1=$(daemon_cpu "$RUN")
  workers_mb=""
  for d in "$RUN"/worker-*; do workers_mb+="$(hwm_mb "$(cat "$d/pid")") "; done
  drop_caches
  cpu2=$(daemon_cpu "$RUN")
  read -r t_get get_client_cpu < <(timed "$DFS" get -q /bench "$OUT_DIR/output")
  cpu3=$(daemon_cpu "$RUN")
  cmp -s "$DIR/input" "$OUT_DIR/output" || { echo "bench: get returned different bytes" >&2; exit 1; }
  rm -f "$OUT_DIR/output"
  if [ "$MOUNT" = yes ]; then
    MNT="$DIR/mnt"
    mkdir -p "$MNT"
    "$DFS" mount "$MNT"
    cat "$DIR/input" >/dev/null
    # dd's close is the commit: the time includes it.
    t_mput=$(seconds dd if="$DIR/input" of="$MNT/bench-mount" bs=4M status=none)
    drop_caches
    t_mget=$(seconds dd if="$MNT/bench-mount" of=/dev/null bs=4M status=none)
    cmp -s "$DIR/input" "$MNT/bench-mount" || { echo "bench: the mount returned different bytes" >&2; exit 1; }
    fusermount3 -u "$MNT"
    MNT=""
  fi
  if [ "$S3" = yes ]; then
    s3_endpoint="http://127.0.0.1:$((port + 90))"
    s3() {
      env -u AWS_CA_BUNDLE AWS_EC2_METADATA_DISABLED=true AWS_SHARED_CREDENTIALS_FILE=/dev/null \
        AWS_CONFIG_FILE="$DIR/aws.conf" AWS_DEFAULT_REGION=us-east-1 \
        AWS_ACCESS_KEY_ID="$(awk '!/^#/ && NF == 3 {print $1; exit}' "$RUN/s3/credentials")" \
        AWS_SECRET_ACCESS_KEY="$(awk '!/^#/ && NF == 3 {print $2; exit}' "$RUN/s3/credentials")" \
        aws --endpoint-url "$s3_endpoint" "$@"
    }
    # awscli as it comes (multipart above 8 MiB), then one PUT and one GET.
    s3 s3 mb s3://s3bench >/dev/null
    cat "$DIR/input" >/dev/null
    for way in multipart single; do
      if [ "$way" = multipart ]; then
        printf '[default]\ns3 =\n  addressing_style = path\n' >"$DIR/aws.conf"
      else
        printf '[default]\ns3 =\n  multipart_threshold = 8GB\n  addressing_style = path\n' >"$DIR/aws.conf"
      fi
      t=$(seconds s3 s3 cp --quiet "$DIR/input" "s3://s3bench/$way")
      drop_caches
      t_get_way=$(seconds s3 s3 cp --quiet "s3://s3bench/$way" "$OUT_DIR/output")
      cmp -s "$DIR/input" "$OUT_DIR/output" || { echo "bench: the gateway returned different bytes" >&2; exit 1; }
      rm -f "$OUT_DIR/output"
      s3 s3 rm --quiet "s3://s3bench/$way"
      if [ "$way" = multipart ]; then t_sput=$t t_sget=$t_get_way; else t_s1put=$t t_s1get=$t_get_way; fi
    done
  fi
  "$ROOT/launch/down" --dir "$RUN" >/dev/null 2>&1
  rm -rf "$RUN"  # R GiB of chunks per cluster
  put=$(rate "$SIZE_MB" "$t_put") get=$(rate "$SIZE_MB" "$t_get")
  ceiling=$(awk -v w="$raw_w" -v r="$r" 'BEGIN { printf "%.1f", w / r }')
  PUT[$m-$r-$mode]+="$put " GET[$m-$r-$mode]+="$get "
  printf 'R=%d, %d master(s), %s%s (page cache %s)\n' "$r" "$m" "$mode" \
    "$([ "$ROUNDS" -gt 1 ] && echo ", round $round")" "$CACHE"
  printf '  %-24s %8s MB/s  %5s%% of raw write / R (%s MB/s)\n' "dfs put" "$put" "$(pct "$put" "$ceiling")" "$ceiling"
  printf '  %-24s %8s MB/s  %5s%% of raw read\n' "dfs get (to $GET_TO)" "$get" "$(pct "$get" "$raw_r")"
  if [ "$MOUNT" = yes ]; then
    mput=$(rate "$SIZE_MB" "$t_mput") mget=$(rate "$SIZE_MB" "$t_mget")
    MPUT[$m-$r-$mode]=$mput MGET[$m-$r-$mode]=$mget
    printf '  %-24s %8s MB/s  %5s%% of dfs put\n' "mount write (dd bs=4M)" "$mput" "$(pct "$mput" "$put")"
    printf '  %-24s %8s MB/s  %5s%% of dfs get\n' "mount read (dd bs=4M)" "$mget" "$(pct "$mget" "$get")"
  fi
  if [ "$S3" = yes ]; then
    sput=$(rate "$SIZE_MB" "$t_sput") sget=$(rate "$SIZE_MB" "$t_sget")
    s1put=$(rate "$SIZE_MB" "$t_s1put") s1get=$(rate "$SIZE_MB" "$t_s1get")
    printf '  %-24s %8s MB/s  %5s%% of dfs put\n' "S3 PUT (aws s3 cp)" "$sput" "$(pct "$sput" "$put")"
    printf '  %-24s %8s MB/s  %5s%% of dfs get\n' "S3 GET (aws s3 cp)" "$sget" "$(pct "$sget" "$get")"
    printf '  %-24s %8s MB/s  %5s%% of dfs put\n' "S3 one PUT" "$s1put" "$(pct "$s1put" "$put")"
    printf '  %-24s %8s MB/s  %5s%% of dfs get\n' "S3 one GET" "$s1get" "$(pct "$s1get" "$get")"
  fi
  # CPU per GiB moved: on a machine whose cores the client and every daemon
  # share, what a mode costs in CPU bounds its throughput.
  per_gib() { awk -v c="$1" -v mb="$SIZE_MB" 'BEGIN { printf "%.2f", c * 1024 / mb }'; }
  printf '  %-24s put: client %s, daemons %s; get: client %s, daemons %s (CPU s per GiB)\n' \
    "CPU used" "$(per_gib "$put_client_cpu")" "$(per_gib "$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { print b - a }')")" \
    "$(per_gib "$get_client_cpu")" "$(per_gib "$(awk -v a="$cpu2" -v b="$cpu3" 'BEGIN { print b - a }')")"
  printf '  %-24s %8s MB/s  (the %d MiB warm-up: connections, sessions and routes start)\n' \
    "first put, fresh cluster" "$(rate "$SMALL_MB" "$t_small")" "$SMALL_MB"
  printf '  %-24s client %s MB (%s MB for a %d MiB file); workers %s MB\n' "peak RSS during put" \
    "$client_mb" "$small_mb" "$SMALL_MB" "$(echo $workers_mb | tr ' ' '/')"
done
done
if [ -n "${PUT[$m-$r-curve]:-}" ] && [ -n "${PUT[$m-$r-insecure]:-}" ]; then
  if [ "$ROUNDS" -gt 1 ]; then
    for mode in curve insecure; do
      printf '  %-24s put %s, get %s MB/s (medians of put %s, get %s)\n' "$mode, $ROUNDS rounds" \
        "$(median "${PUT[$m-$r-$mode]}")" "$(median "${GET[$m-$r-$mode]}")" \
        "$(echo ${PUT[$m-$r-$mode]} | tr ' ' /)" "$(echo ${GET[$m-$r-$mode]} | tr ' ' /)"
    done
  fi
  printf '  %-24s put %s%%, get %s%% of --insecure (R=%d, %d master(s))\n' "with CURVE" \
    "$(pct "$(median "${PUT[$m-$r-curve]}")" "$(median "${PUT[$m-$r-insecure]}")")" \
    "$(pct "$(median "${GET[$m-$r-curve]}")" "$(median "${GET[$m-$r-insecure]}")")" "$r" "$m"
fi
done
done

# MooseFS's FUSE mount, same machine, same sitting: its dd 1 GiB write and
# cold read, next to the mount's at R=3 (MooseFS goal 3).
if [ -n "$MOOSEFS" ] && [ "$MOUNT" = yes ]; then
  if [ -x "$MOOSEFS" ] && [ ! -d "$MOOSEFS" ]; then
    SIZE_MB="$SIZE_MB" REPS="${REPS:-1}" "$MOOSEFS" >"$DIR/moosefs.out" 2>&1 || true
  else
    cp "$MOOSEFS" "$DIR/moosefs.out"
  fi
  mfs_w=$(awk '/^moosefs_seq_write_/ {print $2}' "$DIR/moosefs.out")
  mfs_r=$(awk '/^moosefs_seq_read_/ {print $2}' "$DIR/moosefs.out")
  if [ -z "$mfs_r" ]; then
    echo "MooseFS: no figures ($(tail -1 "$DIR/moosefs.out"))"
  else
    key="$(echo "$MASTER_COUNTS" | awk '{print $NF}')-3-$(echo "$MODES" | awk '{print $1}')"
    printf 'MooseFS FUSE mount, goal 3: write %s MB/s, read %s MB/s\n' "$mfs_w" "$mfs_r"
    if [ -n "${MGET[$key]:-}" ]; then
      printf '  %-24s write %sx, read %sx MooseFS (R=3, %s)\n' "dfs mount" \
        "$(awk -v a="${MPUT[$key]}" -v b="$mfs_w" 'BEGIN { printf "%.2f", a / b }')" \
        "$(awk -v a="${MGET[$key]}" -v b="$mfs_r" 'BEGIN { printf "%.2f", a / b }')" "${key##*-}"
    fi
  fi
fi

# Ceph and the disk's limits, same machine, same sitting (their scripts get
# the machine to themselves: every dfs cluster is down by now).
peer_output() {  # SCRIPT-OR-FILE: runs a .sh, else reads saved output
  if [[ "$1" == *.sh ]]; then bash "$1" 2>/dev/null || true; else cat "$1" || true; fi
}
figure() { awk -v k="$1:" '$1 == k { print $2 }' <<<"$2"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
if [[ " $REPLICATIONS " == *" 3 "* ]] && [[ " $MODES " == *" curve "* ]] && { [ -n "$CEPH" ] || [ -n "$HW" ]; }; then
  key="$(echo "$MASTER_COUNTS" | awk '{print $NF}')-3-curve"
  dput=$(median "${PUT[$key]}") dget=$(median "${GET[$key]}")
  echo "peers, same sitting (dfs at R=3 with CURVE: put $dput, get $dget MB/s)"
  if [ -n "$CEPH" ]; then
    ceph_out="$(peer_output "$CEPH")"
    cw=$(figure ceph_rados_write_4M_t16_MB_s "$ceph_out") cr=$(figure ceph_rados_seqread_4M_t16_MB_s "$ceph_out")
    printf '  %-34s %8s MB/s   dfs put %sx (target >= 1.2)\n' "Ceph 4M write (rados bench, t=16)" "${cw:-?}" "$(ratio "$dput" "$cw")"
    printf '  %-34s %8s MB/s   dfs get %sx (target >= 1.1)\n' "Ceph 4M seq read" "${cr:-?}" "$(ratio "$dget" "$cr")"
  fi
  if [ -n "$HW" ]; then
    hw_out="$(peer_output "$HW")"
    od=$(figure disk_seq_write_1GiB_bs4M_oflag_direct "$hw_out")
    od3=$(awk -v d="$od" 'BEGIN { if (d > 0) printf "%.1f", d / 3; else print "" }')
    printf '  %-34s %8s MB/s   dfs put %s%% (target >= 60%%)\n' "disk O_DIRECT write / 3" "${od3:-?}" \
      "$(awk -v a="$dput" -v b="$od3" 'BEGIN { if (b > 0) printf "%.0f", 100 * a / b; else print "n/a" }')"
  fi
fi
