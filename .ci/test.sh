#!/usr/bin/env bash
# Every test of the project, and the checks that keep the code clean. Installs (on Debian) only
# what the tests use when it is missing: Verilator, make and g++ for the simulated accelerator
# (the `sim` feature), HAProxy for the cluster test, promtool (Debian's `prometheus` package)
# for the Prometheus configuration tests, PostgreSQL's binaries for the key registry tests.
set -euo pipefail
cd "$(dirname "$0")/.."

vectors=../shared/vectors/bls12-381-tests
if [ ! -d "$vectors" ]; then
  echo "missing $(realpath -m "$vectors"): the Ethereum BLS test vectors the tests read." >&2
  echo "Put the bls12-381-tests suite (https://github.com/ethereum/bls12-381-tests, its JSON" >&2
  echo "cases) there, beside this checkout, then run this script again." >&2
  exit 1
fi

# command -> Debian package
declare -A package=([verilator]=verilator [make]=make [g++]=g++ [haproxy]=haproxy [promtool]=prometheus)
need=()
for cmd in "${!package[@]}"; do
  command -v "$cmd" >/dev/null || need+=("${package[$cmd]}")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

# --- key registry tests (host/tests/registry_postgres.rs) ---------------------------------
# They start their own PostgreSQL cluster from Debian's binaries (initdb/pg_ctl under
# /usr/lib/postgresql/*/bin, run as the `postgres` user, in a temp dir on a free port). Only the
# binaries are needed: no cluster is created or started by the package.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "installing: postgresql (binaries only)"
  mkdir -p /etc/postgresql-common
  echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.conf
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql
fi
# --- end of key registry block -------------------------------------------------------------

# The build and the tests' own Verilator models, PostgreSQL clusters and SQLite stores take about
# 3 GiB (measured on a fresh clone, 2 Dec 2026): say so up front rather than fail half-way
# with "No space left on device".
free_kib=$(df -Pk . | awk 'NR == 2 {print $4}')
if [ "$free_kib" -lt $((4 * 1024 * 1024)) ]; then
  echo "warning: $((free_kib / 1024)) MiB free here; the tests need about 3 GiB" >&2
fi

# A clean clone builds everything once: incremental compilation would only add its bookkeeping.
if [ -n "${CI:-}" ]; then export CARGO_INCREMENTAL=0; fi

cargo fmt --all --check
# Clippy sees every crate and target, the Verilated ones included: their build scripts store
# each model in target/verilator-models, so the test build below copies them, not rebuilds.
cargo clippy --workspace --all-targets --locked --features tollgate/sim -- -D warnings
# `sim` builds the Verilator model of the accelerator into the service and its tests. The
# benchmarks have no tests; clippy above has type-checked them.
cargo test --workspace --exclude tollgate-bench --locked --features tollgate/sim --no-fail-fast
