#!/usr/bin/env bash
# Scale-out benchmark (bench/RESULTS.md "## Scale-out"): `tollgate load` through HAProxy
# (deploy/local-cluster.sh) with 1, 2 and 3 replicas, and directly against the one replica for
# the balancer's overhead (direct and balanced rounds alternate, medians); then the latency of a
# load run through a graceful restart of one replica and through a SIGKILL of another.
# Prints the markdown section on stdout.
#
#   bash bench/scale-out.sh [ROUNDS] [SECONDS] [CLIENTS] [ITEMS]     (default 5 4 4 64)
#
# TOLLGATE_BIN=path runs that binary instead of a fresh release build.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-5}" seconds="${2:-4}" clients="${3:-4}" items="${4:-64}"

# TOLLGATE_BIN: a tollgate binary already built; otherwise a release build.
if [ -z "${TOLLGATE_BIN:-}" ]; then
  cargo build --release --locked -p tollgate >&2
  TOLLGATE_BIN="${CARGO_TARGET_DIR:-$PWD/target}/release/tollgate"
fi
export TOLLGATE_BIN
export TOLLGATE_CLUSTER_DIR TOLLGATE_LOG=warn
TOLLGATE_CLUSTER_DIR="$(mktemp -d)"
cluster=deploy/local-cluster.sh
trap 'bash $cluster down >/dev/null 2>&1 || true; rm -rf "$TOLLGATE_CLUSTER_DIR"' EXIT
port="${TOLLGATE_BENCH_PORT:-18080}"
batch="$TOLLGATE_CLUSTER_DIR/batch.json"
"$TOLLGATE_BIN" gen-batch -n "$items" --corrupt-at 5 --seed 1 --out "$batch" 2>/dev/null

# One load run against URL for S seconds: its JSON report.
load() { "$TOLLGATE_BIN" load --server "$1" --batch "$batch" --clients "$clients" --duration "$2" --json; }
field() { python3 -c "import json,sys; r=json.load(sys.stdin); print($1)"; }
median() { python3 -c "import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))" "$@"; }

declare -A rate
direct=()
for n in 1 2 3; do
  info="$(bash $cluster up "$n" "$port")"
  lb="$(echo "$info" | field 'r["lb"]')"
  replica="$(echo "$info" | field 'r["replicas"][0]["url"]')"
  runs=()
  for _ in $(seq "$rounds"); do
    if [ "$n" = 1 ]; then
      direct+=("$(load "$replica" "$seconds" | field 'r["signatures_per_s"]')")
    fi
    runs+=("$(load "$lb" "$seconds" | field 'r["signatures_per_s"]')")
  done
  rate[$n]="$(median "${runs[@]}")"
  echo "replicas $n: ${runs[*]} signatures/s" >&2
  [ "$n" = 3 ] || bash $cluster down >&2
done
rate[direct]="$(median "${direct[@]}")"
echo "direct: ${direct[*]} signatures/s" >&2

# The 3-replica cluster is still up: restart replica 2 within a load run, then kill replica 3.
disruption() {
  local what="$1" out="$TOLLGATE_CLUSTER_DIR/$1.json"
  load "$lb" 12 >"$out" &
  local running=$!
  sleep 2
  if [ "$what" = restart ]; then
    bash $cluster restart 2 >/dev/null
  else
    kill -KILL "$(echo "$info" | field 'r["replicas"][2]["pid"]')"
  fi
  wait "$running" || true
  field '"%d | %d | %d | %.0f | %.1f | %.1f" % (r["requests_ok"], r["errors"] + r["mismatches"], r["rejected"], r["signatures_per_s"], r["latency"]["p50_ms"], r["latency"]["p99_ms"])' <"$out"
}
restart_row="$(disruption restart)"
crash_row="$(disruption crash)"

python3 - "${rate[direct]}" "${rate[1]}" "${rate[2]}" "${rate[3]}" "$restart_row" "$crash_row" \
  "$rounds" "$seconds" "$clients" "$items" "$(git rev-parse --short HEAD)" "$TOLLGATE_BIN" <<'PY'
import sys, datetime
direct, one, two, three = map(float, sys.argv[1:5])
restart, crash = sys.argv[5:7]
rounds, seconds, clients, items, commit, binary = sys.argv[7:13]
now = datetime.datetime.now(datetime.timezone.utc).strftime("%H:%M UTC")
print(f"""## Scale-out

Command: `bash bench/scale-out.sh {rounds} {seconds} {clients} {items}` ({now}, commit {commit},
binary {binary}).
`tollgate load --clients {clients}` posting one {items}-item `/v1/verify` batch (one bad item;
every answer checked item by item), replicas with default settings behind HAProxy 2.6 from
`deploy/local-cluster.sh`. All replicas, HAProxy and the load generator share this 2-core
machine, so more replicas cannot add cores: the rows show the balancer scales out without
loss, not a speed-up. Medians of {rounds} rounds of {seconds} s, direct and balanced rounds
alternating.

| path | signatures/s (median) | vs direct |
|---|---|---|
| direct to 1 replica | {direct:.0f} | 1.00 |
| HAProxy, 1 replica | {one:.0f} | {one/direct:.3f} |
| HAProxy, 2 replicas | {two:.0f} | {two/direct:.3f} |
| HAProxy, 3 replicas | {three:.0f} | {three/direct:.3f} |

Balancer overhead at one replica: {(1 - one/direct) * 100:.1f} % of throughput (target ≤ 5 %).

One 12 s load run through the 3-replica cluster per event, the event 2 s in:

| event | requests answered | failed | 429 | signatures/s | p50 ms | p99 ms |
|---|---|---|---|---|---|---|
| graceful restart of replica 2 (`local-cluster.sh restart 2`) | {restart} |
| SIGKILL of replica 3 | {crash} |
""")
PY
