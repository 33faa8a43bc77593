//! Strict decoding of what the API carries: `0x` hex, compressed points, validated keys.
//!
//! Decoding lives outside the engines so that every backend receives points that are already
//! canonical, on the curve and in the prime-order subgroup; the one exception is a signature
//! left to an engine that decodes signatures itself (`deferred`: the device's whole batch
//! verification), which the parser screens with the arithmetic-free checks only.

mod deferred;
mod error;
mod hex;
mod key_cache;
mod point;

pub use deferred::{Deferred, ItemSignature};
pub use error::ItemError;
pub use hex::parse_hex;
pub use key_cache::KeyCache;
pub use point::{
    check_compressed_encoding, decode_public_key, decode_signature, encode_public_key,
    encode_signature, PublicKey, Signature,
};
