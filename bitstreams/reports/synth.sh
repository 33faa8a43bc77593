#!/usr/bin/env bash
# Resource estimates of the accelerator blocks: yosys 0.23 `synth_xilinx -family xcup -noiopad`
# per block, `stat` written to bitstreams/reports/<top>.stat.txt (how the totals are composed
# from these files: README.md beside this script).
#
# Black boxes: every submodule the generator emitted under the block's name (`<top>$...`) is
# a black box, so each block is synthesized once and its instances appear in the stat by name:
# fp_mont_mul's 875 leaves `fp_mont_mul$leaves$k` (one DSP48E2 each, see leaf_mul.stat.txt),
# engine_core's `engine_core$mul` (= fp_mont_mul) and `engine_core$alu0..2` (= fp_add_sub).
#
# `splitnets` after `proc`: the flow is synth_xilinx's own script, run in two parts with
# `proc; splitnets` between `begin` and `prepare` (`proc` at the start of `prepare` is then a
# no-op). splitnets only renames: every multi-bit wire becomes single-bit wires, no cell
# changes. It is there because yosys 0.23 hashes a wire bit as (wire name index + bit offset),
# so thousands of 383..770-bit wires (fp_mont_mul's carry-save rows) collide in SigPool and
# every opt_clean took 20-60 s; the unsplit run did not finish in 40+ minutes, this one takes
# about 6 CPU minutes for fp_mont_mul.
#
# Usage: bash bitstreams/reports/synth.sh [top ...]   (default: leaf_mul fp_add_sub fp_mont_mul)
# Extra synth_xilinx options: SYNTH_OPTS="-uram" bash synth.sh engine_core
#   (report then named <top>.uram.stat.txt: the options, dashes and spaces dropped)
# Slow (minutes per big block, one core); not part of `cargo test`.
set -euo pipefail
cd "$(dirname "$0")"
rtl=../rtl
tops=("$@")
[ ${#tops[@]} -eq 0 ] && tops=(leaf_mul fp_add_sub fp_mont_mul)
opts="-family xcup -noiopad ${SYNTH_OPTS:-}"
suffix=$(printf '%s' "${SYNTH_OPTS:-}" | tr -d ' -')
ramcells="RAMB36E2 RAMB18E2 URAM288 RAM64M8 RAM32M16 RAM64M RAM32M RAM64X1D RAM128X1D RAM256X1D RAM32X1D"
for top in "${tops[@]}"; do
  # yosys reads a copy of the RTL with one rewrite that keeps its meaning: a memory
  # initialised word by word in an `initial` block (engine_core's microcode ROM,
  #    10,539 `rom[i] = 118'h...;` lines) is initialised by `$readmemh` from a file holding
  #    the same words at the same addresses: yosys 0.23's process generator is quadratic in
  #    the number of statements of one block (still busy after 2 CPU minutes on this one).
  tmp=$(mktemp -d)
  src="$tmp/$top.v"
  TMPDIR_ROM="$tmp" perl -ne '
    if (/^\s*(\w+)\[(\d+)\] = \d+\x27h([0-9a-fA-F]+);\s*$/) {
      my ($m, $a, $v) = ($1, $2, $3);
      if (!$fh{$m}) {
        open($fh{$m}, ">", "$ENV{TMPDIR_ROM}/$m.hex") or die;
        print "      \$readmemh(\"$ENV{TMPDIR_ROM}/$m.hex\", $m);\n";
      }
      printf {$fh{$m}} "\@%x %s\n", $a, $v;
      next;
    }
    print;' "$rtl/$top.v" > "$src"
  rewritten=$(diff "$rtl/$top.v" "$src" | grep -c '^<' || true)
  bb=""
  if grep -q "^module ${top}\\$" "$rtl/$top.v"; then
    bb="blackbox ${top}\$*;"
  fi
  start=$(date +%s)
  yosys -q -l "$top.log" -p "read_verilog $src; $bb
    synth_xilinx $opts -top $top -run begin:prepare; proc; splitnets;
    synth_xilinx $opts -top $top -run prepare:; tee -o $top${suffix:+.$suffix}.stat.txt stat;
    $(for t in $ramcells; do printf 'tee -q -o %s select -list t:%s; ' "$tmp/$t.lst" "$t"; done)" >/dev/null
  wall=$(( $(date +%s) - start ))
  {
    echo
    echo "yosys $(yosys -V | cut -d' ' -f2): synth_xilinx $opts -top $top, black boxes: ${bb:-none}"
    echo "RTL lines rewritten for yosys (folded part-selects, ROM words moved to \$readmemh): $rewritten"
    # Memory mapping decisions (which RAM primitive each memory became, or why none).
    sed -n '/Executing MEMORY_LIBMAP/,/Executing TECHMAP/p' "$top.log" | grep -E 'mapping memory|using FF|Extracted' || true
    # RAM primitives per source memory (cell names are <memory>.<row>.<column>).
    for t in $ramcells; do
      if [ -s "$tmp/$t.lst" ]; then
        sed 's#.*/##; s#\\##; s#\..*##' "$tmp/$t.lst" | sort | uniq -c |
          awk -v t="$t" '{print "  " t " for memory " $2 ": " $1}'
      fi
    done
    grep -E '^End of script' "$top.log" | sed 's/Logfile hash: [0-9a-f]*, //'
    echo "wall clock: ${wall} s"
  } >> "$top${suffix:+.$suffix}.stat.txt"
  echo "$top: ${wall} s"
  rm -rf "$top.log" "$tmp"
done
