//! The microcode instruction: one multiply, `alu_slots` add/sub/select operations and one
//! stream operation, all for the same lane, issued in the same cycle.
//!
//! # Encoding (little-endian bit fields of a `u128`, `A` = alu slots ≤ 3)
//!
//! An operand is 7 bits: 0..=111 a register of the lane's window, 112 the constant 0,
//! 113 the constant 1 (in the datapath's Montgomery form), 114.. an entry of the constant table
//! ([`Constant`]). The window is split into banks, one
//! per writing unit (see [`super::EngineConfig::bank_regs`]): a destination register always
//! lies in its unit's bank, so each bank has a single write port; any operand may read any
//! bank.
//!
//! | bits | field |
//! |---|---|
//! | 0 | multiply enable |
//! | 1..8 | multiply destination register |
//! | 8..15, 15..22 | multiply operands a, b |
//! | 22 + 29i + (0..2) | alu slot i opcode: 0 none or set flag, 1 add, 2 sub, 3 select |
//! | 22 + 29i + (2..9) | alu slot i destination register (opcode 0: flag test, see below) |
//! | 22 + 29i + (9..16), (16..23) | alu operands a, b (select: a if the bit is 1, else b) |
//! | 22 + 29i + (23..29) | select, set flag: bit index in the lane's scalar register |
//! | 22 + 29A + (0..2) | stream opcode: 0 none, 1 load word → register, 2 load scalar, 3 store operand |
//! | 22 + 29A + (2..9) | stream register / operand |
//!
//! # Computed flags (set flag, select)
//!
//! Data-dependent choices (hash to G2's exceptional case, is_square and sign of y; the square
//! root's `α = −1` case) are made by the existing select, switching on a bit of the lane's
//! 64-bit scalar register that an add/sub unit has *computed* instead of loaded: alu opcode 0
//! with a non-zero test code in the destination field (an all-zero slot stays "none", so every
//! existing ROM word keeps its meaning) sets bit `bit` of the lane's scalar register to
//!
//! - test 1 (is zero): 1 iff the 381-bit register image of operand a is 0;
//! - test 2 (image lsb): bit 0 of operand a's register image.
//!
//! Operand b and the destination register are unused (0). The flag is written back with the
//! add/sub latency like any result, to that one bit only (a bit-granular write enable on the
//! scalar register; a slot writing a flag writes no bank). The RTL needs per bit: a 381-input
//! NOR (is zero) or a wire (lsb) after the operand read, and a 2-bit test decode per slot —
//! no new datapath, no new operand port. Both tests are sound because every value in the
//! register file is canonical: the multiplier and the add/sub units reduce into [0, p) (see
//! tollgate-hdl's field core), so 0 has the single image 0, and the product of x by the table
//! constant R⁻¹ ([`Constant::MontgomeryInverse`]) has x's canonical integer as its image, whose
//! bit 0 is sgn0(x) (RFC 9380). A segment computing flags must not load a scalar (the compiler
//! refuses it): flags live in the scalar register. Why not an arithmetic indicator: 1 − x^(p−1)
//! costs an Fp exponentiation (≈ 570 multiplications) per test and parity has no arithmetic
//! form at all; a flag costs one add/sub slot (two for sgn0 with its multiplication).

use crate::field::Constant;
use crate::trace::{Const, FlagTest};

/// Registers addressable in a lane window.
pub const MAX_WINDOW: usize = 112;
/// Most alu slots the encoding has room for.
pub const MAX_ALU_SLOTS: usize = 3;
/// Width of an operand or register field.
pub const OPERAND_BITS: usize = 7;
/// Operand code of the constant 0.
pub const OPERAND_ZERO: u128 = 112;
/// Operand code of the constant 1.
pub const OPERAND_ONE: u128 = 113;
/// Operand codes 114..=127 read the constant table (only the verification programs use it):
/// code `OPERAND_TABLE + i` is [`Constant::ALL`]`[i]`.
pub const OPERAND_TABLE: u128 = 114;
const _: () = assert!(OPERAND_TABLE as usize + Constant::ALL.len() <= 1 << OPERAND_BITS);
/// Bit offsets in the word (see the table above): multiply enable, destination, operands.
pub const MUL_EN: usize = 0;
/// Multiply destination register.
pub const MUL_DST: usize = 1;
/// Multiply operand a.
pub const MUL_A: usize = 8;
/// Multiply operand b.
pub const MUL_B: usize = 15;
/// Bits of the multiply fields; alu slot i starts at `MUL_BITS + ALU_BITS * i`.
pub const MUL_BITS: usize = 22;
/// Bits of one alu slot.
pub const ALU_BITS: usize = 29;
/// Offsets inside an alu slot: opcode (2 bits), destination or flag test, operands a and b,
/// scalar bit index.
pub const ALU_DST: usize = 2;
/// Alu operand a.
pub const ALU_A: usize = 9;
/// Alu operand b.
pub const ALU_B: usize = 16;
/// Alu scalar bit index (select, set flag).
pub const ALU_BIT: usize = 23;
/// Width of the alu opcode and of the stream opcode.
pub const OPCODE_BITS: usize = 2;
/// Width of the scalar bit index.
pub const BIT_INDEX_BITS: usize = 6;
/// Alu opcodes.
pub const ALU_NONE_OR_FLAG: u128 = 0;
/// a + b.
pub const ALU_ADD: u128 = 1;
/// a − b.
pub const ALU_SUB: u128 = 2;
/// a if the scalar bit is 1, else b.
pub const ALU_SELECT: u128 = 3;
/// Offset of the stream operand inside the stream field.
pub const IO_OPERAND: usize = 2;

/// A source: a window register or a constant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operand {
    /// Register of the lane's window.
    Reg(u8),
    /// A constant.
    Const(Const),
}

/// A multiplication.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MulOp {
    /// Destination register.
    pub dst: u8,
    /// Left operand.
    pub a: Operand,
    /// Right operand.
    pub b: Operand,
}

/// What an add/sub unit does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AluKind {
    /// a + b.
    Add,
    /// a − b.
    Sub,
    /// a if scalar bit `bit` is 1, else b.
    Select {
        /// Bit of the lane's scalar register.
        bit: u8,
    },
    /// Scalar bit `bit` ← `test` on a (b and the destination are unused, 0).
    SetFlag {
        /// The test.
        test: FlagTest,
        /// Bit of the lane's scalar register.
        bit: u8,
    },
}

/// An add/sub unit operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AluOp {
    /// Operation.
    pub kind: AluKind,
    /// Destination register.
    pub dst: u8,
    /// First operand.
    pub a: Operand,
    /// Second operand.
    pub b: Operand,
}

/// A stream operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoOp {
    /// Next input word into a register.
    Load {
        /// Destination register.
        dst: u8,
    },
    /// Next input word into the lane's scalar register.
    LoadScalar,
    /// Operand to the output stream.
    Store {
        /// What to store.
        src: Operand,
    },
}

/// One microcode instruction.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Instr {
    /// The multiplier's operation.
    pub mul: Option<MulOp>,
    /// One entry per add/sub unit.
    pub alu: Vec<Option<AluOp>>,
    /// The stream port's operation.
    pub io: Option<IoOp>,
}

/// Width in bits of an instruction with `alu_slots` add/sub units.
pub const fn instr_bits(alu_slots: usize) -> usize {
    MUL_BITS + ALU_BITS * alu_slots + 9
}

fn enc_operand(op: Operand) -> u128 {
    match op {
        Operand::Reg(r) => r as u128,
        Operand::Const(Const::Zero) => OPERAND_ZERO,
        Operand::Const(Const::One) => OPERAND_ONE,
        Operand::Const(Const::Table(c)) => OPERAND_TABLE + c.index() as u128,
    }
}

/// The test code a set-flag slot carries in its destination field.
pub fn flag_code(test: FlagTest) -> u128 {
    match test {
        FlagTest::IsZero => 1,
        FlagTest::ImageLsb => 2,
    }
}

fn dec_operand(bits: u128) -> Option<Operand> {
    match bits {
        OPERAND_ZERO => Some(Operand::Const(Const::Zero)),
        OPERAND_ONE => Some(Operand::Const(Const::One)),
        r if r < MAX_WINDOW as u128 => Some(Operand::Reg(r as u8)),
        c => Constant::from_index((c - OPERAND_TABLE) as usize)
            .map(|c| Operand::Const(Const::Table(c))),
    }
}

fn field(word: u128, at: usize, width: usize) -> u128 {
    (word >> at) & ((1u128 << width) - 1)
}

impl Instr {
    /// An instruction that does nothing.
    pub fn empty(alu_slots: usize) -> Instr {
        Instr {
            mul: None,
            alu: vec![None; alu_slots],
            io: None,
        }
    }

    /// The ROM word.
    pub fn encode(&self) -> u128 {
        let mut w = 0u128;
        if let Some(m) = self.mul {
            w |= 1 << MUL_EN
                | (m.dst as u128) << MUL_DST
                | enc_operand(m.a) << MUL_A
                | enc_operand(m.b) << MUL_B;
        }
        for (i, slot) in self.alu.iter().enumerate() {
            let at = MUL_BITS + ALU_BITS * i;
            if let Some(op) = slot {
                let slot = match op.kind {
                    AluKind::SetFlag { test, bit } => {
                        flag_code(test) << ALU_DST
                            | enc_operand(op.a) << ALU_A
                            | (bit as u128) << ALU_BIT
                    }
                    kind => {
                        let (code, bit) = match kind {
                            AluKind::Add => (ALU_ADD, 0),
                            AluKind::Sub => (ALU_SUB, 0),
                            AluKind::Select { bit } => (ALU_SELECT, bit as u128),
                            AluKind::SetFlag { .. } => unreachable!("encoded above"),
                        };
                        code | (op.dst as u128) << ALU_DST
                            | enc_operand(op.a) << ALU_A
                            | enc_operand(op.b) << ALU_B
                            | bit << ALU_BIT
                    }
                };
                w |= slot << at;
            }
        }
        let at = MUL_BITS + ALU_BITS * self.alu.len();
        let io = match self.io {
            None => 0,
            Some(IoOp::Load { dst }) => 1 | (dst as u128) << IO_OPERAND,
            Some(IoOp::LoadScalar) => 2,
            Some(IoOp::Store { src }) => 3 | enc_operand(src) << IO_OPERAND,
        };
        w | io << at
    }

    /// Decodes a ROM word of a build with `alu_slots` units; `None` for an invalid word.
    pub fn decode(w: u128, alu_slots: usize) -> Option<Instr> {
        let reg = |at| field(w, at, OPERAND_BITS) as u8;
        let mul = if field(w, MUL_EN, 1) == 1 {
            Some(MulOp {
                dst: reg(MUL_DST),
                a: dec_operand(field(w, MUL_A, OPERAND_BITS))?,
                b: dec_operand(field(w, MUL_B, OPERAND_BITS))?,
            })
        } else {
            None
        };
        let mut alu = Vec::with_capacity(alu_slots);
        for i in 0..alu_slots {
            let at = MUL_BITS + ALU_BITS * i;
            let kind = match field(w, at, OPCODE_BITS) {
                0 => match field(w, at + ALU_DST, OPERAND_BITS) {
                    0 => None,
                    1 => Some(AluKind::SetFlag {
                        test: FlagTest::IsZero,
                        bit: field(w, at + ALU_BIT, BIT_INDEX_BITS) as u8,
                    }),
                    2 => Some(AluKind::SetFlag {
                        test: FlagTest::ImageLsb,
                        bit: field(w, at + ALU_BIT, BIT_INDEX_BITS) as u8,
                    }),
                    _ => return None,
                },
                1 => Some(AluKind::Add),
                2 => Some(AluKind::Sub),
                _ => Some(AluKind::Select {
                    bit: field(w, at + ALU_BIT, BIT_INDEX_BITS) as u8,
                }),
            };
            alu.push(match kind {
                None => None,
                Some(kind @ AluKind::SetFlag { .. }) => Some(AluOp {
                    kind,
                    dst: 0,
                    a: dec_operand(field(w, at + ALU_A, OPERAND_BITS))?,
                    b: Operand::Const(Const::Zero),
                }),
                Some(kind) => Some(AluOp {
                    kind,
                    dst: reg(at + ALU_DST),
                    a: dec_operand(field(w, at + ALU_A, OPERAND_BITS))?,
                    b: dec_operand(field(w, at + ALU_B, OPERAND_BITS))?,
                }),
            });
        }
        let at = MUL_BITS + ALU_BITS * alu_slots;
        let io = match field(w, at, OPCODE_BITS) {
            0 => None,
            1 => Some(IoOp::Load {
                dst: reg(at + IO_OPERAND),
            }),
            2 => Some(IoOp::LoadScalar),
            _ => Some(IoOp::Store {
                src: dec_operand(field(w, at + IO_OPERAND, OPERAND_BITS))?,
            }),
        };
        Some(Instr { mul, alu, io })
    }
}
