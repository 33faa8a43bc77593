//! Verilog text for the pipelined datapaths above the leaf multiplier, generated from
//! parameters (operand widths, truncation, constants, pipeline depth per stage).
//!
//! Blocks in [`crate::field`] own a `Vec<LeafMul>` of rust-hdl sub-blocks; this builder
//! allocates those leaves, drives their input stubs (`leaves$<k>$a`, …, the names rust-hdl
//! gives a `Vec` field's children) and composes everything above them:
//! partial products packed into rows, a carry-save (3:2) tree with a register after every
//! `csa_levels_per_stage` levels, a two-stage carry-select adder, delay lines. Every
//! register is clocked by the enclosing module's `clock` port.

use num_bigint::BigUint;

use super::leaf::{LEAF_A_BITS, LEAF_B_BITS, LEAF_LATENCY, LEAF_P_BITS};

/// A named Verilog vector declared by the builder (or a port of the enclosing module).
#[derive(Clone, Debug)]
pub struct Sig {
    pub name: String,
    pub width: usize,
}

/// One input of a wide product: a vector or a constant.
pub enum Operand<'a> {
    Wire(&'a Sig),
    Const(&'a BigUint, usize),
}

impl Operand<'_> {
    fn width(&self) -> usize {
        match self {
            Operand::Wire(s) => s.width,
            Operand::Const(_, w) => *w,
        }
    }

    /// Verilog expression for `width` bits from `lo`, zero above the operand's width;
    /// `None` when those bits are a constant zero (the leaf is then left out).
    fn limb(&self, lo: usize, width: usize) -> Option<String> {
        match self {
            Operand::Wire(s) => Some(bits(s, lo, width)),
            Operand::Const(v, _) => {
                let limb = (*v >> lo) & ((BigUint::from(1u8) << width) - 1u8);
                (limb != BigUint::default()).then(|| literal(&limb, width))
            }
        }
    }
}

/// Pipeline shape knobs; the defaults are what the committed RTL uses.
#[derive(Clone, Copy, Debug)]
pub struct Params {
    /// 3:2 compressor levels between two register stages (each level is one LUT deep).
    pub csa_levels_per_stage: usize,
    /// Chunk width of the carry-select adder: the longest carry chain in the design.
    pub cpa_chunk: usize,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            csa_levels_per_stage: 2,
            cpa_chunk: 128,
        }
    }
}

/// Cycles taken by [`Netlist::add`].
pub const CPA_LATENCY: usize = 2;

/// Accumulates declarations and statements of one module body.
pub struct Netlist {
    params: Params,
    decls: Vec<String>,
    body: Vec<String>,
    next_id: usize,
    leaves: usize,
}

/// `width` bits of `s` from `lo`, zero-padded above `s.width`.
pub fn bits(s: &Sig, lo: usize, width: usize) -> String {
    assert!(width > 0);
    let avail = s.width.saturating_sub(lo).min(width);
    let take = |hi: usize| {
        if lo == 0 && hi + 1 == s.width {
            s.name.clone()
        } else if hi == lo {
            format!("{}[{}]", s.name, lo)
        } else {
            format!("{}[{}:{}]", s.name, hi, lo)
        }
    };
    match avail {
        0 => format!("{width}'d0"),
        a if a == width => take(lo + width - 1),
        a => format!("{{{}'d0, {}}}", width - a, take(lo + a - 1)),
    }
}

/// A sized hexadecimal Verilog literal.
pub fn literal(v: &BigUint, width: usize) -> String {
    assert!(
        v.bits() as usize <= width,
        "constant wider than {width} bits"
    );
    format!("{}'h{}", width, v.to_str_radix(16))
}

impl Netlist {
    pub fn new(params: Params) -> Self {
        Netlist {
            params,
            decls: vec![],
            body: vec![],
            next_id: 0,
            leaves: 0,
        }
    }

    /// Number of leaf multipliers allocated so far (the owner sizes its `Vec<LeafMul>` by it).
    pub fn leaf_count(&self) -> usize {
        self.leaves
    }

    fn fresh(&mut self, stem: &str) -> String {
        self.next_id += 1;
        format!("g_{}_{}", stem, self.next_id)
    }

    /// A combinational vector.
    pub fn wire(&mut self, stem: &str, width: usize, expr: &str) -> Sig {
        let name = self.fresh(stem);
        self.decls.push(format!("wire [{}:0] {};", width - 1, name));
        self.body.push(format!("assign {name} = {expr};"));
        Sig { name, width }
    }

    /// A register loaded every cycle; `init` gives it a power-up value (used for valid bits,
    /// which must not come up set: the FPGA loads register INIT values with the bitstream).
    pub fn reg(&mut self, stem: &str, width: usize, expr: &str, init: Option<&str>) -> Sig {
        let name = self.fresh(stem);
        match init {
            Some(v) => self
                .decls
                .push(format!("reg [{}:0] {} = {};", width - 1, name, v)),
            None => self.decls.push(format!("reg [{}:0] {};", width - 1, name)),
        }
        self.body
            .push(format!("always @(posedge clock) {name} <= {expr};"));
        Sig { name, width }
    }

    /// `s` delayed by `n` cycles.
    pub fn delay(&mut self, s: &Sig, n: usize, init: Option<&str>) -> Sig {
        let mut cur = s.clone();
        for _ in 0..n {
            cur = self.reg("d", s.width, &cur.name.clone(), init);
        }
        cur
    }

    /// Waive Verilator's UNUSEDSIGNAL on `s`, whose unread bits are unused by design
    /// (`why` is written beside the waiver in the RTL).
    pub fn allow_unused(&mut self, s: &Sig, why: &str) {
        let suffix = format!(" {};", s.name);
        let init = format!(" {} = ", s.name);
        if let Some(d) = self
            .decls
            .iter_mut()
            .find(|d| d.ends_with(&suffix) || d.contains(&init))
        {
            *d = format!(
                "// {why}\n/* verilator lint_off UNUSEDSIGNAL */\n{d}\n/* verilator lint_on UNUSEDSIGNAL */"
            );
        }
    }

    /// Drive an output port of the enclosing module.
    pub fn drive_port(&mut self, port: &str, expr: &str) {
        self.body.push(format!("always @(*) {port} = {expr};"));
    }

    /// `(x · y + Σ extra) mod 2^out_width`, returned with its latency in cycles.
    ///
    /// `x` is cut into 26-bit limbs and `y` into 17-bit limbs; each limb pair whose weight is
    /// below `2^out_width` (and whose constant limb is non-zero) gets one leaf. `extra` rows are
    /// added at weight 1 and must be valid when the leaf products are, i.e. `LEAF_LATENCY`
    /// cycles after `x` and `y`.
    pub fn product(
        &mut self,
        stem: &str,
        x: Operand,
        y: Operand,
        out_width: usize,
        extra: &[Sig],
    ) -> (Sig, usize) {
        let nx = x.width().div_ceil(LEAF_A_BITS);
        let ny = y.width().div_ceil(LEAF_B_BITS);
        let mut terms = vec![];
        for i in 0..nx {
            for j in 0..ny {
                let weight = LEAF_A_BITS * i + LEAF_B_BITS * j;
                if weight >= out_width {
                    continue;
                }
                let (Some(a), Some(b)) = (
                    x.limb(LEAF_A_BITS * i, LEAF_A_BITS),
                    y.limb(LEAF_B_BITS * j, LEAF_B_BITS),
                ) else {
                    continue;
                };
                let k = self.leaves;
                self.leaves += 1;
                self.body.push(format!(
                    "always @(*) begin leaves${k}$clock = clock; leaves${k}$a = {a}; leaves${k}$b = {b}; end"
                ));
                terms.push(Term {
                    offset: weight,
                    sig: Sig {
                        name: format!("leaves${k}$p"),
                        width: LEAF_P_BITS,
                    },
                });
            }
        }
        for e in extra {
            terms.push(Term {
                offset: 0,
                sig: e.clone(),
            });
        }
        let rows = pack_rows(terms, out_width)
            .into_iter()
            .map(|row| {
                let expr = row_concat(&row, out_width);
                self.wire(&format!("{stem}_row"), out_width, &expr)
            })
            .collect::<Vec<_>>();
        let (rows, stages) = self.csa_tree(stem, rows, out_width);
        let second = match rows.get(1) {
            Some(r) => r.clone(),
            None => self.wire(
                &format!("{stem}_zero"),
                out_width,
                &format!("{out_width}'d0"),
            ),
        };
        let sum = self.add(stem, &rows[0], &second, "1'b0");
        (sum, LEAF_LATENCY + stages + CPA_LATENCY)
    }

    /// One level of 3:2 compressors over `rows`; leftovers pass through.
    pub fn csa_level(&mut self, stem: &str, rows: Vec<Sig>, width: usize) -> Vec<Sig> {
        let mut out = vec![];
        let mut chunks = rows.chunks_exact(3);
        for t in chunks.by_ref() {
            let (x, y, z) = (&t[0].name, &t[1].name, &t[2].name);
            out.push(self.wire(&format!("{stem}_s"), width, &format!("{x} ^ {y} ^ {z}")));
            // The carry row is shifted up one place, so the top majority bit is never needed.
            let (xl, yl, zl) = (
                bits(&t[0], 0, width - 1),
                bits(&t[1], 0, width - 1),
                bits(&t[2], 0, width - 1),
            );
            let maj = self.wire(
                &format!("{stem}_m"),
                width - 1,
                &format!("({xl} & {yl}) | ({xl} & {zl}) | ({yl} & {zl})"),
            );
            let shifted = format!("{{{}, 1'b0}}", maj.name);
            out.push(self.wire(&format!("{stem}_c"), width, &shifted));
        }
        out.extend(chunks.remainder().iter().cloned());
        out
    }

    /// Compress `rows` to at most two, registering after every `csa_levels_per_stage` levels.
    fn csa_tree(&mut self, stem: &str, mut rows: Vec<Sig>, width: usize) -> (Vec<Sig>, usize) {
        let mut stages = 0;
        while rows.len() > 2 {
            for _ in 0..self.params.csa_levels_per_stage {
                if rows.len() > 2 {
                    rows = self.csa_level(stem, rows, width);
                }
            }
            rows = rows
                .iter()
                .map(|r| self.reg(&format!("{stem}_csa"), width, &r.name, None))
                .collect();
            stages += 1;
        }
        (rows, stages)
    }

    /// `(x + y + cin) mod 2^width` as a two-stage carry-select adder ([`CPA_LATENCY`]):
    /// stage one adds every `cpa_chunk`-bit chunk with carry-in 0 and 1, stage two ripples
    /// the chunk carries through multiplexers and selects.
    pub fn add(&mut self, stem: &str, x: &Sig, y: &Sig, cin: &str) -> Sig {
        let width = x.width;
        assert_eq!(width, y.width);
        let chunk = self.params.cpa_chunk;
        let n = width.div_ceil(chunk);
        let mut s0 = vec![];
        let mut s1 = vec![];
        for k in 0..n {
            let lo = k * chunk;
            let w = chunk.min(width - lo);
            // The top chunk needs no carry-out.
            let ext = if k + 1 == n { 0 } else { 1 };
            let (xa, ya) = if ext == 1 {
                (
                    format!("{{1'b0, {}}}", bits(x, lo, w)),
                    format!("{{1'b0, {}}}", bits(y, lo, w)),
                )
            } else {
                (bits(x, lo, w), bits(y, lo, w))
            };
            let ww = w + ext;
            if k == 0 {
                let c = format!("{{{}'d0, {cin}}}", ww - 1);
                s0.push(self.reg(
                    &format!("{stem}_a0"),
                    ww,
                    &format!("{xa} + {ya} + {c}"),
                    None,
                ));
                s1.push(None);
            } else {
                s0.push(self.reg(&format!("{stem}_a0"), ww, &format!("{xa} + {ya}"), None));
                let one = format!("{ww}'d1");
                s1.push(Some(self.reg(
                    &format!("{stem}_a1"),
                    ww,
                    &format!("{xa} + {ya} + {one}"),
                    None,
                )));
            }
        }
        // Stage two: chunk k takes s1 when chunk k-1 carried out.
        let mut parts = vec![];
        let mut carry: Option<Sig> = None;
        for k in 0..n {
            let lo = k * chunk;
            let w = chunk.min(width - lo);
            let last = k + 1 == n;
            let (sum, cout) = match (&carry, &s1[k]) {
                (None, _) => (
                    bits(&s0[k], 0, w),
                    (!last).then(|| format!("{}[{}]", s0[k].name, w)),
                ),
                (Some(c), Some(one)) => (
                    format!(
                        "({} ? {} : {})",
                        c.name,
                        bits(one, 0, w),
                        bits(&s0[k], 0, w)
                    ),
                    (!last).then(|| {
                        format!("({} ? {}[{}] : {}[{}])", c.name, one.name, w, s0[k].name, w)
                    }),
                ),
                (Some(_), None) => unreachable!("only chunk 0 lacks a carry-in-1 sum"),
            };
            parts.push(sum);
            carry = cout.map(|e| self.wire(&format!("{stem}_cy"), 1, &e));
        }
        parts.reverse();
        self.reg(stem, width, &format!("{{{}}}", parts.join(", ")), None)
    }

    /// Declarations followed by statements, as the body of a `Verilog::Custom` module.
    pub fn finish(self) -> String {
        let mut out = self.decls.join("\n");
        out.push('\n');
        out.push_str(&self.body.join("\n"));
        out
    }
}

struct Term {
    offset: usize,
    sig: Sig,
}

/// Pack terms into as few non-overlapping rows as possible: interval-graph colouring by
/// start position (greedy is optimal there), so the carry-save tree gets the minimum
/// number of rows — the deepest column of overlapping partial products.
fn pack_rows(mut terms: Vec<Term>, width: usize) -> Vec<Vec<Term>> {
    terms.sort_by_key(|t| t.offset);
    let mut rows: Vec<(usize, Vec<Term>)> = vec![];
    for t in terms {
        let end = (t.offset + t.sig.width).min(width);
        match rows
            .iter_mut()
            .find(|(free_from, _)| *free_from <= t.offset)
        {
            Some(row) => {
                row.0 = end;
                row.1.push(t);
            }
            None => rows.push((end, vec![t])),
        }
    }
    rows.into_iter().map(|(_, r)| r).collect()
}

/// A `width`-bit concatenation placing each term at its offset, zeros between.
fn row_concat(row: &[Term], width: usize) -> String {
    let mut parts = vec![];
    let mut pos = 0;
    for t in row {
        if t.offset > pos {
            parts.push(format!("{}'d0", t.offset - pos));
        }
        let w = t.sig.width.min(width - t.offset);
        parts.push(bits(&t.sig, 0, w));
        pos = t.offset + w;
    }
    if pos < width {
        parts.push(format!("{}'d0", width - pos));
    }
    parts.reverse();
    format!("{{{}}}", parts.join(", "))
}
