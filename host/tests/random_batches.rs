//! Random batches for all six suites with bad items at random positions: the service flags
//! exactly those, and its verdicts equal arkworks' on the same bytes.

use crate::common;

use common::{all_suites, key, names, reference, signed_item, Server};
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use serde_json::{json, Value};
use tollgate::api::wire::to_hex;
use tollgate::suite::{Scheme, Suite, Variant};

fn bytes(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap().trim_start_matches("0x")).unwrap()
}

/// Replaces item `i` by a well-encoded item whose signature does not verify, in one of
/// several ways chosen at random.
fn corrupt(rng: &mut StdRng, suite: Suite, item: &mut Value, seed: u64) {
    let sk = key(seed);
    let message = bytes(&item["message"]);
    match rng.gen_range(0..5) {
        // The message changed after signing.
        0 => item["message"] = json!(to_hex(&[message.as_slice(), b"!"].concat())),
        // Another key's signature on the same message.
        1 => item["signature"] = json!(to_hex(&key(seed + 1_000_000).sign(suite, &message))),
        // A signature under another scheme's domain separation tag.
        2 => {
            let other = Suite::new(
                if suite.scheme == Scheme::Pop {
                    Scheme::Basic
                } else {
                    Scheme::Pop
                },
                suite.variant,
            );
            item["signature"] = json!(to_hex(&sk.sign(other, &message)));
        }
        // The identity as signature: in the subgroup, never valid.
        3 => {
            let mut infinity = vec![0u8; suite.variant.signature_len()];
            infinity[0] = 0xc0;
            item["signature"] = json!(to_hex(&infinity));
        }
        // The right signature presented under the other variant's key of the same secret
        // is impossible (lengths differ), so: a signature of a different message.
        _ => item["signature"] = json!(to_hex(&sk.sign(suite, b"another message"))),
    }
}

#[test]
fn bad_items_are_flagged_exactly_and_agree_with_arkworks() {
    let seed: u64 = rand::thread_rng().next_u64();
    eprintln!("random_batches seed {seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    // Small engine batches so that bisection and batches spanning requests both happen.
    let server = Server::start(&["--max-batch-size", "8"]);
    for suite in all_suites() {
        for round in 0..2 {
            let n = rng.gen_range(12..=24);
            let mut items = Vec::with_capacity(n);
            let mut bad = vec![false; n];
            for flag in bad.iter_mut() {
                // A few keys sign many items, as devices do: exercises the key cache.
                let signer = rng.gen_range(0..5u64);
                let mut message = vec![0u8; rng.gen_range(0..48)];
                rng.fill_bytes(&mut message);
                let mut item = signed_item(suite, &key(signer), &message);
                if round == 1 && rng.gen_bool(0.2) {
                    corrupt(&mut rng, suite, &mut item, signer);
                    *flag = true;
                }
                items.push(item);
            }
            let (scheme, variant) = names(suite);
            let response = server.post(
                "/v1/verify",
                &json!({"scheme": scheme, "variant": variant, "items": items}),
            );
            assert_eq!(response.status, 200, "{suite:?}: {}", response.body);
            let body = response.json();
            let flagged = bad.iter().filter(|&&b| b).count();
            assert_eq!(body["invalid"], json!(flagged), "{suite:?} seed {seed}");
            for (i, item) in items.iter().enumerate() {
                let verdict = &body["results"][i];
                assert_eq!(
                    verdict["valid"],
                    json!(!bad[i]),
                    "{suite:?} item {i} seed {seed}: {verdict}"
                );
                if bad[i] {
                    assert_eq!(verdict["error"], "invalid_signature");
                }
                let ark = reference::verify(
                    suite,
                    &bytes(&item["public_key"]),
                    &bytes(&item["message"]),
                    &bytes(&item["signature"]),
                );
                assert_eq!(
                    ark, !bad[i],
                    "arkworks disagrees on {suite:?} item {i} seed {seed}"
                );
            }
        }
    }
}

#[test]
fn arkworks_rejects_what_the_service_rejects_at_decoding() {
    // Encodings the service refuses before verification: arkworks must refuse them too.
    let server = Server::start(&[]);
    for variant in [Variant::MinPk, Variant::MinSig] {
        let suite = Suite::new(Scheme::Pop, variant);
        let good = signed_item(suite, &key(1), b"m");
        let pk = bytes(&good["public_key"]);
        let sig = bytes(&good["signature"]);
        let mut variants: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        let mut flipped_sign = sig.clone();
        flipped_sign[0] ^= 0x20; // the negated signature: valid point, wrong signature
        variants.push((pk.clone(), flipped_sign));
        let mut uncompressed_flag = pk.clone();
        uncompressed_flag[0] &= 0x7f;
        variants.push((uncompressed_flag, sig.clone()));
        let mut infinity_pk = vec![0u8; pk.len()];
        infinity_pk[0] = 0xc0;
        variants.push((infinity_pk, sig.clone()));
        let mut tweaked_x = sig.clone();
        let last = tweaked_x.len() - 1;
        tweaked_x[last] ^= 1; // off the curve or out of the subgroup, almost surely
        variants.push((pk.clone(), tweaked_x));
        let items: Vec<Value> = variants
            .iter()
            .map(|(p, s)| json!({"public_key": to_hex(p), "message": good["message"], "signature": to_hex(s)}))
            .collect();
        let (scheme, name) = names(suite);
        let body = server
            .post(
                "/v1/verify",
                &json!({"scheme": scheme, "variant": name, "items": items}),
            )
            .json();
        for (i, (p, s)) in variants.iter().enumerate() {
            assert_eq!(
                body["results"][i]["valid"], false,
                "{variant:?} {i}: {}",
                body["results"][i]
            );
            assert!(
                !reference::verify(suite, p, b"m", s),
                "{variant:?} {i}: arkworks accepted"
            );
        }
    }
}
