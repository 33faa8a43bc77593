//! The lane-interleaved microcoded curve engine (core): a sequencer stepping K lanes through
//! the microcode ROM compiled by `tollgate-microcode`, a register file of single-writer banks,
//! one Montgomery multiplier and three add/sub units from [`crate::field`], select units and a
//! word-wide stream port.
//!
//! Instruction `i` of lane `j` issues `i·K + j` cycles after the segment starts; every unit's
//! result is written back before the same lane's next instruction reads (checked by
//! [`EngineParams::validate`]), so there is no hazard logic at all.
//!
//! `EngineCore::default()` is built for [`EngineParams::standard`] (the microcode crate's
//! default configuration; the top level's core); [`EngineCore::for_params`] for any other,
//! such as [`EngineParams::verification`]. Its ROM and program table come from the same
//! compilation.
//!
//! # Ports
//! - `clock`, `reset` (synchronous, active high).
//! - Job: `start` (one-cycle pulse while `busy` is low) with `pro_start`, `pro_len`,
//!   `body_start`, `body_len`, `epi_start`, `epi_len` (ROM ranges from the program table) and
//!   `rounds` (body runs per lane, ≥ 1). `busy` is high from the cycle after `start` until the
//!   last instruction has issued and every write has landed.
//! - Input: `in_pop` is high in a cycle in which lane `in_lane` consumes `in_data` (a 381-bit
//!   word: a Montgomery-form Fp element, or a scalar in bits 63..0). `in_pop` depends on
//!   registers only, so the feeder may answer within the cycle (first-word-fall-through FIFO).
//!   The engine never waits: the feeder must have the word.
//! - Output: `out_valid` with `out_lane` and `out_data` (a Montgomery-form Fp element).
//! - `mul_issue`: high in every cycle in which the multiplier accepts an operand pair (for
//!   the performance counters).

pub mod harness;
mod verilog;

pub use verilog::{
    core_body, EngineParams, Extensions, DRAIN_CYCLES, MIN_LANES, VERIFY_LANES, VERIFY_PROGRAMS,
};

use rust_hdl::prelude::*;

use crate::field::add_sub::FpAddSub;
use crate::field::mont_mul::FpMontMul;
use crate::field::FP_BITS;

/// Version of the core's port interface (bump on any port or timing change).
pub const ENGINE_CORE_PORTS_VERSION: u32 = 1;

/// Lane-number bits of the unit tags (so at most 64 lanes).
pub const LANE_BITS: usize = 6;
/// Tag carried through the field units: lane and destination register.
pub const ENGINE_TAG_BITS: usize = LANE_BITS + 7;
/// ROM address and segment-length width.
pub const PC_BITS: usize = 16;

/// The core's job-range inputs, in the order of [`range_values`].
pub const RANGE_PORTS: [&str; 6] = [
    "pro_start",
    "pro_len",
    "body_start",
    "body_len",
    "epi_start",
    "epi_len",
];

/// What a job of `entry`'s program drives on [`RANGE_PORTS`].
pub fn range_values(entry: &tollgate_microcode::compile::rom::ProgramEntry) -> [usize; 6] {
    let [p, b, e] = [&entry.prologue, &entry.body, &entry.epilogue];
    [p.start, p.len(), b.start, b.len(), e.start, e.len()]
}

/// The engine core; see the module documentation for its ports.
#[derive(LogicBlock, Default)]
pub struct EngineCore {
    pub clock: Signal<In, Clock>,
    pub reset: Signal<In, Bit>,
    pub start: Signal<In, Bit>,
    pub pro_start: Signal<In, Bits<PC_BITS>>,
    pub pro_len: Signal<In, Bits<PC_BITS>>,
    pub body_start: Signal<In, Bits<PC_BITS>>,
    pub body_len: Signal<In, Bits<PC_BITS>>,
    pub epi_start: Signal<In, Bits<PC_BITS>>,
    pub epi_len: Signal<In, Bits<PC_BITS>>,
    pub rounds: Signal<In, Bits<32>>,
    pub busy: Signal<Out, Bit>,
    pub in_pop: Signal<Out, Bit>,
    pub in_lane: Signal<Out, Bits<LANE_BITS>>,
    pub in_data: Signal<In, Bits<FP_BITS>>,
    pub out_valid: Signal<Out, Bit>,
    pub out_lane: Signal<Out, Bits<LANE_BITS>>,
    pub out_data: Signal<Out, Bits<FP_BITS>>,
    pub mul_issue: Signal<Out, Bit>,
    mul: FpMontMul<ENGINE_TAG_BITS>,
    alu0: FpAddSub<ENGINE_TAG_BITS>,
    alu1: FpAddSub<ENGINE_TAG_BITS>,
    alu2: FpAddSub<ENGINE_TAG_BITS>,
    params: CoreParams,
}

impl EngineCore {
    /// A core built for `params` (its ROM, lanes, register window and ISA extensions).
    pub fn for_params(params: &'static EngineParams) -> EngineCore {
        EngineCore {
            params: CoreParams(params),
            ..EngineCore::default()
        }
    }
}

/// Which compilation a core is generated for: not hardware itself (it has no signals and
/// emits nothing), a [`Block`] only so that it can be a field of the derived block.
struct CoreParams(&'static EngineParams);

impl Default for CoreParams {
    fn default() -> Self {
        CoreParams(EngineParams::standard())
    }
}

impl Logic for CoreParams {
    fn update(&mut self) {}
}

impl Block for CoreParams {
    fn connect_all(&mut self) {}
    fn update_all(&mut self) {}
    fn has_changed(&self) -> bool {
        false
    }
    fn accept(&self, _name: &str, _probe: &mut dyn Probe) {}
}

impl Logic for EngineCore {
    /// No rust-hdl simulation model: the core is simulated through Verilator, like the field
    /// units it contains.
    fn update(&mut self) {}

    fn connect(&mut self) {
        self.busy.connect();
        self.in_pop.connect();
        self.in_lane.connect();
        self.out_valid.connect();
        self.out_lane.connect();
        self.out_data.connect();
        self.mul_issue.connect();
        for unit in [&mut self.alu0, &mut self.alu1, &mut self.alu2] {
            unit.clock.connect();
            unit.in_valid.connect();
            unit.in_tag.connect();
            unit.op.connect();
            unit.a.connect();
            unit.b.connect();
        }
        self.mul.clock.connect();
        self.mul.in_valid.connect();
        self.mul.in_tag.connect();
        self.mul.a.connect();
        self.mul.b.connect();
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom(core_body(self.params.0))
    }
}
