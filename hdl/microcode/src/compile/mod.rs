//! From a traced segment to microcode: lowering, scheduling, register allocation, encoding.

pub mod isa;
mod lower;
pub mod programs;
mod regalloc;
pub mod rom;
mod schedule;

pub use lower::compile_segment;

use thiserror::Error;

/// The engine's shape, which the microcode is compiled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EngineConfig {
    /// Interleaved lanes K; must cover every unit's latency.
    pub lanes: usize,
    /// Registers in each lane's window.
    pub window: usize,
    /// Add/sub/select units.
    pub alu_slots: usize,
    /// Cycles from issue until a product is written back.
    pub mul_latency: usize,
    /// Cycles from issue until an add/sub/select result is written back.
    pub alu_latency: usize,
    /// Cycles from issue until a loaded word is written back.
    pub io_latency: usize,
    /// Scheduling look-ahead, in operations.
    pub sched_window: usize,
    /// Independent accumulators per lane in aggregation (points consumed per body run).
    pub accumulators: usize,
}

impl EngineConfig {
    /// The configuration the tests and the benchmark use: 40 lanes over a multiplier of
    /// latency up to 40, three add/sub units, two accumulators per lane in aggregation.
    pub const DEFAULT: EngineConfig = EngineConfig {
        lanes: 40,
        window: 64,
        alu_slots: 3,
        mul_latency: 40,
        alu_latency: 4,
        io_latency: 2,
        sched_window: 160,
        accumulators: 3,
    };

    /// Checks the no-hazard premise: every result is back before the lane's next instruction.
    pub fn validate(&self) -> Result<(), CompileError> {
        let slowest = self.mul_latency.max(self.alu_latency).max(self.io_latency);
        if self.lanes < slowest || slowest == 0 {
            return Err(CompileError::TooFewLanes { lanes: self.lanes, latency: slowest });
        }
        if self.alu_slots == 0 || self.alu_slots > isa::MAX_ALU_SLOTS {
            return Err(CompileError::AluSlots(self.alu_slots));
        }
        if self.accumulators == 0 {
            return Err(CompileError::NoAccumulator);
        }
        if self.window > isa::MAX_WINDOW {
            return Err(CompileError::WindowTooLarge(self.window));
        }
        Ok(())
    }
}

/// Why a program could not be compiled for a configuration.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CompileError {
    /// Fewer lanes than the slowest unit's latency: results would not be back in time.
    #[error("{lanes} lanes cannot hide a latency of {latency} cycles")]
    TooFewLanes {
        /// K.
        lanes: usize,
        /// The slowest unit's latency.
        latency: usize,
    },
    /// The encoding holds 1 to 3 add/sub units.
    #[error("{0} add/sub units: the encoding supports 1 to 3")]
    AluSlots(usize),
    /// The encoding addresses at most 112 registers per lane.
    #[error("window of {0} registers exceeds the encodable 112")]
    WindowTooLarge(usize),
    /// Aggregation needs at least one accumulator.
    #[error("aggregation needs at least one accumulator")]
    NoAccumulator,
    /// The program needs more registers than a lane window has.
    #[error("program {program} needs {needed} registers, the window has {window}")]
    OutOfRegisters {
        /// Which program.
        program: String,
        /// Registers needed.
        needed: usize,
        /// Registers available.
        window: usize,
    },
    /// A state slot was set twice in one segment.
    #[error("state slot {0} set twice in one segment")]
    StateSetTwice(u8),
    /// The scheduler made no progress (a dependence cycle).
    #[error("the scheduler found no valid order")]
    Unschedulable,
}

/// One compiled straight-line segment.
#[derive(Clone, Debug)]
pub struct Segment {
    /// Its instructions.
    pub instrs: Vec<isa::Instr>,
    /// Registers of the window it touches (state slots included).
    pub registers: usize,
    /// Multiplications issued.
    pub muls: usize,
    /// Add/sub/select operations issued.
    pub alus: usize,
    /// Words consumed from the input stream.
    pub loads: usize,
    /// Words appended to the output stream.
    pub stores: usize,
}
