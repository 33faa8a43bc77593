//! The accelerator's top level, `tollgate_top`: the register map of `tollgate_abi` in front of
//! one [`EngineCore`].
//!
//! Plain wiring around the engine: a register bus decoder (identity page, control/status, the
//! job queue, performance counters), an input buffer that assembles 32-bit bus words into
//! 381-bit elements and feeds the engine's stream port, an output buffer the host drains word
//! by word, and a job sequencer (doorbell → load → run → completion).
//!
//! The whole job's input is buffered before the engine starts, because the engine consumes a
//! stream word every few cycles and cannot stall (see `tollgate_abi`, "Job protocol"); the
//! buffer sizes bound a job's rounds ([`tollgate_abi::layout::Shape::max_rounds`]). The
//! engine's lanes leave one partial sum each for the sum opcodes; the host adds them.

mod verilog;

pub use verilog::{top_body, TopParams, DESIGN_HASH_LINE};

use rust_hdl::prelude::*;

use crate::engine::EngineCore;

/// The top level; its ports are `tollgate_abi::bus`.
#[derive(LogicBlock, Default)]
pub struct TollgateTop {
    pub clock: Signal<In, Clock>,
    pub reset: Signal<In, Bit>,
    pub bus_addr: Signal<In, Bits<12>>,
    pub bus_wdata: Signal<In, Bits<32>>,
    pub bus_write: Signal<In, Bit>,
    pub bus_read: Signal<In, Bit>,
    pub bus_rdata: Signal<Out, Bits<32>>,
    pub bus_rvalid: Signal<Out, Bit>,
    pub irq: Signal<Out, Bit>,
    engine: EngineCore,
}

impl Logic for TollgateTop {
    /// Simulated through Verilator only, like the engine it wraps.
    fn update(&mut self) {}

    fn connect(&mut self) {
        self.bus_rdata.connect();
        self.bus_rvalid.connect();
        self.irq.connect();
        let e = &mut self.engine;
        e.clock.connect();
        e.reset.connect();
        e.start.connect();
        e.pro_start.connect();
        e.pro_len.connect();
        e.body_start.connect();
        e.body_len.connect();
        e.epi_start.connect();
        e.epi_len.connect();
        e.rounds.connect();
        e.in_data.connect();
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom(top_body(&TopParams::standard()))
    }
}
