# Shared by the launch/ scripts: dependencies, building, and the layout of a
# run directory. Sourced, not run.
#
# Run directory (default .dfs/ in the checkout):
#   cluster.env            settings of this cluster (base port, workers, ...)
#   master-M/              metadata (meta/), Raft log (raft/), log, pid
#   worker-N/              chunks, log, pid
# Ports: master M uses BASE+4(M-1) .. BASE+4(M-1)+3 (api, raft peers, events,
# jobs); worker N listens on BASE+100+2N (data) and BASE+101+2N (pipeline).

set -euo pipefail

DFS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DFS_BUILD="${DFS_BUILD:-$DFS_ROOT/build}"
DFS_BIN="$DFS_BUILD/bin"

DFS_PACKAGES=(build-essential cmake ninja-build pkg-config libzmq3-dev cppzmq-dev libmsgpack-cxx-dev
  librocksdb-dev libssl-dev libboost-program-options-dev libspdlog-dev libgtest-dev libgmock-dev
  libbenchmark-dev)

log() { echo "dfs: $*" >&2; }
die() { echo "dfs: error: $*" >&2; exit 1; }

# Installs whatever of DFS_PACKAGES is missing (needs root, or sudo).
ensure_deps() {
  local missing=()
  for p in "${DFS_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "missing packages (${missing[*]}); run as root or install them"
    sudo="sudo"
  fi
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Configures (once) and builds; incremental, so cheap when nothing changed.
build() {
  local build_type="${1:-Release}"
  shift || true
  if [ ! -f "$DFS_BUILD/build.ninja" ]; then
    cmake -S "$DFS_ROOT" -B "$DFS_BUILD" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" "$@" >/dev/null
  fi
  # The log lives in the build tree, which is never tracked.
  local build_log="$DFS_BUILD/build-output.log"
  cmake --build "$DFS_BUILD" -j "$(nproc)" >"$build_log" 2>&1 || {
    tail -40 "$build_log" >&2
    die "build failed (full log: $build_log)"
  }
}

# Reads --dir from the arguments (default .dfs in the checkout) into RUN_DIR.
RUN_DIR=""
resolve_run_dir() {
  RUN_DIR="${DFS_RUN_DIR:-$DFS_ROOT/.dfs}"
  while [ $# -gt 0 ]; do
    case "$1" in
      --dir) RUN_DIR="$2"; shift 2 ;;
      --dir=*) RUN_DIR="${1#--dir=}"; shift ;;
      *) shift ;;
    esac
  done
  mkdir -p "$RUN_DIR"
  RUN_DIR="$(cd "$RUN_DIR" && pwd)"
}

load_settings() {
  BASE_PORT=7400 MASTERS=3 WORKERS=3 CAPACITY=0 CHUNK_SIZE=64M HOST=127.0.0.1 REPLICATION="" WORKER_FLAGS="" MASTER_FLAGS=""
  # shellcheck disable=SC1091
  [ -f "$RUN_DIR/cluster.env" ] && . "$RUN_DIR/cluster.env"
  return 0
}

save_settings() {
  cat >"$RUN_DIR/cluster.env" <<ENV
BASE_PORT=$BASE_PORT
MASTERS=$MASTERS
WORKERS=$WORKERS
CAPACITY=$CAPACITY
CHUNK_SIZE=$CHUNK_SIZE
HOST=$HOST
REPLICATION=$REPLICATION
WORKER_FLAGS="$WORKER_FLAGS"
MASTER_FLAGS="$MASTER_FLAGS"
ENV
}

master_port() { echo $((BASE_PORT + 4 * ($1 - 1))); }
master_endpoint() { echo "$HOST:$(master_port "${1:-1}")"; }
# Every master's api endpoint, comma-separated (what --masters and DFS_MASTERS take).
master_list() {
  local i out=""
  for i in $(seq 1 "$MASTERS"); do out="$out${out:+,}$(master_endpoint "$i")"; done
  echo "$out"
}
# The founding members as dfs-master --peers takes them: 1=host:port,...
master_peers() {
  local i out=""
  for i in $(seq 1 "$MASTERS"); do out="$out${out:+,}$i=$(master_endpoint "$i")"; done
  echo "$out"
}
worker_port() { echo $((BASE_PORT + 100 + 2 * $1)); }

# The pid in $1/pid if that process is alive and is a dfs binary, else "".
running_pid() {
  local f="$1/pid"
  [ -f "$f" ] || return 0
  local pid
  pid="$(cat "$f")"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -q "dfs-" "/proc/$pid/cmdline" 2>/dev/null; then
    echo "$pid"
  fi
}

# Every process directory of the run directory: masters first, then workers.
process_dirs() {
  local d
  for d in "$RUN_DIR"/master-* "$RUN_DIR"/worker-*; do
    [ -d "$d" ] && echo "$d"
  done
  return 0
}
