//! `tollgate gen-batch`: N signed items as a `/v1/verify` request, some of them bad on purpose.
//!
//! A bad item stays well-formed: its signature is a valid signature by the same key of a
//! different message, so it decodes and passes every subgroup check and only the pairing
//! check can reject it. That is the case batch verification and bisection must catch.

use std::collections::BTreeSet;
use std::path::PathBuf;

use rand::rngs::StdRng;
use rand::seq::index::sample;
use rand::{RngCore, SeedableRng};
use serde::Serialize;

use super::ClientError;
use crate::api::wire::{to_hex, Item, VerifyRequest};
use crate::codec::{decode_signature, ItemError};
use crate::signer::SecretKey;
use crate::suite::{Scheme, Suite, Variant};

/// Which items to make bad.
#[derive(Clone, Debug, PartialEq)]
pub enum Corruption {
    None,
    /// This share of the items (rounded to the nearest count), at random positions.
    Fraction(f64),
    /// Exactly these positions (0-based).
    Positions(Vec<usize>),
}

#[derive(Clone, Debug)]
pub struct BatchSpec {
    pub items: usize,
    pub suite: Suite,
    /// Distinct signers; item i is signed by key i mod keys.
    pub keys: usize,
    /// Message length in bytes (≥ 8: the first 8 bytes number the item so messages are distinct,
    /// which the BASIC scheme requires).
    pub message_len: usize,
    pub corruption: Corruption,
    /// Seed for keys, messages and bad positions; fresh OS randomness when absent.
    pub seed: Option<u64>,
}

#[derive(Clone, Debug)]
pub struct GeneratedBatch {
    pub request: VerifyRequest,
    /// Positions of the bad items, ascending.
    pub bad: Vec<usize>,
}

/// Builds the batch; signing runs on all available cores.
pub fn generate_batch(spec: &BatchSpec) -> Result<GeneratedBatch, ClientError> {
    if spec.keys == 0 {
        return Err(ClientError::Usage("at least one key is needed".into()));
    }
    if spec.message_len < 8 {
        return Err(ClientError::Usage(format!(
            "message length {} is below 8 bytes",
            spec.message_len
        )));
    }
    let mut rng = match spec.seed {
        Some(seed) => StdRng::seed_from_u64(seed),
        None => StdRng::from_entropy(),
    };
    let bad = bad_positions(&spec.corruption, spec.items, &mut rng)?;

    let keys = (0..spec.keys)
        .map(|_| {
            let mut ikm = [0u8; 32];
            rng.fill_bytes(&mut ikm);
            SecretKey::from_ikm(&ikm)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let public_keys: Vec<String> = keys
        .iter()
        .map(|k| to_hex(&k.public_key(spec.suite.variant)))
        .collect();
    let messages: Vec<Vec<u8>> = (0..spec.items)
        .map(|i| {
            let mut m = vec![0u8; spec.message_len];
            m[..8].copy_from_slice(&(i as u64).to_be_bytes());
            rng.fill_bytes(&mut m[8..]);
            m
        })
        .collect();

    let bad_set: BTreeSet<usize> = bad.iter().copied().collect();
    let sign_one = |i: usize| -> Item {
        let key = &keys[i % keys.len()];
        let signed = if bad_set.contains(&i) {
            // Another message: same length and prefix, last byte flipped.
            let mut other = messages[i].clone();
            let last = other.len() - 1;
            other[last] ^= 0x01;
            key.sign(spec.suite, &other)
        } else {
            key.sign(spec.suite, &messages[i])
        };
        Item {
            public_key: public_keys[i % keys.len()].clone(),
            key_id: None,
            message: to_hex(&messages[i]),
            signature: to_hex(&signed),
        }
    };
    let items = parallel_map(spec.items, sign_one);

    Ok(GeneratedBatch {
        request: VerifyRequest {
            scheme: Some(spec.suite.scheme),
            variant: Some(spec.suite.variant),
            priority: Default::default(),
            items,
        },
        bad,
    })
}

fn bad_positions(
    corruption: &Corruption,
    items: usize,
    rng: &mut StdRng,
) -> Result<Vec<usize>, ClientError> {
    let mut bad = match corruption {
        Corruption::None => Vec::new(),
        Corruption::Fraction(f) => {
            if !(0.0..=1.0).contains(f) {
                return Err(ClientError::BadFraction(*f));
            }
            let count = (f * items as f64).round() as usize;
            sample(rng, items, count.min(items)).into_vec()
        }
        Corruption::Positions(positions) => {
            if let Some(&position) = positions.iter().find(|&&p| p >= items) {
                return Err(ClientError::PositionOutOfRange { position, items });
            }
            positions.clone()
        }
    };
    bad.sort_unstable();
    bad.dedup();
    Ok(bad)
}

/// Maps 0..n through `f` on every core, keeping order. Signing dominates batch generation.
fn parallel_map<T: Send, F: Fn(usize) -> T + Sync>(n: usize, f: F) -> Vec<T> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |t| t.get())
        .min(n.max(1));
    let chunk = n.div_ceil(threads.max(1)).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .step_by(chunk)
            .map(|start| {
                let f = &f;
                scope.spawn(move || (start..(start + chunk).min(n)).map(f).collect::<Vec<T>>())
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

/// A compressed signature of `variant` that passes every check without arithmetic (length,
/// flags, x < p) but is not on the curve: refusing it costs the server a square root, and the
/// key before it a KeyValidate (admission tests and the under-attack benchmark).
pub fn off_curve_signature(variant: Variant) -> Vec<u8> {
    (1u8..)
        .map(|x| {
            let mut bytes = vec![0u8; variant.signature_len()];
            bytes[0] = 0x80;
            *bytes.last_mut().expect("not empty") = x;
            bytes
        })
        .find(|bytes| matches!(decode_signature(variant, bytes), Err(ItemError::NotOnCurve)))
        .expect("a small x off the curve")
}

#[derive(Debug, clap::Args)]
pub struct GenBatchArgs {
    /// Number of items.
    #[arg(short = 'n', long, default_value_t = 64)]
    items: usize,
    #[arg(long, value_enum, default_value_t = Scheme::Pop)]
    scheme: Scheme,
    #[arg(long, value_enum, default_value_t = Variant::MinPk)]
    variant: Variant,
    /// Distinct signing keys (item i is signed by key i mod K).
    #[arg(long, default_value_t = 16)]
    keys: usize,
    /// Message length in bytes (at least 8).
    #[arg(long, default_value_t = 32)]
    message_len: usize,
    /// Make this share of the items bad, at random positions (e.g. 0.05).
    #[arg(long, conflicts_with = "corrupt_at")]
    corrupt_fraction: Option<f64>,
    /// Make exactly these 0-based positions bad (comma-separated).
    #[arg(long, value_delimiter = ',')]
    corrupt_at: Vec<usize>,
    /// Seed for a reproducible batch.
    #[arg(long)]
    seed: Option<u64>,
    /// Write the request here instead of standard output.
    #[arg(short, long)]
    out: Option<PathBuf>,
    /// Write the bad positions here as JSON (`{"bad": [..]}`); they are also printed on stderr.
    #[arg(long)]
    bad_out: Option<PathBuf>,
}

#[derive(Serialize)]
struct BadFile<'a> {
    bad: &'a [usize],
}

pub fn run(args: GenBatchArgs) -> anyhow::Result<()> {
    let corruption = match (args.corrupt_fraction, args.corrupt_at.is_empty()) {
        (Some(f), _) => Corruption::Fraction(f),
        (None, false) => Corruption::Positions(args.corrupt_at.clone()),
        (None, true) => Corruption::None,
    };
    let spec = BatchSpec {
        items: args.items,
        suite: Suite::new(args.scheme, args.variant),
        keys: args.keys,
        message_len: args.message_len,
        corruption,
        seed: args.seed,
    };
    let batch = generate_batch(&spec)?;
    let json = serde_json::to_string_pretty(&batch.request)?;
    match &args.out {
        Some(path) => write(path, &json)?,
        None => println!("{json}"),
    }
    if let Some(path) = &args.bad_out {
        write(path, &serde_json::to_string(&BadFile { bad: &batch.bad })?)?;
    }
    eprintln!(
        "{} items ({:?}, {:?}), {} bad at positions {:?}",
        args.items,
        args.scheme,
        args.variant,
        batch.bad.len(),
        batch.bad
    );
    Ok(())
}

fn write(path: &PathBuf, text: &str) -> Result<(), ClientError> {
    std::fs::write(path, format!("{text}\n")).map_err(|source| ClientError::Io {
        path: path.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(items: usize, corruption: Corruption) -> BatchSpec {
        BatchSpec {
            items,
            suite: Suite::new(Scheme::Basic, Variant::MinSig),
            keys: 3,
            message_len: 16,
            corruption,
            seed: Some(42),
        }
    }

    #[test]
    fn seeded_batches_are_reproducible_and_ordered() {
        let a = generate_batch(&spec(10, Corruption::Fraction(0.3))).unwrap();
        let b = generate_batch(&spec(10, Corruption::Fraction(0.3))).unwrap();
        assert_eq!(a.request.items, b.request.items);
        assert_eq!(a.bad, b.bad);
        assert_eq!(a.bad.len(), 3);
        for (i, item) in a.request.items.iter().enumerate() {
            // The message's first 8 bytes number the item: order is kept across threads.
            assert!(
                item.message.starts_with(&format!("0x{:016x}", i)),
                "{i}: {}",
                item.message
            );
        }
    }

    #[test]
    fn positions_are_checked_and_deduplicated() {
        let err = generate_batch(&spec(4, Corruption::Positions(vec![4]))).unwrap_err();
        assert!(matches!(
            err,
            ClientError::PositionOutOfRange {
                position: 4,
                items: 4
            }
        ));
        let ok = generate_batch(&spec(4, Corruption::Positions(vec![3, 1, 3]))).unwrap();
        assert_eq!(ok.bad, vec![1, 3]);
        assert!(matches!(
            generate_batch(&spec(4, Corruption::Fraction(1.5))).unwrap_err(),
            ClientError::BadFraction(_)
        ));
    }
}
