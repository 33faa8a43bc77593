//! The accelerator's integration tests, one module per block, linked into one test binary (one
//! link of the Verilated models instead of one per file). Run one block with
//! `cargo test -p tollgate-hdl --test hardware <module>::`.

mod engine_core;
mod engine_verify;
mod field_core;
mod leaf;
mod lint;
mod rtl_generated;
