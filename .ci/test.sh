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

# `sim` builds the Verilator model of the accelerator into the service and its tests.
cargo test --workspace --locked --features tollgate/sim
