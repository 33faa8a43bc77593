#!/usr/bin/env bash
# Resource estimates of the field-core blocks: yosys `synth_xilinx -family xcup` per block,
# `stat` written to bitstreams/reports/<top>.stat.txt.
#
# The leaf is synthesized on its own (one DSP48E2, no fabric). In the Montgomery multiplier
# the 875 leaf instances are kept as black boxes, so yosys 0.23's pessimistic mapping of
# wide products never enters: its stat counts only the fabric around the leaves, and the
# leaf cells appear by name. DSP48E2 total = leaf instances × the leaf's DSP count.
#
# Usage: bash bitstreams/reports/synth.sh [top ...]   (default: leaf_mul fp_add_sub fp_mont_mul)
# Slow (fp_mont_mul: tens of minutes on one core); not part of `cargo test`.
set -euo pipefail
cd "$(dirname "$0")"
rtl=../rtl
tops=("$@")
[ ${#tops[@]} -eq 0 ] && tops=(leaf_mul fp_add_sub fp_mont_mul)
for top in "${tops[@]}"; do
  bb=""
  # Leaf modules are named <top>$leaves$<k>.
  if grep -q "^module ${top}\$leaves\\$" "$rtl/$top.v"; then
    bb="blackbox ${top}\$leaves\$*;"
  fi
  start=$(date +%s)
  yosys -q -l "$top.log" -p "read_verilog $rtl/$top.v; $bb synth_xilinx -family xcup -noiopad -top $top; tee -o $top.stat.txt stat" >/dev/null
  echo "$top: $(( $(date +%s) - start )) s"
  rm -f "$top.log"
done
