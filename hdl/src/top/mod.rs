//! The accelerator's top level: the register map of `tollgate_abi` in front of one
//! [`EngineCore`]. Two designs share it ([`TopParams`]): `tollgate_top` (the standard engine,
//! the curve opcodes) and `tollgate_top_verify` (the verification engine, the verification
//! opcodes).
//!
//! Wiring around the engine: a register bus decoder (identity page, control/status, the ring
//! registers, performance counters) and a DMA engine on the memory port of
//! `tollgate_abi::mem` (256-bit beats, one clock domain): it fetches descriptors from the
//! submission ring, checks them (opcode, rounds, exact lengths, alignment, the DMA window),
//! reads the job's input into the input buffer (an unpacker turns beats of compact elements
//! into 381-bit elements, at most `MAX_OUTSTANDING_READS` reads in flight), runs the engine,
//! writes the output buffer back as beats and a completion entry into the completion ring.
//!
//! The whole job's input is buffered before the engine starts, because the engine consumes a
//! stream word every few cycles and cannot stall; the buffer sizes bound a job's rounds
//! ([`tollgate_abi::layout::Shape::max_rounds`]). There are two input buffers: the next job's
//! input is read while the engine runs on the current one (see [`top_body`]). The engine's lanes leave one partial sum
//! each for the sum opcodes; the host adds them.

mod verilog;

pub use verilog::{top_body, TopParams, DESIGN_HASH_LINE};

use rust_hdl::prelude::*;
use tollgate_abi::{bus, mem};

use crate::engine::EngineCore;

/// The top level; its ports are `tollgate_abi::bus`.
#[derive(LogicBlock, Default)]
pub struct TollgateTop {
    pub clock: Signal<In, Clock>,
    pub reset: Signal<In, Bit>,
    pub bus_addr: Signal<In, Bits<{ bus::ADDR_BITS }>>,
    pub bus_wdata: Signal<In, Bits<{ bus::DATA_BITS }>>,
    pub bus_write: Signal<In, Bit>,
    pub bus_read: Signal<In, Bit>,
    pub bus_rdata: Signal<Out, Bits<{ bus::DATA_BITS }>>,
    pub bus_rvalid: Signal<Out, Bit>,
    pub irq: Signal<Out, Bit>,
    pub mem_rd_valid: Signal<Out, Bit>,
    pub mem_rd_ready: Signal<In, Bit>,
    pub mem_rd_addr: Signal<Out, Bits<{ mem::ADDR_BITS as usize }>>,
    pub mem_rresp_valid: Signal<In, Bit>,
    pub mem_rresp_ready: Signal<Out, Bit>,
    pub mem_rresp_data: Signal<In, Bits<{ 8 * mem::BEAT_BYTES }>>,
    pub mem_rresp_err: Signal<In, Bit>,
    pub mem_wr_valid: Signal<Out, Bit>,
    pub mem_wr_ready: Signal<In, Bit>,
    pub mem_wr_addr: Signal<Out, Bits<{ mem::ADDR_BITS as usize }>>,
    pub mem_wr_data: Signal<Out, Bits<{ 8 * mem::BEAT_BYTES }>>,
    engine: EngineCore,
    design: Design,
}

impl TollgateTop {
    /// The top level of `params` (its engine core built for `params.engine`).
    pub fn for_params(params: TopParams) -> TollgateTop {
        TollgateTop {
            engine: EngineCore::for_params(params.engine),
            design: Design(params),
            ..TollgateTop::default()
        }
    }
}

/// Which design the top level is generated for: no hardware of its own (no signals, emits
/// nothing), a [`Block`] only so that it can be a field of the derived block.
struct Design(TopParams);

impl Default for Design {
    fn default() -> Self {
        Design(TopParams::standard())
    }
}

impl Logic for Design {
    fn update(&mut self) {}
}

impl Block for Design {
    fn connect_all(&mut self) {}
    fn update_all(&mut self) {}
    fn has_changed(&self) -> bool {
        false
    }
    fn accept(&self, _name: &str, _probe: &mut dyn Probe) {}
}

impl Logic for TollgateTop {
    /// Simulated through Verilator only, like the engine it wraps.
    fn update(&mut self) {}

    fn connect(&mut self) {
        self.bus_rdata.connect();
        self.bus_rvalid.connect();
        self.irq.connect();
        self.mem_rd_valid.connect();
        self.mem_rd_addr.connect();
        self.mem_rresp_ready.connect();
        self.mem_wr_valid.connect();
        self.mem_wr_addr.connect();
        self.mem_wr_data.connect();
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
        Verilog::Custom(top_body(&self.design.0))
    }
}
