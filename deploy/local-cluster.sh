#!/usr/bin/env bash
# A local Tollgate cluster: N `tollgate serve` replicas on loopback behind HAProxy
# (deploy/haproxy.cfg). Installs nothing: it says what is missing.
#
#   local-cluster.sh up N PORT   start N replicas on free ports and HAProxy on 127.0.0.1:PORT,
#                                wait until HAProxy sees every replica up, print the cluster
#   local-cluster.sh restart I   restart replica I (1..N) gracefully: SIGTERM, wait for its
#                                drain and exit, start it on the same port, wait until it is
#                                up again, print the cluster
#   local-cluster.sh down        stop everything `up` started (by pid)
#
# The cluster is printed as one JSON object on stdout:
#   {"lb": "http://127.0.0.1:PORT", "replicas": [{"pid": 123, "url": "http://127.0.0.1:41234"}, ...]}
# Everything else goes to stderr.
#
# Environment: TOLLGATE_BIN (the binary; default target/release/tollgate of this checkout,
# else `tollgate` on PATH), TOLLGATE_CLUSTER_DIR (state: pids, ports, logs, the generated
# haproxy.cfg; default $TMPDIR/tollgate-cluster), TOLLGATE_CLUSTER_TIMEOUT (seconds to wait for
# health, default 60). Every other TOLLGATE_* variable reaches the replicas (`tollgate serve`
# reads its settings from them), e.g. TOLLGATE_HTTP_WORKERS=1. The key registry: with
# TOLLGATE_REGISTRY_URL (postgres://…) the replicas share it; without, each replica keeps its
# own embedded store in $dir/rI-data (an embedded store belongs to one process).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
dir="${TOLLGATE_CLUSTER_DIR:-${TMPDIR:-/tmp}/tollgate-cluster}"
timeout="${TOLLGATE_CLUSTER_TIMEOUT:-60}"

die() { echo "local-cluster: $*" >&2; exit 1; }
log() { echo "local-cluster: $*" >&2; }

tollgate_bin() {
  if [ -n "${TOLLGATE_BIN:-}" ]; then
    [ -x "$TOLLGATE_BIN" ] || die "TOLLGATE_BIN=$TOLLGATE_BIN is not an executable"
    echo "$TOLLGATE_BIN"
  elif [ -x "$here/../target/release/tollgate" ]; then
    echo "$here/../target/release/tollgate"
  elif command -v tollgate >/dev/null; then
    command -v tollgate
  else
    die "missing: the tollgate binary (cargo build --release -p tollgate, or set TOLLGATE_BIN)"
  fi
}

require_tools() {
  local missing=()
  command -v haproxy >/dev/null || missing+=("haproxy (Debian: apt-get install haproxy)")
  command -v curl >/dev/null || missing+=("curl (Debian: apt-get install curl)")
  [ ${#missing[@]} -eq 0 ] || die "missing: ${missing[*]}"
}

# Waits until CMD succeeds, at most $timeout seconds.
wait_for() {
  local what="$1"; shift
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || die "timed out after ${timeout}s waiting for $what"
    sleep 0.2
  done
}

# A process that exited but was not reaped yet (a zombie: its parent, this script's earlier
# run, is gone) counts as stopped.
alive() { kill -0 "$1" 2>/dev/null && ! grep -qs '^[0-9]* (.*) Z' "/proc/$1/stat"; }
stopped() { ! alive "$1"; }

lb_port() { cat "$dir/lb.port"; }
replica_count() { cat "$dir/replicas"; }

# Starts replica I on PORT (0: a free port); records its pid and port.
start_replica() {
  local i="$1" port="$2" bin log_file
  bin="$(tollgate_bin)"
  log_file="$dir/r$i.log"
  : >"$log_file"
  local store=()
  [ -n "${TOLLGATE_REGISTRY_URL:-}" ] || store=(--data-dir "$dir/r$i-data")
  # Every request reaches a replica from the balancer's address, so the balancer is one client
  # to admission: its share is the whole admission budget (the default admission_capacity).
  "$bin" serve --listen "127.0.0.1:$port" --client-share 8192 "${store[@]}" </dev/null >>"$log_file" 2>&1 &
  local pid=$!
  echo "$pid" >"$dir/r$i.pid"
  local deadline=$((SECONDS + timeout))
  local line=""
  until line="$(grep -m1 '^tollgate listening on ' "$log_file")"; do
    alive "$pid" || die "replica $i exited at start; see $log_file"
    [ $SECONDS -lt $deadline ] || die "replica $i did not start in ${timeout}s; see $log_file"
    sleep 0.1
  done
  echo "${line##*:}" >"$dir/r$i.port"
}

# haproxy.cfg with both replica blocks listing the replicas that were started.
write_haproxy_cfg() {
  local n="$1" i port lines_lb="" lines_metrics=""
  for i in $(seq 1 "$n"); do
    port="$(cat "$dir/r$i.port")"
    lines_lb+="    server r$i 127.0.0.1:$port"$'\n'
    lines_metrics+="    use-server r$i if { var(txn.replica) -m str r$i }"$'\n'
    lines_metrics+="    server r$i 127.0.0.1:$port"$'\n'
  done
  LB="$lines_lb" METRICS="$lines_metrics" awk '
    /# BEGIN replicas/ { print; block++; printf "%s", (block == 1 ? ENVIRON["LB"] : ENVIRON["METRICS"]); skip = 1; next }
    /# END replicas/ { skip = 0 }
    !skip { print }
  ' "$here/haproxy.cfg" >"$dir/haproxy.cfg"
}

# True when HAProxy's health checks have replica I up.
lb_sees_up() {
  curl -sf "http://127.0.0.1:$(lb_port)/haproxy/metrics" |
    grep -q "^haproxy_server_status{proxy=\"replicas\",server=\"r$1\",state=\"UP\"} 1"
}

wait_healthy() {
  local i="$1"
  wait_for "replica $i /readyz" curl -sf "http://127.0.0.1:$(cat "$dir/r$i.port")/readyz"
  wait_for "HAProxy to mark replica $i up" lb_sees_up "$i"
}

print_cluster() {
  local n i sep=""
  n="$(replica_count)"
  printf '{"lb": "http://127.0.0.1:%s", "replicas": [' "$(lb_port)"
  for i in $(seq 1 "$n"); do
    printf '%s{"pid": %s, "url": "http://127.0.0.1:%s"}' "$sep" "$(cat "$dir/r$i.pid")" "$(cat "$dir/r$i.port")"
    sep=", "
  done
  printf ']}\n'
}

up() {
  local n="${1:-}" port="${2:-}"
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "usage: $0 up N PORT (N replicas, at least 1)"
  [[ "$port" =~ ^[1-9][0-9]*$ ]] || die "usage: $0 up N PORT (HAProxy's port)"
  require_tools
  tollgate_bin >/dev/null
  if [ -f "$dir/lb.pid" ] && alive "$(cat "$dir/lb.pid")"; then
    die "a cluster is already up (state in $dir); run '$0 down' first"
  fi
  mkdir -p "$dir"
  rm -f "$dir"/*.pid "$dir"/*.port
  echo "$n" >"$dir/replicas"
  echo "$port" >"$dir/lb.port"
  local i
  for i in $(seq 1 "$n"); do
    start_replica "$i" 0
  done
  write_haproxy_cfg "$n"
  TOLLGATE_LB_BIND="127.0.0.1:$port" haproxy -D -p "$dir/lb.pid" -f "$dir/haproxy.cfg" \
    </dev/null >"$dir/haproxy.log" 2>&1 || die "haproxy did not start; see $dir/haproxy.log"
  for i in $(seq 1 "$n"); do
    wait_healthy "$i"
  done
  log "$n replicas up behind http://127.0.0.1:$port (state in $dir)"
  print_cluster
}

restart() {
  local i="${1:-}"
  [ -f "$dir/replicas" ] || die "no cluster is up (state in $dir)"
  [[ "$i" =~ ^[0-9]+$ ]] && [ "$i" -ge 1 ] && [ "$i" -le "$(replica_count)" ] ||
    die "usage: $0 restart I (1..$(replica_count))"
  require_tools
  local pid
  pid="$(cat "$dir/r$i.pid")"
  if alive "$pid"; then
    log "replica $i (pid $pid): SIGTERM, waiting for it to drain and exit"
    kill -TERM "$pid"
    # Drain grace, then at most the shutdown timeout; $timeout covers both with the defaults.
    wait_for "replica $i to exit" stopped "$pid"
  fi
  start_replica "$i" "$(cat "$dir/r$i.port")"
  wait_healthy "$i"
  log "replica $i back (pid $(cat "$dir/r$i.pid"))"
  print_cluster
}

down() {
  [ -d "$dir" ] || { log "nothing to stop"; return 0; }
  local f pid pids=()
  for f in "$dir"/lb.pid "$dir"/r*.pid; do
    [ -f "$f" ] || continue
    pid="$(cat "$f")"
    if alive "$pid"; then
      kill -TERM "$pid"
      pids+=("$pid")
    fi
    rm -f "$f"
  done
  for pid in "${pids[@]}"; do
    wait_for "pid $pid to exit" stopped "$pid"
  done
  rm -f "$dir/replicas" "$dir/lb.port"
  log "stopped ${#pids[@]} processes"
}

case "${1:-}" in
  up) shift; up "$@" ;;
  restart) shift; restart "$@" ;;
  down) down ;;
  *) die "usage: $0 up N PORT | restart I | down" ;;
esac
