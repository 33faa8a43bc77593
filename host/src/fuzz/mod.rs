//! Structure-aware fuzzing on stable Rust, shared by the in-process decoder targets (the tests
//! and the long documented run) and by `tollgate fuzz`, the HTTP fuzz client.
//!
//! Inputs are not random bytes: they are seeds (valid requests, the Ethereum vectors' points and
//! hex strings, the malformed-input tests' bodies) changed by typed edits that know what they
//! edit — a flag bit of a compressed point, an x limb set to p, a JSON field replaced or removed,
//! a hex string's bytes edited and re-encoded, the text cut short. The edits derive `Arbitrary`
//! (the `arbitrary` crate of the rust-fuzz project, the input model cargo-fuzz uses), so every
//! choice is made by consuming random bytes; the loop feeding those bytes is a seeded RNG,
//! which keeps runs reproducible (`--seed`) without nightly's libFuzzer. `arbitrary` was chosen
//! over proptest (generation and shrinking, no seed-corpus mutation, heavier) and bolero (its
//! stable engine is a thin wrapper over the same two pieces).

mod corpus;
mod mutate;
#[cfg(test)]
mod targets;

pub use corpus::ENDPOINTS;
pub use corpus::{Corpus, Seed};
pub use mutate::{mutate_body, mutate_bytes};
