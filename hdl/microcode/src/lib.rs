//! Curve formulas written once, generic over a field: evaluated on arkworks they are the golden
//! model, traced they become microcode.
//!
//! - [`field`]: the field interface (the engine's datapath operations), computed flags and the
//!   selects on them, the towers Fp2, Fp6 and Fp12 over any field, fixed-exponent powers, the
//!   Fp2 square root, inverse and square test, the constant table, arkworks' Fq as an
//!   implementation.
//! - [`curve`]: complete a = 0 formulas, 64-bit scalar multiplication, G1/G2 parameters, G2's
//!   ψ with the subgroup check, cofactor clearing, signature decoding and hash to G2
//!   (simplified SWU, the 3-isogeny).
//! - [`pairing`]: the optimal-ate Miller loop (many pairs sharing one accumulator).
//! - [`trace`]: a field that records the operation graph.
//! - [`compile`]: scheduling, register allocation, instruction encoding, the ROM image.
//! - [`model`]: a cycle-level model of the lane-interleaved engine executing the ROM.
//! - `reference` (feature `blst-reference`, tests only): blst's hash to G2 and its parts.

// No unsafe code, except blst's C interface in the tests' reference (a dev-only feature).
#![cfg_attr(not(feature = "blst-reference"), forbid(unsafe_code))]
#![cfg_attr(feature = "blst-reference", deny(unsafe_code))]

pub mod compile;
pub mod curve;
pub mod field;
pub mod model;
pub mod pairing;
#[cfg(feature = "blst-reference")]
#[allow(unsafe_code)]
pub mod reference;
pub mod trace;
