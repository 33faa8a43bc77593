//! Build generated RTL with Verilator and drive it from Rust.
