//! Tollgate: batch verification of BLS12-381 signatures, per-item verdicts.

pub mod api;
pub mod client;
pub mod signer;
pub mod suite;
