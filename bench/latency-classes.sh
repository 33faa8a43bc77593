#!/usr/bin/env bash
# Latency classes benchmark (bench/RESULTS.md "## Latency classes"): the latency of a
# single-item request idle and under saturating bulk load (BULK_CLIENTS clients posting
# ITEMS-item batches), sent as `interactive` (the lane) and, for comparison, as `bulk` (what
# every request got before latency classes); and bulk throughput with and without the
# interactive probe. Everything runs against one `tollgate serve` on loopback; rounds of each
# case follow one another, medians over rounds. Prints the markdown section on stdout.
#
#   bash bench/latency-classes.sh [ROUNDS] [SECONDS] [BULK_CLIENTS] [ITEMS]   (default 3 6 8 64)
#
# TOLLGATE_BIN=path runs that binary instead of a fresh release build.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}" seconds="${2:-6}" clients="${3:-8}" items="${4:-64}"

if [ -z "${TOLLGATE_BIN:-}" ]; then
  cargo build --release --locked -p tollgate >&2
  TOLLGATE_BIN="${CARGO_TARGET_DIR:-$PWD/target}/release/tollgate"
fi
work="$(mktemp -d)"
server_pid=""
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"' EXIT

TOLLGATE_LOG=warn "$TOLLGATE_BIN" serve --listen 127.0.0.1:0 --data-dir "$work/data" >"$work/serve.out" &
server_pid=$!
for _ in $(seq 100); do
  grep -q "listening on" "$work/serve.out" 2>/dev/null && break
  sleep 0.1
done
url="http://$(sed -n 's/^tollgate listening on //p' "$work/serve.out" | head -n 1)"

"$TOLLGATE_BIN" gen-batch -n "$items" --corrupt-at 5 --seed 1 --out "$work/bulk.json" 2>/dev/null

# load ARGS...: one `tollgate load` run of SECONDS against the server, its JSON report.
load() { "$TOLLGATE_BIN" load --server "$url" --duration "$seconds" --json --quiet "$@"; }
field() { python3 -c "import json,sys; r=json.load(sys.stdin); print($1)"; }
median() { python3 -c "import statistics,sys; print(round(statistics.median(float(x) for x in sys.argv[1:]), 1))" "$@"; }

declare -a idle_p50 idle_p99 probe_p50 probe_p99 asbulk_p50 asbulk_p99 mixed_rate alone_rate
for _ in $(seq "$rounds"); do
  # 1. Idle: one client, single-item interactive requests back to back.
  r="$(load -n 1 --clients 1 --priority interactive)"
  idle_p50+=("$(echo "$r" | field 'r["latency"]["p50_ms"]')")
  idle_p99+=("$(echo "$r" | field 'r["latency"]["p99_ms"]')")
  # 2. Bulk alone.
  r="$(load --batch "$work/bulk.json" --clients "$clients")"
  alone_rate+=("$(echo "$r" | field 'r["signatures_per_s"]')")
  # 3. Bulk with the interactive probe (mixed mode: one single-item request every 20 ms).
  r="$(load --batch "$work/bulk.json" --clients "$clients" --probe)"
  mixed_rate+=("$(echo "$r" | field 'r["signatures_per_s"]')")
  probe_p50+=("$(echo "$r" | field 'r["probe"]["latency"]["p50_ms"]')")
  probe_p99+=("$(echo "$r" | field 'r["probe"]["latency"]["p99_ms"]')")
  # 4. The same single item sent as bulk under the same bulk load: the queue it waited in
  #    before latency classes.
  load --batch "$work/bulk.json" --clients "$clients" >/dev/null &
  background=$!
  sleep 0.5
  r="$(load -n 1 --clients 1 --priority bulk)"
  wait "$background"
  asbulk_p50+=("$(echo "$r" | field 'r["latency"]["p50_ms"]')")
  asbulk_p99+=("$(echo "$r" | field 'r["latency"]["p99_ms"]')")
done

alone="$(median "${alone_rate[@]}")" mixed="$(median "${mixed_rate[@]}")"
p99="$(median "${probe_p99[@]}")"
ratio="$(python3 -c "print(f'{$mixed / $alone:.3f}')")"
cat <<EOF
## Latency classes

Command: \`bash bench/latency-classes.sh $rounds $seconds $clients $items\` ($(date -u +%H:%M) UTC,
commit $(git rev-parse --short HEAD), binary \`$TOLLGATE_BIN\`). One \`tollgate serve\` with
default settings (CPU backend) on this 2-core machine, the load generator on the same cores.
Bulk: $clients clients posting one $items-item \`/v1/verify\` batch (one bad item) back to back.
Interactive probe: \`tollgate load --probe\`, a single-item interactive request every 20 ms
beside the bulk clients. Medians of $rounds rounds of $seconds s; every verdict checked item by
item.

| single-item request | p50 ms | p99 ms |
|---|---|---|
| interactive, server idle | $(median "${idle_p50[@]}") | $(median "${idle_p99[@]}") |
| interactive, under bulk load | $(median "${probe_p50[@]}") | $p99 |
| sent as bulk under the same load (one queue, as before latency classes) | $(median "${asbulk_p50[@]}") | $(median "${asbulk_p99[@]}") |

| bulk throughput | signatures/s |
|---|---|
| bulk alone | $alone |
| bulk with the interactive probe | $mixed |
| ratio (target ≥ 0.9) | $ratio |

Interactive p99 under load: $p99 ms (target ≤ 20 ms).
EOF
