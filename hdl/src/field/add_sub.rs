//! Pipelined modular add / subtract / negate for Fp, one operation per cycle, fixed latency
//! [`ADD_SUB_LATENCY`].
//!
//! Both candidate results are computed side by side — `t1 = x ± y` and `t2 = x ± y ∓ p`
//! (a 3:2 compressor level in front of the second adder) — and the sign bits pick the one
//! in `[0, p)`.

use rust_hdl::prelude::*;

use super::netlist::{bits, literal, Netlist, Params, Sig, CPA_LATENCY};
use super::{modulus, mont_r, FP_BITS, MONT_R_BITS};

/// Clock edges from inputs to outputs.
pub const ADD_SUB_LATENCY: usize = 4;

/// `op` encodings of [`FpAddSub`].
pub mod op {
    /// `a + b mod p`
    pub const ADD: u64 = 0;
    /// `a − b mod p`
    pub const SUB: u64 = 1;
    /// `−a mod p` (`b` ignored)
    pub const NEG: u64 = 2;
    /// `b − a mod p`
    pub const RSUB: u64 = 3;
}

/// Modular add/sub/negate with the same valid/tag interface as
/// [`super::mont_mul::FpMontMul`], plus a 2-bit `op` (see [`op`]) sampled with the operands.
/// Inputs and `result` are in `[0, p)`; the representation (Montgomery or not) passes through.
#[derive(LogicBlock, Default)]
pub struct FpAddSub<const TAG: usize> {
    pub clock: Signal<In, Clock>,
    pub in_valid: Signal<In, Bit>,
    pub in_tag: Signal<In, Bits<TAG>>,
    pub op: Signal<In, Bits<2>>,
    pub a: Signal<In, Bits<FP_BITS>>,
    pub b: Signal<In, Bits<FP_BITS>>,
    pub out_valid: Signal<Out, Bit>,
    pub out_tag: Signal<Out, Bits<TAG>>,
    pub result: Signal<Out, Bits<FP_BITS>>,
}

/// Module body and latency of the add/sub unit.
pub fn add_sub_netlist(tag_bits: usize, params: Params) -> (String, usize) {
    let mut n = Netlist::new(params);
    let w = MONT_R_BITS;
    let p = modulus();
    let a = bits(
        &Sig {
            name: "a".into(),
            width: FP_BITS,
        },
        0,
        w,
    );
    let b = bits(
        &Sig {
            name: "b".into(),
            width: FP_BITS,
        },
        0,
        w,
    );
    // Stage 0: pick operands. NEG is 0 − a; RSUB is b − a; a subtrahend enters inverted
    // with carry-in 1.
    let x = n.reg(
        "x",
        w,
        &format!("(op == 2'd2) ? {w}'d0 : (op == 2'd3) ? {b} : {a}"),
        None,
    );
    let y = n.reg(
        "y",
        w,
        &format!("(op == 2'd0) ? {b} : ~((op == 2'd1) ? {b} : {a})"),
        None,
    );
    let sub = n.reg("sub", 1, "op != 2'd0", None);
    // The correction: +p after a subtraction, −p (= 2^384 − p) after an addition.
    let k = n.reg(
        "k",
        w,
        &format!(
            "(op != 2'd0) ? {} : {}",
            literal(&p, w),
            literal(&(mont_r() - &p), w)
        ),
        None,
    );
    let t1 = n.add("t1", &x, &y, &sub.name);
    let csa = n.csa_level("t2", vec![x.clone(), y.clone(), k], w);
    let t2 = n.add("t2", &csa[0], &csa[1], &sub.name);
    let sub_d = n.delay(&sub, CPA_LATENCY, None);
    for t in [&t1, &t2] {
        n.allow_unused(
            t,
            "|t| < 2^382: only the sign (bit 383) and the low 381 bits are read",
        );
    }
    // Addition: x + y − p is the answer unless negative. Subtraction: x − y is the answer
    // unless negative. |t1|, |t2| < 2^382, so bit 383 is the sign.
    let top = w - 1;
    let out = n.reg(
        "out",
        FP_BITS,
        &format!(
            "({s} ? {t1}[{top}] : !{t2}[{top}]) ? {t2lo} : {t1lo}",
            s = sub_d.name,
            t1 = t1.name,
            t2 = t2.name,
            t2lo = bits(&t2, 0, FP_BITS),
            t1lo = bits(&t1, 0, FP_BITS),
        ),
        None,
    );
    let latency = 1 + CPA_LATENCY + 1;
    let valid = n.delay(
        &Sig {
            name: "in_valid".into(),
            width: 1,
        },
        latency,
        Some("1'b0"),
    );
    let tag = n.delay(
        &Sig {
            name: "in_tag".into(),
            width: tag_bits,
        },
        latency,
        None,
    );
    n.drive_port("out_valid", &valid.name);
    n.drive_port("out_tag", &tag.name);
    n.drive_port("result", &out.name);
    (n.finish(), latency)
}

impl<const TAG: usize> Logic for FpAddSub<TAG> {
    /// No rust-hdl simulation model: simulated through Verilator like the multiplier.
    fn update(&mut self) {}

    fn connect(&mut self) {
        self.out_valid.connect();
        self.out_tag.connect();
        self.result.connect();
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom(add_sub_netlist(TAG, Params::default()).0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_matches_the_generated_pipeline() {
        assert_eq!(add_sub_netlist(16, Params::default()).1, ADD_SUB_LATENCY);
    }
}
