//! In-process fuzz targets, one per decoder: `0x` hex, compressed points of both groups as
//! signatures and as public keys (both variants), and the JSON body of every endpoint. Points
//! are cross-checked against arkworks (an independent implementation): a point is accepted if
//! and only if arkworks accepts it, and accepted points re-encode to the same bytes.
//!
//! The test command runs a short pass. The long run (docs/API.md, "Fuzzing"):
//! `TOLLGATE_FUZZ_INPUTS=10000000 cargo test -p tollgate --lib fuzz:: -- --nocapture`
//! spreads that many inputs over the targets (`TOLLGATE_FUZZ_SECS=N` instead runs each target
//! for N seconds); `TOLLGATE_FUZZ_SEED` replays a run.

use std::time::Instant;

use arbitrary::Unstructured;
use ark_serialize::CanonicalDeserialize;
use rand::{RngCore, SeedableRng};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{mutate_body, mutate_bytes, Corpus, ENDPOINTS};
use crate::api::wire::{
    AggregateRequest, AggregateVerifyRequest, FastAggregateVerifyRequest, VerifyRequest,
};
use crate::codec::{decode_public_key, decode_signature, parse_hex, ItemError, KeyCache};
use crate::http::body::{parse, SchemeRule};
use crate::suite::Variant;

/// Inputs over all targets in the short run of the test command (a few seconds).
const SHORT_RUN: u64 = 12_000;
/// Targets sharing the inputs: hex, two groups, four endpoints.
const TARGETS: u64 = 7;
/// Items of a parsed body whose fields are decoded.
const DECODED: usize = 8;

fn corpus() -> Corpus {
    let mut corpus = Corpus::generated();
    // Where the Ethereum suite test finds them (`<repo>/../shared/vectors`), unless
    // TOLLGATE_VECTORS_DIR says otherwise (a checkout elsewhere).
    let vectors = std::env::var_os("TOLLGATE_VECTORS_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../shared/vectors/bls12-381-tests")
        });
    let added = corpus
        .add_vectors(&vectors)
        .unwrap_or_else(|e| panic!("Ethereum vectors at {}: {e}", vectors.display()));
    assert!(added > 200, "only {added} seed strings in the vectors");
    corpus
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name)
        .ok()
        .map(|v| v.parse().unwrap_or_else(|_| panic!("{name} is a number")))
}

/// Runs `target` on random byte strings, each read as structured edits: its share of
/// TOLLGATE_FUZZ_INPUTS, or for TOLLGATE_FUZZ_SECS seconds, whichever ends first.
fn drive(name: &str, mut target: impl FnMut(&mut Unstructured)) {
    let budget = env_number("TOLLGATE_FUZZ_SECS").map(std::time::Duration::from_secs);
    let total = env_number("TOLLGATE_FUZZ_INPUTS").unwrap_or(match budget {
        Some(_) => u64::MAX,
        None => SHORT_RUN,
    });
    let seed = env_number("TOLLGATE_FUZZ_SEED").unwrap_or_else(rand::random);
    let inputs = total.div_ceil(TARGETS);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut data = vec![0u8; 512];
    let started = Instant::now();
    let mut done = 0;
    while done < inputs && budget.is_none_or(|b| started.elapsed() < b) {
        rng.fill_bytes(&mut data);
        target(&mut Unstructured::new(&data));
        done += 1;
    }
    println!(
        "fuzz {name}: {done} inputs in {:.1} s (TOLLGATE_FUZZ_SEED={seed})",
        started.elapsed().as_secs_f64()
    );
}

/// What the API's hex rule says, written out independently of the `hex` crate.
fn hex_reference(text: &str) -> Option<Vec<u8>> {
    let digits = text.strip_prefix("0x")?.as_bytes();
    if digits.len() % 2 != 0 {
        return None;
    }
    let value = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    digits
        .chunks(2)
        .map(|pair| Some(value(pair[0])? << 4 | value(pair[1])?))
        .collect()
}

#[test]
fn fuzz_hex() {
    let corpus = corpus();
    drive("hex", |u| {
        let Ok(seed) = u.choose(&corpus.hex) else {
            return;
        };
        let Ok(bytes) = mutate_bytes(u, seed.as_bytes(), &corpus) else {
            return;
        };
        let text = String::from_utf8_lossy(&bytes);
        let ours = parse_hex(&text);
        assert_eq!(ours.ok(), hex_reference(&text), "{text:?}");
    });
}

/// arkworks' verdict on a compressed point (flags, x < p, on the curve, in the subgroup):
/// `Some(is_identity)` when it accepts.
fn ark_accepts(bytes: &[u8]) -> Option<bool> {
    use ark_ec::AffineRepr;
    match bytes.len() {
        48 => ark_bls12_381::G1Affine::deserialize_compressed(bytes)
            .ok()
            .map(|p| p.is_zero()),
        96 => ark_bls12_381::G2Affine::deserialize_compressed(bytes)
            .ok()
            .map(|p| p.is_zero()),
        _ => None,
    }
}

/// Decodes `bytes` as the signature of one variant and the public key of the other (the two
/// uses of a group's points) and checks both against arkworks.
fn check_point(bytes: &[u8], signature_of: Variant, key_of: Variant) {
    let len = signature_of.signature_len();
    let signature = decode_signature(signature_of, bytes);
    let key = decode_public_key(key_of, bytes);
    if bytes.len() != len {
        let wrong = Err(ItemError::BadLength {
            expected: len,
            got: bytes.len(),
        });
        assert_eq!(signature.map(|_| ()), wrong, "{}", hex::encode(bytes));
        assert_eq!(key.map(|_| ()), wrong, "{}", hex::encode(bytes));
        return;
    }
    let context = hex::encode(bytes);
    match ark_accepts(bytes) {
        Some(identity) => {
            let signature =
                signature.unwrap_or_else(|e| panic!("{context}: arkworks accepts, {e}"));
            assert_eq!(signature.to_bytes(), bytes, "{context}");
            if identity {
                assert_eq!(key, Err(ItemError::InfinityPublicKey), "{context}");
            } else {
                let key = key.unwrap_or_else(|e| panic!("{context}: arkworks accepts, {e}"));
                assert_eq!(key.to_bytes(), bytes, "{context}");
            }
        }
        None => {
            assert!(
                signature.is_err(),
                "{context}: arkworks refuses the signature"
            );
            assert!(key.is_err(), "{context}: arkworks refuses the key");
        }
    }
}

#[test]
fn fuzz_g1_points() {
    let corpus = corpus();
    drive("G1 points", |u| {
        if let Ok(bytes) = u
            .choose(&corpus.g1)
            .and_then(|seed| mutate_bytes(u, seed, &corpus))
        {
            check_point(&bytes, Variant::MinSig, Variant::MinPk);
        }
    });
}

#[test]
fn fuzz_g2_points() {
    let corpus = corpus();
    drive("G2 points", |u| {
        if let Ok(bytes) = u
            .choose(&corpus.g2)
            .and_then(|seed| mutate_bytes(u, seed, &corpus))
        {
            check_point(&bytes, Variant::MinPk, Variant::MinSig);
        }
    });
}

/// The body of `path` as the server parses it, then its hex fields through their decoders
/// (the first few of each list: the decoders have targets of their own, and a body duplicated
/// into thousands of items would only repeat them). A parsed body must survive a
/// serialize/parse round trip unchanged.
fn check_body(path: &str, body: &[u8], keys: &KeyCache) {
    fn round_trip<T: DeserializeOwned + Serialize>(body: &[u8], rule: SchemeRule) -> Option<T> {
        let request: T = parse(body, rule).ok()?;
        let again: T = parse(&serde_json::to_vec(&request).unwrap(), rule)
            .unwrap_or_else(|e| panic!("re-serialized body refused: {e}"));
        assert_eq!(
            serde_json::to_value(&again).unwrap(),
            serde_json::to_value(&request).unwrap()
        );
        Some(request)
    }
    let variant = |v: Option<Variant>| v.unwrap_or_default();
    match path {
        "/v1/verify" => {
            if let Some(request) = round_trip::<VerifyRequest>(body, SchemeRule::Any) {
                for item in request.items.iter().take(DECODED) {
                    let v = variant(request.variant);
                    let _ = parse_hex(&item.public_key).map(|b| keys.lookup(v, &b));
                    let _ = parse_hex(&item.signature).map(|b| decode_signature(v, &b));
                    let _ = parse_hex(&item.message);
                }
            }
        }
        "/v1/aggregate" => {
            if let Some(request) = round_trip::<AggregateRequest>(body, SchemeRule::Any) {
                let v = variant(request.variant);
                for pk in request.public_keys.iter().flatten().take(DECODED) {
                    let _ = parse_hex(pk).map(|b| keys.lookup(v, &b));
                }
                for sig in request.signatures.iter().flatten().take(DECODED) {
                    let _ = parse_hex(sig).map(|b| decode_signature(v, &b));
                }
            }
        }
        "/v1/aggregate-verify" => {
            if let Some(request) = round_trip::<AggregateVerifyRequest>(body, SchemeRule::Any) {
                let v = variant(request.variant);
                for pk in request.public_keys.iter().take(DECODED) {
                    let _ = parse_hex(pk).map(|b| keys.lookup(v, &b));
                }
                let _ = parse_hex(&request.signature).map(|b| decode_signature(v, &b));
            }
        }
        "/v1/fast-aggregate-verify" => {
            if let Some(request) =
                round_trip::<FastAggregateVerifyRequest>(body, SchemeRule::PopOnly)
            {
                let v = variant(request.variant);
                for pk in request.public_keys.iter().take(DECODED) {
                    let _ = parse_hex(pk).map(|b| keys.lookup(v, &b));
                }
                let _ = parse_hex(&request.signature).map(|b| decode_signature(v, &b));
            }
        }
        other => unreachable!("no JSON endpoint {other}"),
    }
}

fn fuzz_endpoint(path: &'static str) {
    let corpus = corpus();
    let seeds: Vec<_> = corpus.bodies.iter().filter(|s| s.path == path).collect();
    let keys = KeyCache::new(1024, prometheus::IntCounter::new("e", "fuzz").unwrap());
    drive(path, |u| {
        if let Ok(body) = u
            .choose(&seeds)
            .and_then(|seed| mutate_body(u, &seed.body, &corpus))
        {
            check_body(path, &body, &keys);
        }
    });
}

#[test]
fn fuzz_verify_body() {
    fuzz_endpoint(ENDPOINTS[0]);
}

#[test]
fn fuzz_aggregate_body() {
    fuzz_endpoint(ENDPOINTS[1]);
}

#[test]
fn fuzz_aggregate_verify_body() {
    fuzz_endpoint(ENDPOINTS[2]);
}

#[test]
fn fuzz_fast_aggregate_verify_body() {
    fuzz_endpoint(ENDPOINTS[3]);
}
