//! The service's integration tests, one module per concern, linked into one test binary: each
//! binary links the whole service (actix, sqlx, blst), and 22 separate links were a large share
//! of CI's time. Run one concern with `cargo test -p tollgate --test service <module>::`.

mod common;

mod api_surface;
mod client_service;
mod client_signer_vectors;
mod cluster;
mod concurrency;
mod deadlines;
mod default_build;
mod deploy_config;
mod deploy_metrics;
#[cfg(feature = "sim")]
mod device_aggregate;
mod device_backend;
#[cfg(feature = "sim")]
mod device_canary;
#[cfg(feature = "sim")]
mod device_overlap;
#[cfg(feature = "sim")]
mod device_whole;
mod ethereum_vectors;
mod fast_aggregate_batching;
mod fuzz_http;
mod graceful_drain;
mod latency_classes;
mod malformed_input;
mod random_batches;
mod registry_api;
mod registry_durability;
mod registry_postgres;
mod same_message_grouping;
mod scheduling_fairness;
#[cfg(feature = "sim")]
mod sim_e2e;
