//! The Tollgate accelerator, described in rust-hdl.
//!
//! - [`field`]: the BLS12-381 base-field core (leaf multiplier, pipelined Montgomery
//!   multiplier, pipelined add/sub/negate).
//! - [`rtl`]: the generator that writes `bitstreams/rtl/*.v` and the manifests.
//! - [`sim`]: Verilated models of the committed RTL (see build.rs).

pub mod engine;
pub mod field;
pub mod rtl;
pub mod sim;
pub mod top;
