//! Register map and job formats shared by the RTL (hdl/) and the drivers.
//!
//! This crate is the single definition of how a host talks to a Tollgate accelerator. The RTL's
//! top level (hdl/) decodes exactly these addresses and the drivers (drivers/) issue exactly
//! these accesses; neither side writes a number of its own.
//!
//! # Transport
//!
//! Everything moves through 32-bit registers in BAR0, including the job data: an input FIFO
//! window ([`regs::IN_FIFO`]) the host writes and an output FIFO window ([`regs::OUT_FIFO`]) the
//! host reads. There is no DMA, so the PCIe backend and the Verilator backend run the very same
//! protocol and differ only in how one 32-bit access reaches the device.
//!
//! # Register bus (the top level's ports, used by the Verilator backend)
//!
//! The top level exposes a simple synchronous register bus, one clock domain, see [`bus`]:
//! a write is one cycle with `write` high (address and data sampled on that edge, always
//! accepted); a read is one cycle with `read` high, and the device answers with `rdata` and a
//! one-cycle `rvalid` pulse some cycles later (at most [`bus::MAX_READ_LATENCY`]). The host
//! issues one access at a time. A read of [`regs::OUT_FIFO`] pops a word; all other reads have
//! no side effect. On PCIe a bridge maps MMIO transactions to the same bus.
//!
//! # Job protocol (one job in flight)
//!
//! 1. Wait for [`status::READY`] (device idle, no completion pending).
//! 2. Write [`regs::JOB_OPCODE`], [`regs::JOB_ROUNDS`], then [`regs::DOORBELL`] with the tag.
//!    The job's input and output must fit the buffers ([`layout::Shape::max_rounds`]).
//! 3. Stream the job's input words ([`layout::input_stream`]) into [`regs::IN_FIFO`], never
//!    more than [`regs::IN_FIFO_FREE`] says is free. The device buffers the whole input and
//!    starts computing when the last word has arrived (the engine consumes a word every few
//!    cycles and cannot wait for a slow bus, so it never starts on a partial input).
//! 4. Poll [`regs::COMPLETION`] until [`completion::VALID`]; its tag must match, its status
//!    say [`CompletionStatus::Ok`]. The device completes after the engine's last output, so
//!    all [`layout::output_words`] words are then waiting in the output buffer
//!    ([`regs::OUT_FIFO_COUNT`]); read them from [`regs::OUT_FIFO`], then write
//!    [`regs::COMPLETION_ACK`] to return to READY.
//!
//! A job that fails sets [`status::ERROR`] and the reason in [`regs::ERROR`]; the host
//! recovers with [`control::SOFT_RESET`], which drops the job, empties both FIFOs and clears
//! the error bits but keeps the identity and the performance counters.
//!
//! # Element encodings
//!
//! - Fp: 12 little-endian u32 words (word 0 least significant) holding the element in
//!   Montgomery form `a·R mod p` with `R = 2^`[`MONT_R_LOG2`], fully reduced (`< p`). The device
//!   reports its R in [`regs::MONT_R_LOG2`]; the driver refuses a device whose R differs.
//! - Fp2 = c0 + c1·u (u² = −1): c0's 12 words, then c1's.
//! - Points: homogeneous projective (X : Y : Z), `x = X/Z`, `y = Y/Z`; infinity is (0 : 1 : 0)
//!   (any Z = 0 means infinity). The host sends affine points with Z = 1 (i.e. `R mod p`).
//!   Results are projective; the host normalises them. G1 = 3 Fp = 36 words, G2 = 3 Fp2 =
//!   72 words, always X, Y, Z in that order.
//! - Scalars: u64 as two words, low word first.
//!
//! # Stream layout
//!
//! The engine runs K lanes ([`regs::LANES`]) through the same microcode, interleaved, and
//! every lane runs the program's body the same number of times (the job's *rounds*). Data
//! crosses the boundary as a stream of 12-word *elements* (an Fp coordinate, or a scalar in
//! words 0–1 with the other ten zero), and element `n` of either stream belongs to lane
//! `n mod K`. Items are dealt to lanes round-robin and padded with neutral items (infinity,
//! scalar 0) so that every lane has the same work. [`layout`] turns a job's items into that
//! stream and the output stream back into results; sums come back as K partial sums (one per
//! lane), which the host adds.
//!
//! # Design hash and manifest
//!
//! The identity page reports a 256-bit design hash that `bitstreams/<design>/manifest.json`
//! must carry as `"design_hash"` (64 hex digits, bytes in order) beside `"abi_version"`
//! ([`ABI_VERSION`] as a number, or `"major.minor"`). The RTL cannot contain a hash of its own
//! text, so the generator computes it over the top level emitted with the eight hash words
//! zero (covering every submodule and the microcode ROM), then emits the top level again with
//! the hash filled in. The driver refuses a device whose hash or ABI major differs.
//!
//! The accelerator's top module is [`TOP_MODULE`], generated into
//! `bitstreams/rtl/<TOP_MODULE>.v`, its manifest at `bitstreams/<DESIGN>/manifest.json`.

#![forbid(unsafe_code)]

pub mod layout;

/// Verilog name of the accelerator's top module (the one implementing this register map).
pub const TOP_MODULE: &str = "tollgate_top";
/// Design name of the accelerator (its folder under `bitstreams/`).
pub const DESIGN: &str = "tollgate";

/// `"TOLL"` in ASCII, read from [`regs::MAGIC`].
pub const MAGIC: u32 = 0x544F_4C4C;

/// ABI major version: bumped on any incompatible change of this crate's map or formats.
pub const ABI_MAJOR: u16 = 2;
/// ABI minor version: bumped on additions a version-1 driver can ignore.
pub const ABI_MINOR: u16 = 0;
/// Packed as the device reports it in [`regs::ABI_VERSION`].
pub const ABI_VERSION: u32 = ((ABI_MAJOR as u32) << 16) | ABI_MINOR as u32;

/// log2 of the Montgomery radix R of the elements crossing the boundary (R = 2^384 = 2^(32·12)).
pub const MONT_R_LOG2: u32 = 384;

/// Words of one Fp element.
pub const FP_WORDS: usize = 12;
/// Words of one Fp2 element.
pub const FP2_WORDS: usize = 2 * FP_WORDS;
/// Words of one projective G1 point.
pub const G1_WORDS: usize = 3 * FP_WORDS;
/// Words of one projective G2 point.
pub const G2_WORDS: usize = 3 * FP2_WORDS;
/// Words of one 64-bit scalar.
pub const SCALAR_WORDS: usize = 2;
/// Words of the design hash (a SHA-256) in the identity page.
pub const DESIGN_HASH_WORDS: usize = 8;

/// The BLS12-381 base field modulus p, little-endian u32 words.
pub const P_WORDS: [u32; FP_WORDS] = [
    0xffff_aaab,
    0xb9fe_ffff,
    0xb153_ffff,
    0x1eab_fffe,
    0xf6b0_f624,
    0x6730_d2a0,
    0xf38512bf,
    0x64774b84,
    0x434b_acd7,
    0x4b1b_a7b6,
    0x397f_e69a,
    0x1a01_11ea,
];

/// Byte offsets of the registers in BAR0 (all 32-bit, naturally aligned).
pub mod regs {
    // ---- identity page (read-only) ----
    /// [`crate::MAGIC`].
    pub const MAGIC: u32 = 0x000;
    /// [`crate::ABI_VERSION`] (major << 16 | minor).
    pub const ABI_VERSION: u32 = 0x004;
    /// First of [`crate::DESIGN_HASH_WORDS`] words of the design hash; word i holds hash bytes
    /// 4i..4i+4 little-endian (so the hex string of the manifest reads bytes in order).
    pub const DESIGN_HASH: u32 = 0x008;
    /// Bit mask of supported opcodes: bit n set ⇔ opcode n is implemented.
    pub const CAPABILITIES: u32 = 0x028;
    /// The clock the design is built for, in kHz (250 MHz → 250_000).
    pub const CLOCK_KHZ: u32 = 0x02C;
    /// log2 of the Montgomery radix used by the data encodings ([`crate::MONT_R_LOG2`]).
    pub const MONT_R_LOG2: u32 = 0x030;
    /// Capacity of the input FIFO in words.
    pub const IN_FIFO_DEPTH: u32 = 0x034;
    /// Capacity of the output FIFO in words.
    pub const OUT_FIFO_DEPTH: u32 = 0x038;
    /// Interleaved lanes K of the engine (see the crate docs, "Stream layout").
    pub const LANES: u32 = 0x03C;
    /// Points one aggregation body run consumes per lane.
    pub const AGGREGATE_FANIN: u32 = 0x040;

    // ---- control / status ----
    /// Write-only strobes and the enable bit, see [`crate::control`].
    pub const CONTROL: u32 = 0x100;
    /// Read-only state, see [`crate::status`].
    pub const STATUS: u32 = 0x104;
    /// Sticky error reasons, see [`crate::error`]; cleared by soft reset or
    /// [`crate::control::CLEAR_ERRORS`].
    pub const ERROR: u32 = 0x108;
    /// Read/write, no effect: the driver's liveness probe writes a pattern and reads it back.
    pub const SCRATCH: u32 = 0x10C;

    // ---- job queue ----
    /// Opcode of the next job ([`crate::Opcode`]).
    pub const JOB_OPCODE: u32 = 0x200;
    /// Rounds of the next job (body runs per lane, ≥ 1), see [`crate::layout`].
    pub const JOB_ROUNDS: u32 = 0x204;
    /// Writing the tag (low 16 bits) submits the job described by JOB_OPCODE/JOB_ROUNDS.
    pub const DOORBELL: u32 = 0x208;
    /// Completion of the job in flight, see [`crate::completion`].
    pub const COMPLETION: u32 = 0x20C;
    /// Any write acknowledges a valid completion: the device returns to READY.
    pub const COMPLETION_ACK: u32 = 0x210;
    /// Words the input FIFO can accept right now.
    pub const IN_FIFO_FREE: u32 = 0x214;
    /// Words waiting in the output FIFO.
    pub const OUT_FIFO_COUNT: u32 = 0x218;

    // ---- performance counters (read-only, 64-bit as lo/hi; read lo first, hi is latched) ----
    /// Clock cycles since power-on (or full reset), low word.
    pub const CYCLES_LO: u32 = 0x300;
    /// High word latched when CYCLES_LO was read.
    pub const CYCLES_HI: u32 = 0x304;
    /// Cycles during which a job was in flight, low word.
    pub const BUSY_CYCLES_LO: u32 = 0x308;
    /// High word latched when BUSY_CYCLES_LO was read.
    pub const BUSY_CYCLES_HI: u32 = 0x30C;
    /// Jobs completed (any status).
    pub const JOBS_DONE: u32 = 0x310;
    /// Body runs (rounds × lanes) of completed jobs.
    pub const RUNS_DONE: u32 = 0x314;
    /// Cycles of the last completed job, from doorbell to completion.
    pub const LAST_JOB_CYCLES: u32 = 0x318;
    /// Cycles in which the engine's multiplier accepted an operand pair (wraps at 2^32):
    /// with BUSY_CYCLES, the multiplier's utilisation.
    pub const MUL_ISSUES: u32 = 0x31C;

    // ---- data windows ----
    /// Write-only: push one word of job input.
    pub const IN_FIFO: u32 = 0x400;
    /// Read-only: pop one word of job output.
    pub const OUT_FIFO: u32 = 0x404;

    /// Size of the register space (BAR0 must be at least this large).
    pub const SPAN: u32 = 0x1000;
}

/// Bits of [`regs::CONTROL`] (writes; SOFT_RESET and CLEAR_ERRORS self-clear).
pub mod control {
    /// Drop the job in flight, empty both FIFOs, clear errors and completion.
    pub const SOFT_RESET: u32 = 1 << 0;
    /// Allow jobs to start; while clear, doorbells are refused with
    /// [`crate::error::NOT_ENABLED`].
    pub const ENABLE: u32 = 1 << 1;
    /// Clear [`crate::regs::ERROR`] without touching the job.
    pub const CLEAR_ERRORS: u32 = 1 << 2;
}

/// Bits of [`regs::STATUS`].
pub mod status {
    /// Idle: a doorbell would be accepted.
    pub const READY: u32 = 1 << 0;
    /// A job is in flight.
    pub const BUSY: u32 = 1 << 1;
    /// [`crate::regs::ERROR`] is non-zero.
    pub const ERROR: u32 = 1 << 2;
    /// [`crate::regs::COMPLETION`] holds a valid completion not yet acknowledged.
    pub const DONE: u32 = 1 << 3;
    /// [`crate::control::ENABLE`] is set.
    pub const ENABLED: u32 = 1 << 4;
}

/// Bits of [`regs::ERROR`].
pub mod error {
    /// Doorbell with an opcode the device does not implement.
    pub const BAD_OPCODE: u32 = 1 << 0;
    /// Doorbell with JOB_ROUNDS = 0, or more rounds than the buffers hold.
    pub const BAD_ROUNDS: u32 = 1 << 1;
    /// Doorbell while a job was in flight or a completion was pending.
    pub const BUSY_DOORBELL: u32 = 1 << 2;
    /// Write to IN_FIFO while it was full, or with no job to consume it.
    pub const IN_OVERFLOW: u32 = 1 << 3;
    /// Read of OUT_FIFO while it was empty.
    pub const OUT_UNDERFLOW: u32 = 1 << 4;
    /// Doorbell while not enabled.
    pub const NOT_ENABLED: u32 = 1 << 5;
    /// The engine detected an internal inconsistency (e.g. parity).
    pub const INTERNAL: u32 = 1 << 6;
    /// Access to an unmapped register address.
    pub const BAD_ADDRESS: u32 = 1 << 7;
}

/// Layout of [`regs::COMPLETION`].
pub mod completion {
    /// Set while the completion is valid (cleared by COMPLETION_ACK or soft reset).
    pub const VALID: u32 = 1 << 31;
    /// Tag of the job, bits 15..0.
    pub const TAG_MASK: u32 = 0xFFFF;
    /// Status code, bits 23..16 ([`crate::CompletionStatus`]).
    pub const STATUS_SHIFT: u32 = 16;
    /// Mask of the status code after shifting.
    pub const STATUS_MASK: u32 = 0xFF;
}

/// PCI identity the bitstream's PCIe core is configured with (the default the PCIe backend
/// looks for when no address is given).
pub mod pci {
    /// Xilinx/AMD's vendor id, as the PCIe hard block ships.
    pub const VENDOR_ID: u16 = 0x10EE;
    /// Tollgate's device id within it.
    pub const DEVICE_ID: u16 = 0x7011;
}

/// Port names and timing of the top level's register bus (see the crate docs).
pub mod bus {
    /// Clock input.
    pub const CLOCK: &str = "clock";
    /// Synchronous active-high reset (full reset: also clears the performance counters).
    pub const RESET: &str = "reset";
    /// Byte address, 12 bits used ([`crate::regs::SPAN`]).
    pub const ADDR: &str = "bus_addr";
    /// Write data.
    pub const WDATA: &str = "bus_wdata";
    /// Write strobe, one cycle per write.
    pub const WRITE: &str = "bus_write";
    /// Read strobe, one cycle per read.
    pub const READ: &str = "bus_read";
    /// Read data, valid while `rvalid` is high.
    pub const RDATA: &str = "bus_rdata";
    /// One-cycle pulse answering a read, registered: at the earliest on the clock edge after
    /// the one that sampled `read`.
    pub const RVALID: &str = "bus_rvalid";
    /// Level interrupt: a completion is valid. A hint only; completion lives in registers.
    pub const IRQ: &str = "irq";
    /// Cycles within which a read must be answered.
    pub const MAX_READ_LATENCY: u32 = 16;
}

/// The work the device does. Each opcode's bit in [`regs::CAPABILITIES`] is `1 << opcode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Opcode {
    /// Sum of `count` G1 points → one G1 point (aggregate public keys).
    AggregateG1 = 1,
    /// Sum of `count` G2 points → one G2 point (aggregate signatures).
    AggregateG2 = 2,
    /// Σ sᵢ·Pᵢ over `count` (u64 scalar, G1 point) pairs → one G1 point (batch blinding).
    MultiScalarG1 = 3,
    /// Σ sᵢ·Pᵢ over `count` (u64 scalar, G2 point) pairs → one G2 point (batch blinding).
    MultiScalarG2 = 4,
    /// sᵢ·Pᵢ for each of `count` (u64 scalar, G1 point) pairs → `count` G1 points.
    ScalarMulG1 = 5,
    /// sᵢ·Pᵢ for each of `count` (u64 scalar, G2 point) pairs → `count` G2 points.
    ScalarMulG2 = 6,
}

/// Which group an opcode works in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Group {
    /// Points over Fp.
    G1,
    /// Points over Fp2.
    G2,
}

impl Group {
    /// Words of one projective point of this group.
    pub const fn point_words(self) -> usize {
        match self {
            Group::G1 => G1_WORDS,
            Group::G2 => G2_WORDS,
        }
    }
}

impl Opcode {
    /// Every opcode, in numeric order.
    pub const ALL: [Opcode; 6] = [
        Opcode::AggregateG1,
        Opcode::AggregateG2,
        Opcode::MultiScalarG1,
        Opcode::MultiScalarG2,
        Opcode::ScalarMulG1,
        Opcode::ScalarMulG2,
    ];

    /// Decodes a JOB_OPCODE value.
    pub fn from_u32(value: u32) -> Option<Opcode> {
        Opcode::ALL.into_iter().find(|op| *op as u32 == value)
    }

    /// This opcode's bit in [`regs::CAPABILITIES`].
    pub const fn capability_bit(self) -> u32 {
        1 << (self as u32)
    }

    /// The group the opcode works in.
    pub const fn group(self) -> Group {
        match self {
            Opcode::AggregateG1 | Opcode::MultiScalarG1 | Opcode::ScalarMulG1 => Group::G1,
            Opcode::AggregateG2 | Opcode::MultiScalarG2 | Opcode::ScalarMulG2 => Group::G2,
        }
    }

    /// Whether each input item is preceded by a 64-bit scalar.
    pub const fn has_scalars(self) -> bool {
        !matches!(self, Opcode::AggregateG1 | Opcode::AggregateG2)
    }

    /// Input words of one item: the scalar (if any) then the point.
    pub const fn item_words(self) -> usize {
        let scalar = if self.has_scalars() { SCALAR_WORDS } else { 0 };
        scalar + self.group().point_words()
    }

    /// Whether the job sums its items (one result) rather than mapping each (one per item).
    pub const fn is_sum(self) -> bool {
        !matches!(self, Opcode::ScalarMulG1 | Opcode::ScalarMulG2)
    }
}

/// Status code in a completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum CompletionStatus {
    /// The output FIFO holds the job's result.
    Ok = 0,
    /// The job failed; [`regs::ERROR`] says why. The output FIFO holds nothing of value.
    Failed = 1,
}

impl CompletionStatus {
    /// Decodes the status field of a completion.
    pub fn from_u32(value: u32) -> Option<CompletionStatus> {
        match value {
            0 => Some(CompletionStatus::Ok),
            1 => Some(CompletionStatus::Failed),
            _ => None,
        }
    }
}

/// A decoded [`regs::COMPLETION`] value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completion {
    /// The job's tag.
    pub tag: u16,
    /// Raw status code (decode with [`CompletionStatus::from_u32`]).
    pub status: u32,
}

impl Completion {
    /// Decodes a COMPLETION register value; `None` while no completion is valid.
    pub fn decode(raw: u32) -> Option<Completion> {
        (raw & completion::VALID != 0).then_some(Completion {
            tag: (raw & completion::TAG_MASK) as u16,
            status: (raw >> completion::STATUS_SHIFT) & completion::STATUS_MASK,
        })
    }

    /// Encodes a valid completion as the device presents it.
    pub const fn encode(tag: u16, status: CompletionStatus) -> u32 {
        completion::VALID | ((status as u32) << completion::STATUS_SHIFT) | tag as u32
    }
}

/// Packs a 32-byte design hash into identity-page words (word i = bytes 4i..4i+4, LE).
pub fn design_hash_words(hash: &[u8; 32]) -> [u32; DESIGN_HASH_WORDS] {
    let mut words = [0u32; DESIGN_HASH_WORDS];
    for (word, chunk) in words.iter_mut().zip(hash.chunks_exact(4)) {
        *word = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
    }
    words
}

/// Inverse of [`design_hash_words`].
pub fn design_hash_bytes(words: &[u32; DESIGN_HASH_WORDS]) -> [u8; 32] {
    let mut hash = [0u8; 32];
    for (chunk, word) in hash.chunks_exact_mut(4).zip(words) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opcodes_round_trip_and_sizes_follow_the_formats() {
        for op in Opcode::ALL {
            assert_eq!(Opcode::from_u32(op as u32), Some(op));
        }
        assert_eq!(Opcode::from_u32(0), None);
        assert_eq!(Opcode::from_u32(7), None);
        assert_eq!(Opcode::AggregateG1.item_words(), 36);
        assert_eq!(Opcode::MultiScalarG2.item_words(), 2 + 72);
        assert!(Opcode::MultiScalarG2.is_sum() && !Opcode::ScalarMulG1.is_sum());
    }

    #[test]
    fn completion_encoding_round_trips() {
        let raw = Completion::encode(0xBEEF, CompletionStatus::Failed);
        assert_eq!(
            Completion::decode(raw),
            Some(Completion {
                tag: 0xBEEF,
                status: 1
            })
        );
        assert_eq!(Completion::decode(raw & !completion::VALID), None);
    }

    #[test]
    fn design_hash_packing_round_trips_in_byte_order() {
        let mut hash = [0u8; 32];
        for (i, b) in hash.iter_mut().enumerate() {
            *b = i as u8;
        }
        let words = design_hash_words(&hash);
        assert_eq!(words[0], 0x0302_0100);
        assert_eq!(design_hash_bytes(&words), hash);
    }

    #[test]
    fn registers_are_aligned_distinct_and_inside_the_span() {
        let all = [
            regs::MAGIC,
            regs::ABI_VERSION,
            regs::DESIGN_HASH,
            regs::CAPABILITIES,
            regs::CLOCK_KHZ,
            regs::MONT_R_LOG2,
            regs::IN_FIFO_DEPTH,
            regs::OUT_FIFO_DEPTH,
            regs::LANES,
            regs::AGGREGATE_FANIN,
            regs::CONTROL,
            regs::STATUS,
            regs::ERROR,
            regs::SCRATCH,
            regs::JOB_OPCODE,
            regs::JOB_ROUNDS,
            regs::DOORBELL,
            regs::COMPLETION,
            regs::COMPLETION_ACK,
            regs::IN_FIFO_FREE,
            regs::OUT_FIFO_COUNT,
            regs::CYCLES_LO,
            regs::CYCLES_HI,
            regs::BUSY_CYCLES_LO,
            regs::BUSY_CYCLES_HI,
            regs::JOBS_DONE,
            regs::RUNS_DONE,
            regs::LAST_JOB_CYCLES,
            regs::MUL_ISSUES,
            regs::IN_FIFO,
            regs::OUT_FIFO,
        ];
        for (i, a) in all.iter().enumerate() {
            assert_eq!(a % 4, 0);
            assert!(*a < regs::SPAN);
            assert!(
                all[i + 1..].iter().all(|b| b != a),
                "duplicate address {a:#x}"
            );
        }
        // The hash occupies 8 words and must not overlap CAPABILITIES.
        assert_eq!(
            regs::DESIGN_HASH + 4 * DESIGN_HASH_WORDS as u32,
            regs::CAPABILITIES
        );
    }

    #[test]
    fn modulus_words_match_the_published_prime() {
        // p = 0x1a0111ea...aaab; check the top and bottom words and that p is odd.
        assert_eq!(P_WORDS[11], 0x1a01_11ea);
        assert_eq!(P_WORDS[0], 0xffff_aaab);
    }
}
