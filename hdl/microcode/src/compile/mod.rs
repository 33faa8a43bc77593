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
    /// Registers of each lane's window in each bank: banks 0..3 are written by add/sub units
    /// 0..3, [`BANK_MUL`] by the multiplier, [`BANK_LOAD`] by the stream port.
    pub bank_regs: [usize; BANKS],
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

/// Banks of the register file (one per writing unit).
pub const BANKS: usize = 5;
/// The bank the multiplier writes.
pub const BANK_MUL: usize = 3;
/// The bank the stream port's loads write.
pub const BANK_LOAD: usize = 4;

impl EngineConfig {
    /// Registers in each lane's window, all banks together.
    pub fn window(&self) -> usize {
        self.bank_regs.iter().sum()
    }

    /// The configuration the tests and the benchmark use: 40 lanes, enough for tollgate-hdl's
    /// multiplier (31 cycles) plus register-file and operand stages; three add/sub units; 88
    /// registers per lane window in five single-writer banks; three accumulators per lane in
    /// aggregation.
    pub const DEFAULT: EngineConfig = EngineConfig {
        lanes: 40,
        bank_regs: [32, 16, 16, 16, 8],
        alu_slots: 3,
        mul_latency: 40,
        alu_latency: 4,
        io_latency: 2,
        sched_window: 160,
        accumulators: 3,
    };

    /// The configuration of the whole-verification programs (the Miller loop): the default
    /// engine with the full encodable window of 112 registers, rebalanced towards the add/sub
    /// banks, and a shorter look-ahead. One pair's loop holds T (6 words), P and Q (6), the
    /// running f (12) and the state f (12) besides its temporaries: that needs 34 registers in
    /// bank 0 alone, more than the default window has; two pairs per body run (which share
    /// the squarings: 17% fewer cycles per pair) fit only with the look-ahead cut to 56, which
    /// bounds how many temporaries are live at once.
    pub const VERIFY: EngineConfig = EngineConfig {
        bank_regs: [36, 28, 28, 14, 6],
        sched_window: 56,
        ..EngineConfig::DEFAULT
    };

    /// Checks the no-hazard premise: every result is back before the lane's next instruction.
    pub fn validate(&self) -> Result<(), CompileError> {
        let slowest = self.mul_latency.max(self.alu_latency).max(self.io_latency);
        if self.lanes < slowest || slowest == 0 {
            return Err(CompileError::TooFewLanes {
                lanes: self.lanes,
                latency: slowest,
            });
        }
        if self.alu_slots == 0 || self.alu_slots > isa::MAX_ALU_SLOTS {
            return Err(CompileError::AluSlots(self.alu_slots));
        }
        if self.accumulators == 0 {
            return Err(CompileError::NoAccumulator);
        }
        if self.window() > isa::MAX_WINDOW {
            return Err(CompileError::WindowTooLarge(self.window()));
        }
        if (self.alu_slots..isa::MAX_ALU_SLOTS).any(|b| self.bank_regs[b] != 0) {
            return Err(CompileError::BankWithoutUnit);
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
    /// A bank was given registers but the add/sub unit that writes it does not exist.
    #[error("register bank of a missing add/sub unit is not empty")]
    BankWithoutUnit,
    /// The program needs more registers in a bank than a lane window has.
    #[error("program {program} needs {needed} registers in bank {bank}, which has {available}")]
    OutOfRegisters {
        /// Which program.
        program: String,
        /// Which bank.
        bank: usize,
        /// Registers needed.
        needed: usize,
        /// Registers available.
        available: usize,
    },
    /// A state slot was set twice in one segment.
    #[error("state slot {0} set twice in one segment")]
    StateSetTwice(u8),
    /// A segment both loads a scalar and computes flags, which share the scalar register.
    #[error("program {0} computes flags in a segment that loads a scalar")]
    FlagsBesideScalar(String),
    /// More flags live at once than the scalar register has bits.
    #[error("program {0} needs more live flags than the scalar register's 64 bits")]
    OutOfFlags(String),
    /// The scheduler made no progress (a dependence cycle).
    #[error("the scheduler found no valid order")]
    Unschedulable,
}

/// One compiled straight-line segment.
#[derive(Clone, Debug)]
pub struct Segment {
    /// Its instructions.
    pub instrs: Vec<isa::Instr>,
    /// Registers of the window it uses, all banks (state slots included).
    pub registers: usize,
    /// Registers it uses in each bank.
    pub bank_use: [usize; BANKS],
    /// Multiplications issued.
    pub muls: usize,
    /// Add/sub/select operations issued.
    pub alus: usize,
    /// Words consumed from the input stream.
    pub loads: usize,
    /// Words appended to the output stream.
    pub stores: usize,
}
