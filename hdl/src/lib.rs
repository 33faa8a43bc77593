//! The Tollgate accelerator, described in rust-hdl.
