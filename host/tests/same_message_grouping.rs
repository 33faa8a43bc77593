//! Same-message grouping in the CPU engine: on random batches with repeated messages and bad
//! items, for every suite, the grouped engine's per-item verdicts equal those of the engine
//! that checks every item apart and those of arkworks on the same bytes.

use crate::common;

use common::{all_suites, key, reference};
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use tollgate::codec::{decode_public_key, decode_signature};
use tollgate::engine::{verify_each, CpuEngine, SignedItem};
use tollgate::signer::SecretKey;
use tollgate::suite::{Scheme, Suite};

/// Compressed bytes of one item, as a client sends them (message not augmented).
struct Raw {
    public_key: Vec<u8>,
    message: Vec<u8>,
    signature: Vec<u8>,
}

fn signed(suite: Suite, sk: &SecretKey, message: &[u8]) -> Raw {
    Raw {
        public_key: sk.public_key(suite.variant),
        message: message.to_vec(),
        signature: sk.sign(suite, message),
    }
}

/// Makes `raw` invalid in one of several ways, keeping it well-encoded.
fn corrupt(rng: &mut StdRng, suite: Suite, raw: &mut Raw) {
    match rng.gen_range(0..4) {
        // Another key's signature on the same message.
        0 => raw.signature = key(1_000_000 + rng.gen_range(0..3)).sign(suite, &raw.message),
        // A signature of another message (one that others in the batch may sign).
        1 => raw.signature = key(rng.gen_range(0..3)).sign(suite, b"message 0"),
        // The identity as signature.
        2 => {
            raw.signature = vec![0u8; suite.variant.signature_len()];
            raw.signature[0] = 0xc0;
        }
        // Signed under another scheme's tag.
        _ => {
            let other = Suite::new(
                if suite.scheme == Scheme::Pop {
                    Scheme::Basic
                } else {
                    Scheme::Pop
                },
                suite.variant,
            );
            raw.signature = key(rng.gen_range(0..3)).sign(other, &raw.message);
        }
    }
}

fn decoded(suite: Suite, raw: &Raw) -> SignedItem {
    let message = match suite.scheme {
        Scheme::Aug => [raw.public_key.as_slice(), &raw.message].concat(),
        _ => raw.message.clone(),
    };
    SignedItem {
        public_key: decode_public_key(suite.variant, &raw.public_key).expect("valid key"),
        message,
        signature: decode_signature(suite.variant, &raw.signature)
            .expect("in the subgroup")
            .into(),
    }
}

#[test]
fn grouped_verdicts_equal_ungrouped_and_arkworks() {
    let seed: u64 = rand::thread_rng().next_u64();
    eprintln!("same_message_grouping seed {seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let keys: Vec<SecretKey> = (0..3).map(key).collect();
    let grouped = CpuEngine::new();
    let apart = CpuEngine::on_caller_thread();
    for suite in all_suites() {
        for round in 0..3 {
            // Few messages and few signers: under every scheme most items share their final
            // message with others (AUG: same key and message), so the grouped path runs.
            let n = rng.gen_range(16..=40);
            let raws: Vec<Raw> = (0..n)
                .map(|_| {
                    let message = format!("message {}", rng.gen_range(0..2));
                    let mut raw = signed(suite, &keys[rng.gen_range(0..2)], message.as_bytes());
                    if round > 0 && rng.gen_bool(0.15) {
                        corrupt(&mut rng, suite, &mut raw);
                    }
                    raw
                })
                .collect();
            let items: Vec<SignedItem> = raws.iter().map(|raw| decoded(suite, raw)).collect();
            let refs: Vec<&SignedItem> = items.iter().collect();
            let valid = |verdicts: Vec<_>| verdicts.iter().map(Result::is_ok).collect::<Vec<_>>();
            let (by_group, _) = verify_each(&grouped, suite, &refs).expect("grouped engine");
            let (one_by_one, _) = verify_each(&apart, suite, &refs).expect("per-item engine");
            let (by_group, one_by_one) = (valid(by_group), valid(one_by_one));
            let arkworks: Vec<bool> = raws
                .iter()
                .map(|raw| reference::verify(suite, &raw.public_key, &raw.message, &raw.signature))
                .collect();
            assert_eq!(
                by_group, arkworks,
                "{suite:?} round {round}: grouped vs arkworks"
            );
            assert_eq!(
                one_by_one, arkworks,
                "{suite:?} round {round}: apart vs arkworks"
            );
        }
    }
}
