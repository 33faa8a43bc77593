//! Register map and job formats shared by the RTL (hdl/) and the drivers.
//!
//! This crate is the single definition of how a host talks to a Tollgate accelerator. The RTL's
//! top level (hdl/) decodes exactly these addresses and the drivers (drivers/) issue exactly
//! these accesses; neither side writes a number of its own.
//!
//! # Transport (ABI 3: descriptor rings and bus-master DMA)
//!
//! BAR0 holds only registers: the identity page, control/status, the ring registers and the
//! performance counters. Job data never crosses as MMIO: the host places a submission ring,
//! a completion ring and each job's input and output buffers in host memory mapped for the
//! device (the *DMA window*, [`regs::WINDOW_BASE_LO`]/[`regs::WINDOW_SIZE_LO`]), and the
//! device moves them itself through its memory port ([`mem`]). The device refuses to touch
//! any byte outside the window.
//!
//! # Register bus (the top level's ports, used by the Verilator backend)
//!
//! The top level exposes a simple synchronous register bus, one clock domain, see [`bus`]:
//! a write is one cycle with `write` high (address and data sampled on that edge, always
//! accepted); a read is one cycle with `read` high, and the device answers with `rdata` and a
//! one-cycle `rvalid` pulse some cycles later (at most [`bus::MAX_READ_LATENCY`]). The host
//! issues one access at a time. No read has a side effect. On PCIe a bridge maps MMIO
//! transactions to the same bus.
//!
//! # Memory port
//!
//! See [`mem`]: a read-request channel (one [`mem::BEAT_BYTES`]-byte beat per request, at
//! most [`mem::MAX_OUTSTANDING_READS`] outstanding), an in-order read-response channel with an
//! error flag, and a posted write channel (one beat per request). All in the device's clock
//! domain; valid/ready handshakes as in AXI (a transfer happens on an edge where both are
//! high). On a board the PCIe bridge turns these into memory read/write TLPs and holds the
//! read completions for the outstanding requests.
//!
//! # Job protocol (rings, NVMe-style)
//!
//! 1. Once, after a reset: write the window, [`regs::SQ_BASE_LO`]/[`regs::CQ_BASE_LO`] and
//!    [`regs::RING_LOG2`] (2^n entries each, n ≤ [`regs::RING_MAX_LOG2`]), zero the
//!    completion ring, then enable.
//! 2. Submit: write a [`Descriptor`] into submission slot `tail`, then write the new tail
//!    (`tail + 1 mod 2^n`) to [`regs::SQ_TAIL`] (the doorbell). The ring holds at most
//!    2^n − 1 jobs; any number of them may be in flight.
//! 3. The device fetches descriptors in order, checks each (opcode, rounds, both lengths
//!    exactly what the rounds need, 32-byte alignment, both buffers inside the window), reads
//!    the input by DMA into its job buffer, runs the engine, writes the output buffer, then
//!    writes a [`CompletionEntry`] into completion slot `cq_tail`. It loads the next job's
//!    input while the engine runs (two input buffers), so keep at least two jobs queued for
//!    the transfers to hide behind the compute. Completions come in descriptor order. A
//!    descriptor it cannot serve completes (in its turn) with [`CompletionStatus::Failed`]
//!    and the reason, and none of its buffers is touched.
//! 4. The host polls its own memory: a completion slot is new when its phase bit equals the
//!    host's expected phase (1 on the first lap, flipped at each wrap; the ring is zeroed at
//!    setup). After consuming it the host writes its new head to [`regs::CQ_HEAD`]; the device
//!    never writes a slot the host has not consumed.
//!
//! A job that fails sets its bits in [`regs::ERROR`] too (sticky); the host recovers with
//! [`control::SOFT_RESET`], which drops every job, zeroes the ring indices (the host zeroes
//! its completion ring again), discards the responses of reads still outstanding and clears
//! the error bits, but keeps the ring addresses, the window, the identity and the counters.
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
//! - Fp12 (MillerLoop's lane values): 12 Fp in tower order, Fp12 = c0 + c1·w over
//!   Fp6 = c0 + c1·v + c2·v² over Fp2: c0.c0.c0, c0.c0.c1, c0.c1.c0, …, c1.c2.c1.
//!
//! # Verification opcodes (ABI 3.1, 3.2)
//!
//! [`Opcode::DecodeG2`], [`Opcode::HashToG2`] and [`Opcode::MillerLoop`] (see each for its item
//! and result format) are served by the design [`VERIFY_DESIGN`], whose engine runs the
//! verification microcode; [`DESIGN`] serves the six curve opcodes. [`VERIFY_DESIGN`] also
//! serves the two blinding opcodes of a batch check, [`Opcode::ScalarMulG1`] (rᵢ·pkᵢ, in the
//! format of ABI 3.0) and, since 3.2, [`Opcode::BucketSumG2`] (Σ rᵢσᵢ by the bucket method,
//! in place of 3.1's [`Opcode::MultiScalarG2`]: a step per lane per body run, the host's
//! layout in [`buckets`]), so that one device runs a whole min_pk batch check
//! ([`Opcode::MIN_PK_BATCH`]). The identity check refuses opcodes newer than a device's minor.
//! DecodeG2's, HashToG2's and MillerLoop's items are Fp elements only (no scalars), so
//! nothing is packed: each element crosses as 48 bytes, and a round's element count is even (2, 4 or 6 per item),
//! which keeps the stream whole beats for any lane count; the scalar opcodes need a lane count
//! whose scalars fill whole beats (a multiple of 4 lanes). Padding items: x = 0 (DecodeG2) and
//! u0 = u1 = 0 (HashToG2), whose results are dropped; for MillerLoop P = (0, 0) with Q = the
//! G2 generator ([`layout::G2_GENERATOR_WORDS`]): with P's coordinates 0 every line
//! contributes only its constant term, an Fp2 value, so a padded lane's value lies in Fp2 and
//! the final exponentiation maps it to 1.
//!
//! In host memory (ABI 3) an element is its 12 words as 48 little-endian bytes, with no
//! padding, except that a scalar element crosses as its 2 words only (8 bytes; the device
//! zero-extends it): a G1 scalar-multiplication item is 8 + 144 bytes instead of 192. The
//! stream is grouped by element kind (all lanes' element e of a run, then e + 1, see
//! "Stream layout"), and the generator checks that every group is a whole number of beats,
//! so the device's unpacker never straddles a kind change.
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

pub mod buckets;
pub mod layout;

/// Verilog name of the accelerator's top module (the one implementing this register map).
pub const TOP_MODULE: &str = "tollgate_top";
/// Design name of the accelerator (its folder under `bitstreams/`).
pub const DESIGN: &str = "tollgate";
/// Verilog name of the whole-verification accelerator's top module: the same register map
/// and rings in front of the verification engine, serving [`Opcode::MIN_PK_BATCH`].
pub const VERIFY_TOP_MODULE: &str = "tollgate_top_verify";
/// Design name of the whole-verification accelerator.
pub const VERIFY_DESIGN: &str = "tollgate_verify";

/// `"TOLL"` in ASCII, read from [`regs::MAGIC`].
pub const MAGIC: u32 = 0x544F_4C4C;

/// ABI major version: bumped on any incompatible change of this crate's map or formats.
pub const ABI_MAJOR: u16 = 3;
/// ABI minor version: bumped on additions a driver of the same major can ignore.
/// 3.2 adds [`Opcode::BucketSumG2`] (Σ rᵢσᵢ by the bucket method), which [`VERIFY_DESIGN`]
/// serves instead of [`Opcode::MultiScalarG2`]. 3.1 adds the verification opcodes
/// ([`Opcode::DecodeG2`], [`Opcode::HashToG2`],
/// [`Opcode::MillerLoop`]) and the design that serves them ([`VERIFY_DESIGN`]); what 3.0
/// defined is unchanged, and a design says which opcodes it serves in
/// [`regs::CAPABILITIES`].
pub const ABI_MINOR: u16 = 2;
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
/// Words of one Fp12 element (tower order, 12 Fp).
pub const FP12_WORDS: usize = 12 * FP_WORDS;
/// Words of one 64-bit scalar.
pub const SCALAR_WORDS: usize = 2;
/// Bytes of an Fp element in host memory (12 words, no padding).
pub const FP_BYTES: usize = 4 * FP_WORDS;
/// Bytes of a scalar element in host memory (compact: 2 words, not 12).
pub const SCALAR_BYTES: usize = 4 * SCALAR_WORDS;
/// log2 of the most entries a ring may have (the device's ring indices are this wide).
pub const RING_MAX_LOG2: u32 = 8;
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
    /// Capacity of one job's input buffer (the device has two), in 12-word element words.
    pub const IN_BUFFER_WORDS: u32 = 0x034;
    /// Capacity of the job output buffer, in words.
    pub const OUT_BUFFER_WORDS: u32 = 0x038;
    /// Interleaved lanes K of the engine (see the crate docs, "Stream layout").
    pub const LANES: u32 = 0x03C;
    /// Points one aggregation body run consumes per lane.
    pub const AGGREGATE_FANIN: u32 = 0x040;
    /// Largest [`RING_LOG2`] the device accepts.
    pub const RING_MAX_LOG2: u32 = 0x044;

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

    // ---- rings and DMA window (read/write; set while no job is queued) ----
    /// Bus address of the submission ring (2^RING_LOG2 [`crate::Descriptor`]s), low word.
    pub const SQ_BASE_LO: u32 = 0x200;
    /// High word.
    pub const SQ_BASE_HI: u32 = 0x204;
    /// Bus address of the completion ring (2^RING_LOG2 [`crate::CompletionEntry`]s), low word.
    pub const CQ_BASE_LO: u32 = 0x208;
    /// High word.
    pub const CQ_BASE_HI: u32 = 0x20C;
    /// log2 of the entries of each ring.
    pub const RING_LOG2: u32 = 0x210;
    /// Doorbell: the host's submission tail (index of the next free slot).
    pub const SQ_TAIL: u32 = 0x214;
    /// Read-only: the device's submission head (next descriptor it will fetch).
    pub const SQ_HEAD: u32 = 0x218;
    /// The host's completion head (next slot it will consume).
    pub const CQ_HEAD: u32 = 0x21C;
    /// Read-only: the device's completion tail (next slot it will write).
    pub const CQ_TAIL: u32 = 0x220;
    /// First bus address the device may access, low word.
    pub const WINDOW_BASE_LO: u32 = 0x224;
    /// High word.
    pub const WINDOW_BASE_HI: u32 = 0x228;
    /// Bytes from WINDOW_BASE the device may access, low word.
    pub const WINDOW_SIZE_LO: u32 = 0x22C;
    /// High word.
    pub const WINDOW_SIZE_HI: u32 = 0x230;

    // ---- performance counters (read-only, 64-bit as lo/hi; read lo first, hi is latched) ----
    /// Clock cycles since power-on (or full reset), low word.
    pub const CYCLES_LO: u32 = 0x300;
    /// High word latched when CYCLES_LO was read.
    pub const CYCLES_HI: u32 = 0x304;
    /// Cycles during which a job was in the device, low word.
    pub const BUSY_CYCLES_LO: u32 = 0x308;
    /// High word latched when BUSY_CYCLES_LO was read.
    pub const BUSY_CYCLES_HI: u32 = 0x30C;
    /// Jobs completed (any status).
    pub const JOBS_DONE: u32 = 0x310;
    /// Body runs (rounds × lanes) of completed jobs.
    pub const RUNS_DONE: u32 = 0x314;
    /// Cycles in which the engine's multiplier accepted an operand pair (wraps at 2^32):
    /// with BUSY_CYCLES, the multiplier's utilisation.
    pub const MUL_ISSUES: u32 = 0x31C;
    /// Bytes the device read from host memory (wraps at 2^32).
    pub const DMA_READ_BYTES: u32 = 0x320;
    /// Bytes the device wrote to host memory (wraps at 2^32).
    pub const DMA_WRITE_BYTES: u32 = 0x324;

    /// Size of the register space (BAR0 must be at least this large).
    pub const SPAN: u32 = 0x1000;
}

/// Bits of [`regs::CONTROL`] (writes; SOFT_RESET and CLEAR_ERRORS self-clear).
pub mod control {
    /// Drop every job, zero the ring indices, discard outstanding reads, clear errors.
    pub const SOFT_RESET: u32 = 1 << 0;
    /// Allow the device to fetch descriptors; while clear, submissions wait.
    pub const ENABLE: u32 = 1 << 1;
    /// Clear [`crate::regs::ERROR`] without touching the jobs.
    pub const CLEAR_ERRORS: u32 = 1 << 2;
}

/// Bits of [`regs::STATUS`].
pub mod status {
    /// Idle: no job in the device, the submission ring empty, no read outstanding.
    pub const READY: u32 = 1 << 0;
    /// A job is in the device.
    pub const BUSY: u32 = 1 << 1;
    /// [`crate::regs::ERROR`] is non-zero.
    pub const ERROR: u32 = 1 << 2;
    /// The completion ring holds entries the host has not consumed.
    pub const DONE: u32 = 1 << 3;
    /// [`crate::control::ENABLE`] is set.
    pub const ENABLED: u32 = 1 << 4;
}

/// Bits of [`regs::ERROR`] and of a failed completion's error word.
pub mod error {
    /// A descriptor with an opcode the device does not implement.
    pub const BAD_OPCODE: u32 = 1 << 0;
    /// A descriptor with rounds = 0, or more rounds than the job buffers hold.
    pub const BAD_ROUNDS: u32 = 1 << 1;
    /// A descriptor whose input or output length is not exactly what its rounds need.
    pub const BAD_LENGTH: u32 = 1 << 2;
    /// A descriptor whose buffer is unaligned or not inside the DMA window.
    pub const OUT_OF_WINDOW: u32 = 1 << 3;
    /// A DMA read came back with an error (the job's input or the descriptor).
    pub const DMA_READ: u32 = 1 << 4;
    /// The rings are misconfigured: RING_LOG2 too large, a ring outside the window, or a
    /// doorbell/head index outside the ring.
    pub const BAD_RING: u32 = 1 << 5;
    /// The engine detected an internal inconsistency (e.g. a lane out of order).
    pub const INTERNAL: u32 = 1 << 6;
    /// Access to an unmapped register address.
    pub const BAD_ADDRESS: u32 = 1 << 7;
}

/// A bit field of a ring entry: `bits` bits from bit `shift` of little-endian word `word`
/// (64-bit fields span words `word` and `word + 1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Word index in the entry.
    pub word: usize,
    /// First bit within that word.
    pub shift: u32,
    /// Width in bits.
    pub bits: u32,
}

impl Field {
    /// Bit position of the field's least significant bit in the whole entry.
    pub const fn lsb(self) -> u32 {
        self.word as u32 * 32 + self.shift
    }

    /// Bit position of its most significant bit.
    pub const fn msb(self) -> u32 {
        self.lsb() + self.bits - 1
    }

    fn get(self, words: &[u32; ENTRY_WORDS]) -> u64 {
        let lo =
            words[self.word] as u64 | (words.get(self.word + 1).copied().unwrap_or(0) as u64) << 32;
        let mask = if self.bits == 64 {
            u64::MAX
        } else {
            (1u64 << self.bits) - 1
        };
        (lo >> self.shift) & mask
    }

    fn set(self, words: &mut [u32; ENTRY_WORDS], value: u64) {
        let mask = if self.bits == 64 {
            u64::MAX
        } else {
            (1u64 << self.bits) - 1
        };
        let value = (value & mask) << self.shift;
        words[self.word] |= value as u32;
        if self.shift + self.bits > 32 {
            words[self.word + 1] |= (value >> 32) as u32;
        }
    }
}

/// Words of a ring entry (descriptor or completion): one memory-port beat.
pub const ENTRY_WORDS: usize = mem::BEAT_BYTES / 4;

/// Fields of a [`Descriptor`] as it sits in the submission ring.
pub mod descriptor {
    use super::Field;
    /// [`crate::Opcode`].
    pub const OPCODE: Field = Field {
        word: 0,
        shift: 0,
        bits: 8,
    };
    /// Rounds (body runs per lane).
    pub const ROUNDS: Field = Field {
        word: 0,
        shift: 8,
        bits: 8,
    };
    /// The host's tag, returned in the completion.
    pub const TAG: Field = Field {
        word: 0,
        shift: 16,
        bits: 16,
    };
    /// Input bytes.
    pub const IN_LEN: Field = Field {
        word: 1,
        shift: 0,
        bits: 32,
    };
    /// Input bus address.
    pub const IN_ADDR: Field = Field {
        word: 2,
        shift: 0,
        bits: 64,
    };
    /// Output bytes.
    pub const OUT_LEN: Field = Field {
        word: 4,
        shift: 0,
        bits: 32,
    };
    /// Output bus address.
    pub const OUT_ADDR: Field = Field {
        word: 6,
        shift: 0,
        bits: 64,
    };
}

/// Fields of a [`CompletionEntry`] as the device writes it.
pub mod completion {
    use super::Field;
    /// The job's tag.
    pub const TAG: Field = Field {
        word: 0,
        shift: 0,
        bits: 16,
    };
    /// [`crate::CompletionStatus`].
    pub const STATUS: Field = Field {
        word: 0,
        shift: 16,
        bits: 8,
    };
    /// Phase: 1 on the ring's first lap, flipped at each wrap.
    pub const PHASE: Field = Field {
        word: 0,
        shift: 31,
        bits: 1,
    };
    /// [`crate::error`] bits of a failed job.
    pub const ERROR: Field = Field {
        word: 1,
        shift: 0,
        bits: 32,
    };
    /// Cycles from the descriptor fetch to the last input beat (transfer in).
    pub const LOAD_CYCLES: Field = Field {
        word: 2,
        shift: 0,
        bits: 32,
    };
    /// Cycles the engine ran.
    pub const COMPUTE_CYCLES: Field = Field {
        word: 3,
        shift: 0,
        bits: 32,
    };
    /// Cycles from the engine's end to the completion write (transfer out).
    pub const STORE_CYCLES: Field = Field {
        word: 4,
        shift: 0,
        bits: 32,
    };
}

/// A job as the host writes it into the submission ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Descriptor {
    /// What to compute.
    pub opcode: u32,
    /// Body runs per lane.
    pub rounds: u32,
    /// Returned in the completion.
    pub tag: u16,
    /// Input bus address (32-byte aligned).
    pub in_addr: u64,
    /// Input bytes ([`layout::Shape::input_bytes`]).
    pub in_len: u32,
    /// Output bus address (32-byte aligned).
    pub out_addr: u64,
    /// Output bytes ([`layout::Shape::output_bytes`]).
    pub out_len: u32,
}

impl Descriptor {
    /// The entry's words.
    pub fn encode(&self) -> [u32; ENTRY_WORDS] {
        let mut w = [0; ENTRY_WORDS];
        descriptor::OPCODE.set(&mut w, self.opcode.into());
        descriptor::ROUNDS.set(&mut w, self.rounds.into());
        descriptor::TAG.set(&mut w, self.tag.into());
        descriptor::IN_LEN.set(&mut w, self.in_len.into());
        descriptor::IN_ADDR.set(&mut w, self.in_addr);
        descriptor::OUT_LEN.set(&mut w, self.out_len.into());
        descriptor::OUT_ADDR.set(&mut w, self.out_addr);
        w
    }

    /// Reads an entry back (what the device sees).
    pub fn decode(w: &[u32; ENTRY_WORDS]) -> Descriptor {
        Descriptor {
            opcode: descriptor::OPCODE.get(w) as u32,
            rounds: descriptor::ROUNDS.get(w) as u32,
            tag: descriptor::TAG.get(w) as u16,
            in_len: descriptor::IN_LEN.get(w) as u32,
            in_addr: descriptor::IN_ADDR.get(w),
            out_len: descriptor::OUT_LEN.get(w) as u32,
            out_addr: descriptor::OUT_ADDR.get(w),
        }
    }
}

/// A completion as the device writes it into the completion ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompletionEntry {
    /// The job's tag.
    pub tag: u16,
    /// Raw status code (decode with [`CompletionStatus::from_u32`]).
    pub status: u32,
    /// Phase bit.
    pub phase: bool,
    /// [`error`] bits of a failed job.
    pub error: u32,
    /// See [`completion::LOAD_CYCLES`].
    pub load_cycles: u32,
    /// See [`completion::COMPUTE_CYCLES`].
    pub compute_cycles: u32,
    /// See [`completion::STORE_CYCLES`].
    pub store_cycles: u32,
}

impl CompletionEntry {
    /// Decodes a completion slot.
    pub fn decode(w: &[u32; ENTRY_WORDS]) -> CompletionEntry {
        CompletionEntry {
            tag: completion::TAG.get(w) as u16,
            status: completion::STATUS.get(w) as u32,
            phase: completion::PHASE.get(w) != 0,
            error: completion::ERROR.get(w) as u32,
            load_cycles: completion::LOAD_CYCLES.get(w) as u32,
            compute_cycles: completion::COMPUTE_CYCLES.get(w) as u32,
            store_cycles: completion::STORE_CYCLES.get(w) as u32,
        }
    }

    /// Encodes it as the device writes it.
    pub fn encode(&self) -> [u32; ENTRY_WORDS] {
        let mut w = [0; ENTRY_WORDS];
        completion::TAG.set(&mut w, self.tag.into());
        completion::STATUS.set(&mut w, self.status.into());
        completion::PHASE.set(&mut w, self.phase.into());
        completion::ERROR.set(&mut w, self.error.into());
        completion::LOAD_CYCLES.set(&mut w, self.load_cycles.into());
        completion::COMPUTE_CYCLES.set(&mut w, self.compute_cycles.into());
        completion::STORE_CYCLES.set(&mut w, self.store_cycles.into());
        w
    }
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
    /// Level interrupt: the completion ring holds unconsumed entries. A hint only.
    pub const IRQ: &str = "irq";
    /// Cycles within which a read must be answered.
    pub const MAX_READ_LATENCY: u32 = 16;
    /// Bits of `addr`: enough for every register of [`crate::regs::SPAN`].
    pub const ADDR_BITS: usize = crate::regs::SPAN.trailing_zeros() as usize;
    /// Bits of `wdata` and `rdata`: every register is one 32-bit word.
    pub const DATA_BITS: usize = 32;
}

/// The top level's memory port (see the crate docs, "Memory port"): names, widths, limits.
pub mod mem {
    /// Bytes of one beat (the data width, 256 bits): 8 GB/s at 250 MHz.
    pub const BEAT_BYTES: usize = 32;
    /// Bits of a bus address.
    pub const ADDR_BITS: u32 = 64;
    /// Read requests the device keeps outstanding at most (8 KiB: a PCIe round trip of
    /// ~1 µs at the port's full rate).
    pub const MAX_OUTSTANDING_READS: u32 = 256;
    /// Out: a read request is valid.
    pub const RD_VALID: &str = "mem_rd_valid";
    /// In: the memory takes the read request.
    pub const RD_READY: &str = "mem_rd_ready";
    /// Out: beat-aligned address of the read.
    pub const RD_ADDR: &str = "mem_rd_addr";
    /// In: a read response (in request order) is valid.
    pub const RRESP_VALID: &str = "mem_rresp_valid";
    /// Out: the device takes the response.
    pub const RRESP_READY: &str = "mem_rresp_ready";
    /// In: the beat read.
    pub const RRESP_DATA: &str = "mem_rresp_data";
    /// In: the read failed (IOMMU fault, poisoned completion); data is meaningless.
    pub const RRESP_ERR: &str = "mem_rresp_err";
    /// Out: a write request is valid.
    pub const WR_VALID: &str = "mem_wr_valid";
    /// In: the memory takes the write (posted: no response).
    pub const WR_READY: &str = "mem_wr_ready";
    /// Out: beat-aligned address of the write.
    pub const WR_ADDR: &str = "mem_wr_addr";
    /// Out: the beat written.
    pub const WR_DATA: &str = "mem_wr_data";
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
    /// Signature decoding (min_pk): per item the x-coordinate of a compressed G2 point (one
    /// Fp2, 24 words) → 72 words: a square root y of x³ + 4(1 + u) (Fp2), the curve residue
    /// y² − (x³ + 4(1 + u)) (Fp2) and the subgroup residue, the Z of ψ(P) + [|x|]P (Fp2).
    /// (x, ±y) is a point of G2 iff both residues are 0 (the subgroup residue does not
    /// depend on the sign of y). The host keeps the flag bits, the length and x < p, and
    /// picks the sign of y from the sort flag.
    DecodeG2 = 7,
    /// Hash to G2 after the host's hash_to_field: per item u0, u1 ∈ Fp2 (48 words) →
    /// [h_eff](map(u0) + map(u1)) (RFC 9380 simplified SWU, 3-isogeny, ψ-based
    /// clear_cofactor), a projective G2 point (72 words).
    HashToG2 = 8,
    /// Miller loops (min_pk): per item a pair (P ∈ G1, Q ∈ G2), both affine and not infinity,
    /// as P.x, P.y, Q.x, Q.y (72 words) → one Fp12 per lane (144 words, tower order
    /// c0.c0.c0, c0.c0.c1, c0.c1.c0, …, c1.c2.c1), the product of the optimal-ate Miller
    /// loops of the lane's pairs, conjugated for x < 0. The values equal the CPU's multi
    /// Miller loop only up to factors the final exponentiation maps to 1: the host
    /// multiplies the lane values and finishes with one final exponentiation.
    MillerLoop = 9,
    /// Σ kᵢσᵢ by the bucket method (min_pk's Σ rᵢσᵢ): per item one *step* of a lane, a flag
    /// word then a G2 point, in the format of [`Opcode::MultiScalarG2`]'s items (the flag
    /// crosses as a scalar: 2 words, 8 bytes) → per lane two projective G2 points (144
    /// words): T, the lane's Σ_b b·B_b, then S, the sum of its item points. A step is an
    /// item step (flag 0: S += P) or a boundary step (flag bit 0 set: T += S; the point is
    /// ignored, send infinity); S and T start at infinity in every job. The host lays out
    /// the steps (item q of a job runs on lane q mod K: [`buckets::BucketPlan::jobs`]),
    /// carries each lane's S into the next job as an item step of its own (S returns in the
    /// items' point format) and joins the lanes' T into Σ kᵢσᵢ ([`buckets`], "Jobs").
    /// Padding items (flag 0, infinity) change nothing.
    BucketSumG2 = 10,
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
    /// Every opcode, in numeric order: [`Opcode::CURVE`], then [`Opcode::VERIFY`].
    pub const ALL: [Opcode; 10] = {
        let mut all = [Opcode::AggregateG1; 10];
        let mut i = 0;
        while i < all.len() {
            all[i] = if i < Opcode::CURVE.len() {
                Opcode::CURVE[i]
            } else {
                Opcode::VERIFY[i - Opcode::CURVE.len()]
            };
            i += 1;
        }
        all
    };

    /// The curve opcodes of ABI 3.0 ([`DESIGN`] serves them).
    pub const CURVE: [Opcode; 6] = [
        Opcode::AggregateG1,
        Opcode::AggregateG2,
        Opcode::MultiScalarG1,
        Opcode::MultiScalarG2,
        Opcode::ScalarMulG1,
        Opcode::ScalarMulG2,
    ];

    /// The verification stages of ABI 3.1 and 3.2 ([`VERIFY_DESIGN`] serves them).
    pub const VERIFY: [Opcode; 4] = [
        Opcode::DecodeG2,
        Opcode::HashToG2,
        Opcode::MillerLoop,
        Opcode::BucketSumG2,
    ];

    /// The stages of a min_pk batch check in the order they run: what [`VERIFY_DESIGN`]
    /// serves (the verification stages and the two blinding opcodes: rᵢ·pkᵢ by
    /// [`Opcode::ScalarMulG1`], Σ rᵢσᵢ by [`Opcode::BucketSumG2`]).
    pub const MIN_PK_BATCH: [Opcode; 5] = [
        Opcode::DecodeG2,
        Opcode::HashToG2,
        Opcode::ScalarMulG1,
        Opcode::BucketSumG2,
        Opcode::MillerLoop,
    ];

    /// The ABI minor version that defined the opcode: a device of an older minor that claims
    /// it in [`regs::CAPABILITIES`] is not what it says it is.
    pub const fn since_minor(self) -> u16 {
        match self {
            Opcode::DecodeG2 | Opcode::HashToG2 | Opcode::MillerLoop => 1,
            Opcode::BucketSumG2 => 2,
            _ => 0,
        }
    }

    /// Decodes a JOB_OPCODE value.
    pub fn from_u32(value: u32) -> Option<Opcode> {
        Opcode::ALL.into_iter().find(|op| *op as u32 == value)
    }

    /// This opcode's bit in [`regs::CAPABILITIES`].
    pub const fn capability_bit(self) -> u32 {
        1 << (self as u32)
    }

    /// The group the opcode's points are in (MillerLoop: its Q's; its P is in G1).
    pub const fn group(self) -> Group {
        match self {
            Opcode::AggregateG1 | Opcode::MultiScalarG1 | Opcode::ScalarMulG1 => Group::G1,
            _ => Group::G2,
        }
    }

    /// Whether each input item is preceded by a 64-bit scalar.
    pub const fn has_scalars(self) -> bool {
        matches!(
            self,
            Opcode::MultiScalarG1
                | Opcode::MultiScalarG2
                | Opcode::ScalarMulG1
                | Opcode::ScalarMulG2
                | Opcode::BucketSumG2
        )
    }

    /// Whether a body run takes several items (the aggregation fan-in) rather than one.
    pub const fn is_aggregate(self) -> bool {
        matches!(self, Opcode::AggregateG1 | Opcode::AggregateG2)
    }

    /// Fp elements of one item after its scalar: a point's coordinates, DecodeG2's x (2),
    /// HashToG2's u0, u1 (4), MillerLoop's P and Q (2 + 4).
    pub const fn data_elements(self) -> usize {
        match self {
            Opcode::DecodeG2 => 2,
            Opcode::HashToG2 => 4,
            Opcode::MillerLoop => 6,
            _ => self.group().point_words() / FP_WORDS,
        }
    }

    /// Input words of one item: the scalar (if any) then the data elements.
    pub const fn item_words(self) -> usize {
        let scalar = if self.has_scalars() { SCALAR_WORDS } else { 0 };
        scalar + self.data_elements() * FP_WORDS
    }

    /// Words of one result: a point (per item, or per lane for a sum), DecodeG2's y and two
    /// residues (72), MillerLoop's Fp12 per lane (144), BucketSumG2's T and S per lane (144).
    pub const fn result_words(self) -> usize {
        match self {
            Opcode::DecodeG2 => 3 * FP2_WORDS,
            Opcode::MillerLoop => FP12_WORDS,
            Opcode::BucketSumG2 => 2 * G2_WORDS,
            _ => self.group().point_words(),
        }
    }

    /// Whether the job reduces its items to one result per lane rather than mapping each
    /// (one result per item).
    pub const fn is_sum(self) -> bool {
        !matches!(
            self,
            Opcode::ScalarMulG1 | Opcode::ScalarMulG2 | Opcode::DecodeG2 | Opcode::HashToG2
        )
    }
}

/// Status code in a completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum CompletionStatus {
    /// The output buffer holds the job's result.
    Ok = 0,
    /// The job failed; the entry's error word says why. The output buffer may hold anything.
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
        assert_eq!(Opcode::from_u32(11), None);
        assert_eq!(Opcode::DecodeG2.item_words(), 24);
        assert_eq!(Opcode::DecodeG2.result_words(), 72);
        assert_eq!(Opcode::HashToG2.item_words(), 48);
        assert_eq!(Opcode::MillerLoop.item_words(), 72);
        assert_eq!(Opcode::MillerLoop.result_words(), 144);
        assert!(Opcode::MillerLoop.is_sum() && !Opcode::HashToG2.is_sum());
        for op in [Opcode::DecodeG2, Opcode::HashToG2, Opcode::MillerLoop] {
            assert!(!op.has_scalars());
        }
        // The bucket step: a flag in a scalar's place and a G2 point; T and S per lane.
        assert_eq!(Opcode::BucketSumG2.item_words(), 2 + 72);
        assert_eq!(Opcode::BucketSumG2.result_words(), 2 * 72);
        assert!(Opcode::BucketSumG2.is_sum());
        for (n, op) in Opcode::ALL.iter().enumerate() {
            assert_eq!(*op as usize, n + 1, "numeric order");
        }
        assert_eq!(Opcode::AggregateG1.item_words(), 36);
        assert_eq!(Opcode::MultiScalarG2.item_words(), 2 + 72);
        assert!(Opcode::MultiScalarG2.is_sum() && !Opcode::ScalarMulG1.is_sum());
    }

    #[test]
    fn ring_entries_round_trip_and_fields_stay_in_one_beat() {
        let d = Descriptor {
            opcode: 4,
            rounds: 200,
            tag: 0xBEEF,
            in_addr: 0x1_2345_6780,
            in_len: 123_456,
            out_addr: 0xFFFF_0000_0000_0020,
            out_len: 7_680,
        };
        assert_eq!(Descriptor::decode(&d.encode()), d);
        let c = CompletionEntry {
            tag: 7,
            status: 1,
            phase: true,
            error: error::OUT_OF_WINDOW,
            load_cycles: 1,
            compute_cycles: 2,
            store_cycles: 3,
        };
        assert_eq!(CompletionEntry::decode(&c.encode()), c);
        for f in [
            descriptor::OPCODE,
            descriptor::ROUNDS,
            descriptor::TAG,
            descriptor::IN_LEN,
            descriptor::IN_ADDR,
            descriptor::OUT_LEN,
            descriptor::OUT_ADDR,
            completion::TAG,
            completion::STATUS,
            completion::PHASE,
            completion::ERROR,
            completion::STORE_CYCLES,
        ] {
            assert!(f.msb() < 8 * mem::BEAT_BYTES as u32);
        }
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
            regs::IN_BUFFER_WORDS,
            regs::OUT_BUFFER_WORDS,
            regs::LANES,
            regs::AGGREGATE_FANIN,
            regs::RING_MAX_LOG2,
            regs::CONTROL,
            regs::STATUS,
            regs::ERROR,
            regs::SCRATCH,
            regs::SQ_BASE_LO,
            regs::SQ_BASE_HI,
            regs::CQ_BASE_LO,
            regs::CQ_BASE_HI,
            regs::RING_LOG2,
            regs::SQ_TAIL,
            regs::SQ_HEAD,
            regs::CQ_HEAD,
            regs::CQ_TAIL,
            regs::WINDOW_BASE_LO,
            regs::WINDOW_BASE_HI,
            regs::WINDOW_SIZE_LO,
            regs::WINDOW_SIZE_HI,
            regs::CYCLES_LO,
            regs::CYCLES_HI,
            regs::BUSY_CYCLES_LO,
            regs::BUSY_CYCLES_HI,
            regs::JOBS_DONE,
            regs::RUNS_DONE,
            regs::MUL_ISSUES,
            regs::DMA_READ_BYTES,
            regs::DMA_WRITE_BYTES,
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
