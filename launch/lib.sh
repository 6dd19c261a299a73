# Shared by the launch/ scripts: dependencies, building, and the layout of a
# run directory. Sourced, not run.
#
# Run directory (default .dfs/ in the checkout):
#   cluster.env            settings of this cluster (base port, workers, ...)
#   dfs.conf               what a client needs: masters, its key, the keyring
#   keys/                  CURVE key pairs (NAME.key secret, NAME.pub public) of
#                          every master (m1..), worker (w1..) and the admin, and
#                          the keyring: which keys may connect, as what
#   master-M/              metadata (meta/), Raft log (raft/), log, pid
#   worker-N/              chunks, log, pid
# Ports: master M uses BASE+4(M-1) .. BASE+4(M-1)+3 (api, raft peers, events,
# jobs); worker N listens on BASE+100+2N (data) and BASE+101+2N (pipeline);
# the S3 gateway (s3/: credentials, log, pid) on BASE+90.

set -euo pipefail

DFS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DFS_BUILD="${DFS_BUILD:-$DFS_ROOT/build}"
DFS_BIN="$DFS_BUILD/bin"

DFS_PACKAGES=(build-essential cmake ninja-build pkg-config libzmq3-dev cppzmq-dev libmsgpack-cxx-dev libfuse3-dev fuse3
  libcpp-httplib-dev libpugixml-dev
  librocksdb-dev libssl-dev libboost-program-options-dev libspdlog-dev libgtest-dev libgmock-dev
  libbenchmark-dev ccache)

log() { echo "dfs: $*" >&2; }
die() { echo "dfs: error: $*" >&2; exit 1; }

# Installs whatever of DFS_PACKAGES (and the packages named) is missing
# (needs root, or sudo).
ensure_deps() {  # ensure_deps [MORE-PACKAGES...]
  local missing=()
  for p in "${DFS_PACKAGES[@]}" "$@"; do
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
  BASE_PORT=7400 MASTERS=3 WORKERS=3 CAPACITY=0 CHUNK_SIZE=64M HOST=127.0.0.1 REPLICATION="" WORKER_FLAGS="" MASTER_FLAGS="" INSECURE=0
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
INSECURE=$INSECURE
ENV
}

# ---- keys ----
KEYS_DIR() { echo "$RUN_DIR/keys"; }
public_key_of() { sed -n 's/^public-key = //p' "$1"; }
# add_key ROLE NAME [ATTRIBUTES [KEYGEN-FLAGS]]: makes NAME's key pair unless
# it exists, and lists it in the keyring unless it is there.
add_key() {
  local role="$1" name="$2" attrs="${3:-}" flags="${4:-}" dir
  dir="$(KEYS_DIR)"
  # shellcheck disable=SC2086  # flags are words
  [ -f "$dir/$name.key" ] || env -u DFS_CONFIG "$DFS_BIN/dfs" keygen $flags "$dir/$name" >/dev/null
  if ! awk -v n="$name" '$2 == n {found=1} END {exit !found}' "$dir/keyring"; then
    # The public key as the secret key file has it (the .pub is a copy).
    echo "$role $name $(public_key_of "$dir/$name.key")${attrs:+ $attrs}" >>"$dir/keyring"
  fi
}
# The cluster's keys, made on first start: one pair per master and worker,
# one for the admin (the client key the local dfs uses), and the masters'
# ticket key, whose public half tells workers which chunk tickets are real.
# Running processes reread the keyring when it changes.
ensure_keys() {
  [ "$INSECURE" = 1 ] && return 0
  local dir i
  dir="$(KEYS_DIR)"
  mkdir -p "$dir"
  chmod 700 "$dir"
  [ -f "$dir/keyring" ] || echo "# ROLE NAME PUBLIC-KEY [groups=...] [endpoint=HOST:PORT]" >"$dir/keyring"
  for i in $(seq 1 "$MASTERS"); do add_key master "m$i" "endpoint=$(master_endpoint "$i")"; done
  for i in $(seq 1 "$WORKERS"); do add_key worker "w$i"; done
  add_key admin admin
  add_key ticket ticket "" --ticket
}
# The security flags of process NAME (m1, w2, ...).
security_flags() {
  if [ "$INSECURE" = 1 ]; then echo "--insecure"; return; fi
  echo "--key $(KEYS_DIR)/$1.key --keyring $(KEYS_DIR)/keyring"
  case "$1" in m*) echo "--ticket-key $(KEYS_DIR)/ticket.key" ;; esac
}
# `dfs` as the cluster's admin, whatever DFS_* settings the caller's shell has.
admin_dfs() {
  env -u DFS_KEY -u DFS_KEYRING -u DFS_INSECURE DFS_CONFIG="$RUN_DIR/dfs.conf" "$DFS_BIN/dfs" "$@"
}
# What `dfs` and dfs-monitor read (DFS_CONFIG, or found in <checkout>/.dfs).
write_client_config() {
  {
    echo "masters = $(master_list)"
    if [ "$INSECURE" = 1 ]; then
      echo "insecure = true"
    else
      echo "key = $(KEYS_DIR)/admin.key"
      echo "keyring = $(KEYS_DIR)/keyring"
    fi
  } >"$RUN_DIR/dfs.conf"
}

master_port() { echo $((BASE_PORT + 4 * ($1 - 1))); }
s3_port() { echo $((BASE_PORT + 90)); }
# The S3 gateway's access keys (s3/credentials, 0600): one for the admin,
# made on first start, its secret random. Prints nothing.
ensure_s3_credentials() {
  local dir="$RUN_DIR/s3" file="$RUN_DIR/s3/credentials" secret key
  mkdir -p "$dir"
  chmod 700 "$dir"
  [ -f "$file" ] && return 0
  secret="$(head -c 30 /dev/urandom | base64 | tr -d '/+=\n' | head -c 40)"
  key="$([ "$INSECURE" = 1 ] && echo - || echo "$(KEYS_DIR)/admin.key")"
  (umask 077 && printf '# ACCESS-KEY-ID SECRET-ACCESS-KEY DFS-KEY-FILE (- : the gateway'"'"'s own key)\ndfsadmin %s %s\n' "$secret" "$key" >"$file")
}
s3_access_key() { awk '!/^#/ && NF == 3 {print $1; exit}' "$RUN_DIR/s3/credentials"; }
s3_secret_key() { awk '!/^#/ && NF == 3 {print $2; exit}' "$RUN_DIR/s3/credentials"; }
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
  for d in "$RUN_DIR"/master-* "$RUN_DIR"/worker-* "$RUN_DIR"/s3; do
    [ -d "$d" ] && echo "$d"
  done
  return 0
}
