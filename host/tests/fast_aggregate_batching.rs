//! Fast aggregate verifications ride the batcher's batches as one item each (their keys summed
//! on the CPU first): sent together with `/v1/verify` requests, they share one engine batch and
//! every request gets its own verdict — valid and invalid fast aggregates, one whose keys sum to
//! the identity (answered before the batch), the external suite's fast_aggregate_verify cases
//! (tampered signatures among them), and verify requests with and without a bad item.
//! `device_aggregate::` runs the same requests through one device pass.

use crate::common;

use std::collections::BTreeMap;

use common::{key, signed_item, vectors_dir, Server};
use serde_json::{json, Value};
use tollgate::api::wire::to_hex;
use tollgate::suite::Suite;

/// A request: a name, the endpoint, the body.
pub type Request = (String, &'static str, Value);

/// How long the batcher may wait for the requests to gather (they are sent at once; the batch
/// is cut as soon as all of them are queued, see [`batch_flags`]).
const GATHER_MS: &str = "10000";

/// The items of [`requests`] that reach the batch check when they share one: each fast
/// aggregate but the one summing to the identity is one item (the suite's valid and
/// extra-pubkey cases among them), and the verify requests' items; with `deferred` signature
/// decoding (the device) also the suite's three tampered signatures, otherwise refused at
/// parse time.
pub fn batch_items(deferred: bool) -> usize {
    17 + if deferred { 3 } else { 0 }
}

/// Server flags that gather the requests into one batch: a queue delay, and a batch size of
/// exactly the queued entries, so that the batch is cut when the last request arrives. Those
/// are the items, and the fast aggregates whose keys sum to the identity (they hold their place
/// in the queue until the batcher sums their keys): the valid signature's, and with `deferred`
/// decoding the tampered one's, otherwise refused at parse time.
pub fn batch_flags(deferred: bool) -> [String; 4] {
    let identity_sums = if deferred { 2 } else { 1 };
    [
        "--max-queue-delay-ms".into(),
        GATHER_MS.into(),
        "--max-batch-size".into(),
        (batch_items(deferred) + identity_sums).to_string(),
    ]
}

/// The compressed G1 key with its sign bit flipped: −pk.
fn negated_key(public_key: &Value) -> Value {
    let mut bytes = hex::decode(public_key.as_str().unwrap().trim_start_matches("0x")).unwrap();
    bytes[0] ^= 0x20;
    json!(to_hex(&bytes))
}

/// The items' min_pk signatures added up (blst), as hex.
fn aggregate_signatures(items: &[Value]) -> Value {
    let signatures: Vec<blst::min_pk::Signature> = items
        .iter()
        .map(|item| {
            let hex = item["signature"].as_str().unwrap().trim_start_matches("0x");
            blst::min_pk::Signature::from_bytes(&hex::decode(hex).unwrap()).unwrap()
        })
        .collect();
    let refs: Vec<&blst::min_pk::Signature> = signatures.iter().collect();
    let sum = blst::min_pk::AggregateSignature::aggregate(&refs, true).unwrap();
    json!(to_hex(&sum.to_signature().compress()))
}

/// The answer the suite's fast_aggregate_verify case `file` gets: the verdict its `output`
/// names, with the code the API documents for why it is false.
fn suite_answer(file: &str, output: bool) -> (u16, Value) {
    let invalid = |code: &str| (200, json!({"valid": false, "error": code}));
    let answer = if file.contains("_valid_") {
        (200, json!({"valid": true}))
    } else if file.contains("_extra_pubkey_") {
        invalid("invalid_signature")
    } else if file.contains("_tampered_signature_") {
        invalid("not_on_curve")
    } else if file.contains("_infinity_pubkey") {
        invalid("infinity_public_key")
    } else {
        assert!(file.contains("_na_pubkeys_"), "unexpected case {file}");
        let body = json!({"error": "empty_batch", "detail": "no items to process"});
        (400, body)
    };
    assert_eq!(answer.1["valid"] == json!(true), output, "{file}");
    answer
}

/// A fast aggregate verification body of `keys` over `message` with `signature`.
fn fast_aggregate(keys: &[Value], message: &[u8], signature: Value) -> Value {
    json!({"public_keys": keys, "message": to_hex(message), "signature": signature})
}

/// Fast aggregates of four keys over one message (valid, another message, one signature
/// short), one of keys summing to the identity, two verify requests (one with a bad item),
/// and the external suite's fast_aggregate_verify cases, each with the answer it must get.
pub fn requests() -> Vec<(Request, (u16, Value))> {
    let suite = Suite::default();
    let message = b"fast aggregate".as_slice();
    let signers: Vec<Value> = (0..4)
        .map(|i| signed_item(suite, &key(300 + i), message))
        .collect();
    let keys: Vec<Value> = signers.iter().map(|s| s["public_key"].clone()).collect();
    let aggregate = aggregate_signatures(&signers);
    let short = aggregate_signatures(&signers[1..]);
    let valid = (200, json!({"valid": true}));
    let invalid = (200, json!({"valid": false, "error": "invalid_signature"}));
    let fav = "/v1/fast-aggregate-verify";
    let verify = |first: u64, bad: Option<usize>| {
        let mut items: Vec<Value> = (first..first + 4)
            .map(|i| signed_item(suite, &key(i), format!("item {i}").as_bytes()))
            .collect();
        if let Some(bad) = bad {
            items[bad]["message"] = json!("0x0badbeef");
        }
        json!({ "items": items })
    };
    let results = |bad: Option<usize>| {
        let results: Vec<Value> = (0..4)
            .map(|i| match Some(i) == bad {
                true => json!({"valid": false, "error": "invalid_signature"}),
                false => json!({"valid": true}),
            })
            .collect();
        let invalid = usize::from(bad.is_some());
        (
            200,
            json!({"results": results, "valid": 4 - invalid, "invalid": invalid}),
        )
    };
    let mut requests = vec![
        (
            (
                "fav valid".into(),
                fav,
                fast_aggregate(&keys, message, aggregate.clone()),
            ),
            valid,
        ),
        (
            (
                "fav other message".into(),
                fav,
                fast_aggregate(&keys, b"another message", aggregate.clone()),
            ),
            invalid.clone(),
        ),
        (
            (
                "fav one short".into(),
                fav,
                fast_aggregate(&keys, message, short),
            ),
            invalid.clone(),
        ),
        (
            (
                "fav keys sum to the identity".into(),
                fav,
                fast_aggregate(
                    &[keys[0].clone(), negated_key(&keys[0])],
                    message,
                    signers[0]["signature"].clone(),
                ),
            ),
            invalid,
        ),
        (
            ("verify valid".into(), "/v1/verify", verify(310, None)),
            results(None),
        ),
        (
            ("verify one bad".into(), "/v1/verify", verify(320, Some(2))),
            results(Some(2)),
        ),
    ];
    // A signature no point has (the suite's tampered one): its code comes before a bad key's
    // and before the identity sum's verdict, also when its decoding is left to the device.
    let dir = vectors_dir().join("fast_aggregate_verify");
    let tampered: Value = serde_json::from_str(
        &std::fs::read_to_string(
            dir.join("fast_aggregate_verify_tampered_signature_3d7576f3c0e3570a.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let tampered = tampered["input"]["signature"].clone();
    let mut infinity = vec![0u8; 48];
    infinity[0] = 0xc0;
    let not_on_curve = (200, json!({"valid": false, "error": "not_on_curve"}));
    requests.extend([
        (
            (
                "fav bad signature, bad key".into(),
                fav,
                fast_aggregate(
                    &[keys[0].clone(), json!(to_hex(&infinity))],
                    message,
                    tampered.clone(),
                ),
            ),
            not_on_curve.clone(),
        ),
        (
            (
                "fav bad signature, keys sum to the identity".into(),
                fav,
                fast_aggregate(&[keys[1].clone(), negated_key(&keys[1])], message, tampered),
            ),
            not_on_curve,
        ),
    ]);
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("test vectors missing at {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(files.len(), 12, "the suite's cases moved");
    for file in files {
        let case: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join(&file)).unwrap()).unwrap();
        let input = &case["input"];
        let body = json!({"public_keys": input["pubkeys"], "message": input["message"], "signature": input["signature"]});
        let answer = suite_answer(&file, case["output"].as_bool().unwrap());
        requests.push(((format!("suite {file}"), fav, body), answer));
    }
    requests
}

/// Sends every request at once (one thread each) and collects the answers by name.
pub fn send_together(server: &Server, requests: &[Request]) -> BTreeMap<String, (u16, Value)> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = requests
            .iter()
            .map(|(name, path, body)| {
                scope.spawn(move || {
                    let response = server.post(path, body);
                    (name.clone(), (response.status, response.json()))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// Every answer as expected.
pub fn assert_answers(
    expected: &[(Request, (u16, Value))],
    got: &BTreeMap<String, (u16, Value)>,
    what: &str,
) {
    for ((name, ..), answer) in expected {
        assert_eq!(&got[name], answer, "{what}: {name}");
    }
}

#[test]
fn fast_aggregates_share_a_cpu_batch_with_verify_requests_and_keep_their_verdicts() {
    let expected = requests();
    let requests: Vec<Request> = expected.iter().map(|(r, _)| r.clone()).collect();
    let flags = batch_flags(false);
    let mut args = vec!["--backend", "cpu"];
    args.extend(flags.iter().map(String::as_str));
    let server = Server::start(&args);
    let got = send_together(&server, &requests);
    assert_answers(&expected, &got, "cpu");
    // One batch, each fast aggregate one item of it (not its number of keys), the one summing
    // to the identity not at all.
    assert_eq!(
        server.metric_sum("tollgate_engine_batch_size_count"),
        1.0,
        "one shared batch"
    );
    assert_eq!(
        server.metric_sum("tollgate_engine_batch_size_sum"),
        batch_items(false) as f64
    );
}
