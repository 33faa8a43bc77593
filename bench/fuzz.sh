#!/usr/bin/env bash
# The long fuzzing run (bench/RESULTS.md "## Fuzzing"; docs/API.md "Fuzzing"):
# 1. the in-process decoder targets (host/src/fuzz) for INPUTS inputs spread over the targets,
#    in a release build;
# 2. `tollgate fuzz` sending REQUESTS mutated requests to a live release `tollgate serve`,
#    whose resident memory is sampled every second; the client then checks that the server
#    still verifies a batch with known bad items exactly.
# Prints the markdown section on stdout; exits non-zero on a failed target or a violation.
#
#   bash bench/fuzz.sh [INPUTS] [REQUESTS] [CLIENTS]     (default 10000000 200000 4)
#
# TOLLGATE_BIN=path runs that server binary instead of a fresh release build;
# TOLLGATE_VECTORS_DIR is the Ethereum suite used as extra seeds (default ../shared/vectors/…).
set -euo pipefail
cd "$(dirname "$0")/.."
inputs="${1:-10000000}" requests="${2:-200000}" clients="${3:-4}"
vectors="${TOLLGATE_VECTORS_DIR:-$PWD/../shared/vectors/bls12-381-tests}"
work="$(mktemp -d)"
trap 'kill "${server:-}" "${sampler:-}" 2>/dev/null || true; rm -rf "$work"' EXIT

echo "## Fuzzing"
echo
echo "Command: \`bash bench/fuzz.sh $inputs $requests $clients\`. Load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)."
echo

# 1. In process (INPUTS=0 skips it). Each target prints "fuzz NAME: N inputs in S s (TOLLGATE_FUZZ_SEED=…)".
if [ "$inputs" -gt 0 ]; then
TOLLGATE_FUZZ_INPUTS="$inputs" TOLLGATE_VECTORS_DIR="$vectors" \
  cargo test --release --locked -p tollgate --lib fuzz:: -- --nocapture --test-threads 2 \
  >"$work/inproc.log" 2>&1 || { cat "$work/inproc.log" >&2; exit 1; }
echo "### In process (release build, 2 test threads)"
echo
echo "| target | inputs | seconds | seed |"
echo "|---|---|---|---|"
sed -n 's/^fuzz \(.*\): \([0-9]*\) inputs in \([0-9.]*\) s (TOLLGATE_FUZZ_SEED=\([0-9]*\)).*/| \1 | \2 | \3 | \4 |/p' \
  "$work/inproc.log"
total="$(sed -n 's/^fuzz .*: \([0-9]*\) inputs in .*/\1/p' "$work/inproc.log" | awk '{n += $1} END {print n}')"
echo
echo "**$total inputs, every target passed** ($(grep -o 'test result: .*' "$work/inproc.log" | head -1))."
echo
fi

# 2. Over HTTP against a live server.
if [ -z "${TOLLGATE_BIN:-}" ]; then
  cargo build --release --locked -p tollgate >&2
  TOLLGATE_BIN="${CARGO_TARGET_DIR:-$PWD/target}/release/tollgate"
fi
TOLLGATE_LOG=warn "$TOLLGATE_BIN" serve --listen 127.0.0.1:0 --data-dir "$work/data" \
  >"$work/serve.out" 2>"$work/serve.err" &
server=$!
until addr="$(sed -n 's/^tollgate listening on //p' "$work/serve.out" | head -1)" && [ -n "$addr" ]; do
  kill -0 "$server" || { cat "$work/serve.err" >&2; exit 1; }
  sleep 0.2
done
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$server/status"; }
rss_start="$(rss)"
(while kill -0 "$server" 2>/dev/null; do rss >>"$work/rss"; sleep 1; done) &
sampler=$!
status=0
"$TOLLGATE_BIN" fuzz --server "http://$addr" --requests "$requests" --duration 7200 \
  --clients "$clients" --corpus "$vectors" >"$work/fuzz.json" || status=$?
rss_end="$(rss)"
peak="$(sort -n "$work/rss" | tail -1)"
samples="$(wc -l <"$work/rss")"
echo "### Over HTTP (\`tollgate fuzz --requests $requests --clients $clients --corpus <Ethereum suite>\`, release server, default settings)"
echo
echo '```json'
cat "$work/fuzz.json"
echo '```'
echo
echo "Server resident memory: $((rss_start / 1024)) MiB after start, peak $((peak / 1024)) MiB over $samples one-second samples, $((rss_end / 1024)) MiB at the end. Server stderr lines mentioning a panic: $(grep -ci panic "$work/serve.err" || true). Exit status of the fuzz client: $status."
echo
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
exit "$status"
