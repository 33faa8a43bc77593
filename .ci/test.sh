#!/usr/bin/env bash
# Every test of the project. Installs what a fresh Debian machine lacks (Verilator, yosys),
# then runs the whole workspace's tests.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v verilator >/dev/null || need+=(verilator)
command -v yosys >/dev/null || need+=(yosys)
command -v g++ >/dev/null || need+=(g++)
command -v make >/dev/null || need+=(make)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
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

# `sim` builds the Verilator model of the accelerator into the service and its tests.
cargo test --workspace --locked --features tollgate/sim
