//! Tollgate: batch verification of BLS12-381 signatures, per-item verdicts.

pub mod api;
pub mod client;
pub mod codec;
pub mod config;
pub mod engine;
pub mod fuzz;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod parallel;
pub mod registry;
pub mod service;
pub mod signer;
pub mod suite;
