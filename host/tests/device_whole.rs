//! Whole batch verification on the Verilated verification design (`tollgate serve --backend
//! sim`, its default design): the device decodes the signatures the parser left encoded,
//! hashes, blinds and runs the Miller loops; the host finishes with one final exponentiation.
//! Every answer equals `--backend cpu`'s: the external suite's verify and batch_verify cases,
//! and a random batch with bad items of every kind (wrong message, infinity, off the curve,
//! off the subgroup: those two with their documented codes through the deferred path); /metrics
//! shows the device's stages ran; each well-formed-but-wrong fault (`corrupt`, `scalars-one`,
//! `drop-item`) is caught (fallback counted) with every verdict right, a device that
//! accepts every decoding (`decode-accepts`) is caught by the decoding job's negative canary,
//! and a device that hashes a message wrongly (`hash-wrong`: the canary is signed on the
//! device's own hash) can only fail batches, every verdict staying the CPU's.
//!
//! Simulation costs ~30k cycles per item on the device (~1 s each at ~35k cycles/s), so the
//! batches are small, one server serves each test, and only one simulator runs at a time
//! (sim_e2e::simulator).

use crate::common;
use crate::sim_e2e::{
    answers, assert_device_trusted, assert_same, device_report, fallbacks, metric, sim_server_of,
    simulator, vector_requests, JOBS_OK,
};

use std::collections::BTreeMap;

use common::{key, signed_item, vectors_dir, Server};
use serde_json::{json, Value};
use tollgate::suite::Suite;

/// Items of the mixed batch, and of the valid batches beside it. The servers of those batches
/// send the device batches of this many items or more: one device pass (one round of every
/// stage, ~1.0M cycles) per request, its bisection's halves on the CPU. Smaller halves would
/// each cost the device a whole round again.
const WHOLE_BATCH: usize = 7;

/// Simulated cycles one request may take on the whole path: one pass, measured 1,024,226
/// cycles for up to 31 items (bench/RESULTS.md "The whole min_pk batch check on one device"),
/// and the prober's job after a fault.
const WHOLE_REQUEST_CYCLES: f64 = 1_200_000.0;

/// A whole-path sim server of the default design (`extra`: more flags), reverification off
/// so that every device verdict stands on its own.
fn whole_server(min_batch: usize, extra: &[&str]) -> Server {
    let mut args = vec!["--device-reverify-fraction", "0"];
    args.extend_from_slice(extra);
    sim_server_of(min_batch, WHOLE_REQUEST_CYCLES, &args)
}

/// A /v1/verify body of [`WHOLE_BATCH`] valid items, keys from `first_key` on.
fn valid_batch(first_key: u64, label: &str) -> Value {
    let items: Vec<Value> = (first_key..first_key + WHOLE_BATCH as u64)
        .map(|i| signed_item(Suite::default(), &key(i), format!("{label} {i}").as_bytes()))
        .collect();
    json!({ "items": items })
}

/// The signature of the suite's deserialization_G2 case `file`.
fn g2_vector(file: &str) -> Value {
    let path = vectors_dir().join("deserialization_G2").join(file);
    let case: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    case["input"]["signature"].clone()
}

/// The mixed batch, then a valid one (`valid_batch(first_key, label)`): the device's first
/// batch fails anyway, so only the audit of its lanes can catch a fault there.
fn mixed_then_valid(first_key: u64, label: &str) -> Vec<(String, &'static str, Value)> {
    vec![
        ("mixed batch".to_string(), "/v1/verify", mixed_batch()),
        (
            "valid batch".to_string(),
            "/v1/verify",
            valid_batch(first_key, label),
        ),
    ]
}

/// A batch of [`WHOLE_BATCH`] items: valid ones, and a wrong message, the identity, a signature off the
/// curve and one off the subgroup (canonical encodings: only the device's decoding refuses
/// them).
fn mixed_batch() -> Value {
    let suite = Suite::default();
    let mut items: Vec<Value> = (0..WHOLE_BATCH as u64)
        .map(|i| signed_item(suite, &key(40 + i), format!("whole {i}").as_bytes()))
        .collect();
    items[1]["message"] = json!("0x0badbeef");
    let mut infinity = vec![0u8; 96];
    infinity[0] = 0xc0;
    items[3]["signature"] = json!(tollgate::api::wire::to_hex(&infinity));
    items[4]["signature"] = g2_vector("deserialization_fails_not_in_curve.json");
    items[5]["signature"] = g2_vector("deserialization_fails_not_in_G2.json");
    json!({ "items": items })
}

/// The external suite's /v1/verify requests (verify and batch_verify cases), and the mixed
/// batch.
fn requests() -> Vec<(String, &'static str, Value)> {
    let mut requests: Vec<_> = vector_requests()
        .into_iter()
        .filter(|(name, ..)| name.starts_with("verify/") || name.starts_with("batch_verify/"))
        .collect();
    assert!(
        requests.len() >= 30,
        "only {} vector requests",
        requests.len()
    );
    requests.push(("mixed batch".into(), "/v1/verify", mixed_batch()));
    requests
}

fn cpu_answers(requests: &[(String, &'static str, Value)]) -> BTreeMap<String, (u16, Value)> {
    let expected = answers(&Server::start(&["--backend", "cpu"]), requests);
    let mixed = &expected["mixed batch"].1["results"];
    let codes: Vec<&Value> = (0..WHOLE_BATCH).map(|i| &mixed[i]["error"]).collect();
    let none = Value::Null;
    assert_eq!(
        codes,
        [
            &none,
            &json!("invalid_signature"),
            &none,
            &json!("invalid_signature"),
            &json!("not_on_curve"),
            &json!("not_in_subgroup"),
            &none,
        ],
        "the reference's own answer"
    );
    expected
}

/// The sample `name{label="value"}` of /metrics.
fn sample(name: &str, label: &str, value: &str) -> String {
    format!(r#"{name}{{{label}="{value}"}}"#)
}

#[test]
fn the_device_verifies_whole_batches_with_the_cpu_answers() {
    let requests = requests();
    let expected = cpu_answers(&requests);
    let _simulator = simulator();
    // The suite's batches have 2 or 3 items: each is one device pass.
    let (mixed, vectors) = requests.split_last().expect("the mixed batch is last");
    let sim = whole_server(2, &[]);
    let mut got = answers(&sim, vectors);
    got.extend(answers(
        &whole_server(WHOLE_BATCH, &[]),
        std::slice::from_ref(mixed),
    ));
    assert_same(&expected, &got, &sim, "whole path vs cpu");
    for opcode in [
        "DecodeG2",
        "HashToG2",
        "ScalarMulG1",
        "BucketSumG2",
        "MillerLoop",
    ] {
        let cycles = metric(
            &sim,
            &sample("tollgate_device_job_cycles_total", "opcode", opcode),
        );
        assert!(cycles > 0.0, "no {opcode} cycles ({})", device_report(&sim));
    }
    // Every stage the driver ran is timed too, not only counted.
    let jobs = metric(&sim, JOBS_OK);
    assert!(jobs > 0.0);
    assert_eq!(
        metric(&sim, "tollgate_device_job_duration_seconds_count"),
        jobs,
        "{}",
        device_report(&sim)
    );
    assert_device_trusted(&sim);
}

#[test]
fn faults_on_the_whole_path_are_caught_and_every_verdict_stays_right() {
    // The mixed batch first: the device's first batch fails anyway (its bad items), the CPU
    // confirms that, and only the audit of the device's lanes can catch the fault there.
    let requests = mixed_then_valid(60, "fault");
    let expected = answers(&Server::start(&["--backend", "cpu"]), &requests);
    let _simulator = simulator();
    for fault in ["corrupt", "scalars-one", "drop-item"] {
        let sim = whole_server(WHOLE_BATCH, &["--inject-fault", fault]);
        let got = answers(&sim, &requests);
        assert_same(&expected, &got, &sim, fault);
        let caught: f64 = ["bad_result", "disagreement"]
            .iter()
            .map(|reason| fallbacks(&sim, reason))
            .sum();
        assert!(
            caught >= 1.0,
            "{fault}: not caught ({})",
            device_report(&sim)
        );
        // Caught on the first (failing) batch by the audit: the probe fails under these
        // faults too, so the valid batch is the CPU's and no canary failure is counted.
        if fault != "corrupt" {
            let canary = metric(&sim, "tollgate_device_canary_failures_total");
            assert_eq!(canary, 0.0, "{fault}: caught by the canary, not the audit");
        }
    }
}

#[test]
fn a_device_hashing_wrongly_only_fails_batches_and_is_caught() {
    // `hash-wrong`: the HashToG2 job's item 0 (an item, or the canary, whose signature is then
    // made on the wrong point) hashed as item 1. A wrong item hash fails the batch; a wrong
    // canary hash leaves the canary consistent. Either way the mixed batch, failed by the
    // device and confirmed by the CPU, is audited on the CPU's own hashes, which catch it.
    let requests = mixed_then_valid(100, "hash");
    let expected = answers(&Server::start(&["--backend", "cpu"]), &requests);
    let _simulator = simulator();
    let sim = whole_server(WHOLE_BATCH, &["--inject-fault", "hash-wrong"]);
    let got = answers(&sim, &requests);
    assert_same(&expected, &got, &sim, "hash-wrong");
    let caught = fallbacks(&sim, "disagreement");
    assert!(caught >= 1.0, "not caught ({})", device_report(&sim));
}

#[test]
fn a_device_accepting_every_decoding_fails_the_negative_canary() {
    // `decode-accepts`: every DecodeG2 result says "on the curve, in G2". A batch of valid
    // items alone then verifies as before (their residues are zero anyway): only the decoding
    // job's negative canary, which the device must reject, shows the fault. The valid batch
    // goes first, so nothing else can have caught it.
    let requests = vec![
        (
            "valid batch".to_string(),
            "/v1/verify",
            valid_batch(80, "accepts"),
        ),
        ("mixed batch".to_string(), "/v1/verify", mixed_batch()),
    ];
    let expected = answers(&Server::start(&["--backend", "cpu"]), &requests);
    let _simulator = simulator();
    let sim = whole_server(WHOLE_BATCH, &["--inject-fault", "decode-accepts"]);
    // The valid batch alone: nothing but the negative canary can catch the fault here.
    let only = |name: &str| -> BTreeMap<_, _> {
        expected
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(n, a)| (n.clone(), a.clone()))
            .collect()
    };
    let got = answers(&sim, &requests[..1]);
    assert_same(
        &only("valid batch"),
        &got,
        &sim,
        "decode-accepts, valid batch",
    );
    // Off-subgroup class: the device's point is refused as the canary's; off-curve class: its
    // root is not on the curve, refused by the driver at the canary's position. Either way a
    // canary failure, and the device condemned as bad_result.
    let caught = fallbacks(&sim, "bad_result");
    assert!(caught >= 1.0, "not caught ({})", device_report(&sim));
    let canary = metric(&sim, "tollgate_device_canary_failures_total");
    assert!(
        canary >= 1.0,
        "not counted as a canary failure ({})",
        device_report(&sim)
    );
    let got = answers(&sim, &requests[1..]);
    let mixed: BTreeMap<_, _> = expected
        .into_iter()
        .filter(|(name, _)| name == "mixed batch")
        .collect();
    assert_same(&mixed, &got, &sim, "decode-accepts, mixed batch");
}
