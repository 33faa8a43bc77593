//! The DSP-sized leaf multiplier: the only hand-written Verilog in the field core.
//!
//! 26×17 unsigned is the largest product one DSP48E2 computes (its multiplier is 27×18
//! signed). Inputs and product are registered, which maps onto the DSP's A/B and M/P
//! registers, so the leaf costs no fabric flip-flops and has latency [`LEAF_LATENCY`].

use rust_hdl::prelude::*;

/// Width of the leaf's `a` operand (DSP48E2 A port, unsigned).
pub const LEAF_A_BITS: usize = 26;
/// Width of the leaf's `b` operand (DSP48E2 B port, unsigned).
pub const LEAF_B_BITS: usize = 17;
/// Width of the leaf's product.
pub const LEAF_P_BITS: usize = LEAF_A_BITS + LEAF_B_BITS;
/// Clock edges from `a`/`b` to `p`: input register, then product register.
pub const LEAF_LATENCY: usize = 2;

/// `p = a * b`, two cycles after `a` and `b` are presented.
#[derive(LogicBlock, Default)]
pub struct LeafMul {
    pub clock: Signal<In, Clock>,
    pub a: Signal<In, Bits<LEAF_A_BITS>>,
    pub b: Signal<In, Bits<LEAF_B_BITS>>,
    pub p: Signal<Out, Bits<LEAF_P_BITS>>,
    a_r: Signal<Local, Bits<LEAF_A_BITS>>,
    b_r: Signal<Local, Bits<LEAF_B_BITS>>,
}

/// The leaf's arithmetic, shared by the rust-hdl model and the tests.
pub fn leaf_product(a: u64, b: u64) -> u64 {
    (a & ((1 << LEAF_A_BITS) - 1)) * (b & ((1 << LEAF_B_BITS) - 1))
}

impl Logic for LeafMul {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            self.p.next = leaf_product(self.a_r.val().to_u64(), self.b_r.val().to_u64()).into();
            self.a_r.next = self.a.val();
            self.b_r.next = self.b.val();
        }
    }

    fn connect(&mut self) {
        self.p.connect();
        self.a_r.connect();
        self.b_r.connect();
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom(
            "always @(posedge clock) begin\n    a_r <= a;\n    b_r <= b;\n    p <= {17'd0, a_r} * {26'd0, b_r};\nend"
                .into(),
        )
    }
}
