//! Aggregate verification on the Verilated verification design (`tollgate serve --backend
//! sim`): from `--device-min-pairs` pairs on, `/v1/aggregate-verify` is one device pass
//! (host/src/engine/device/aggregate.rs). Every answer equals `--backend cpu`'s: the external
//! suite's aggregate_verify and fast_aggregate_verify cases, and random requests with a wrong
//! message or a wrong signature; the device's jobs ran and nothing fell back. With the default
//! threshold the suite's small aggregates stay on the CPU. Well-formed-but-wrong faults
//! (`corrupt`, `drop-item`) are caught, counted in /metrics, and every verdict stays right.
//! A fast aggregate verification is one item of a batch (its keys summed on the CPU): sent
//! with verify requests it rides their device batch, and every request keeps its verdict.
//!
//! Each pass is one round of every stage (~1.0M simulated cycles, ~15 s here), so only a few
//! requests reach the device: the suite's cases that would repeat a pass already made go to a
//! server with the default threshold (the CPU).

use crate::common;
use crate::fast_aggregate_batching::{assert_answers, batch_flags, batch_items, send_together};
use crate::sim_e2e::{
    aggregate_signatures, answers, assert_device_trusted, assert_same, device_report, fallbacks,
    metric, sim_server_of, simulator, vector_requests, JOBS_OK,
};

use std::collections::BTreeMap;

use common::{key, signed_item, Server};
use serde_json::{json, Value};
use tollgate::suite::{Suite, Variant};

/// Simulated cycles of one request: one pass (one round of each stage, 1,024,226 cycles
/// measured for up to 31 items: bench/RESULTS.md "The whole min_pk batch check on one
/// device"), and the prober's job after a fault.
const PASS_CYCLES: f64 = 1_200_000.0;

/// Pairs of the random requests.
const PAIRS: u64 = 4;

type Requests = Vec<(String, &'static str, Value)>;

/// A sim server of the verification design sending aggregate verifications of `min_pairs`
/// pairs or more to the device (`None`: the default threshold), reverification off so that
/// every device verdict stands on its own.
fn aggregate_server(min_pairs: Option<usize>, extra: &[&str]) -> Server {
    let min_pairs = min_pairs.map(|n| n.to_string());
    let mut args = vec!["--device-reverify-fraction", "0"];
    if let Some(min_pairs) = &min_pairs {
        args.extend(["--device-min-pairs", min_pairs.as_str()]);
    }
    args.extend_from_slice(extra);
    // Batches never reach the device here: only aggregates do.
    sim_server_of(usize::MAX, PASS_CYCLES, &args)
}

/// Aggregate verifications of [`PAIRS`] distinct (key, message) pairs: valid, one message
/// changed, and the aggregate of one signature too few.
fn random_requests() -> Requests {
    let items: Vec<Value> = (0..PAIRS)
        .map(|i| {
            signed_item(
                Suite::default(),
                &key(200 + i),
                format!("pair {i}").as_bytes(),
            )
        })
        .collect();
    let field = |name: &str| -> Vec<Value> { items.iter().map(|i| i[name].clone()).collect() };
    let request = |messages: Vec<Value>, signature: Value| json!({"public_keys": field("public_key"), "messages": messages, "signature": signature});
    let aggregate = aggregate_signatures(Variant::MinPk, &items);
    let mut wrong_message = field("message");
    wrong_message[2] = json!("0x0badbeef");
    let short = aggregate_signatures(Variant::MinPk, &items[1..]);
    [
        ("valid", request(field("message"), aggregate.clone())),
        ("wrong message", request(wrong_message, aggregate)),
        ("wrong signature", request(field("message"), short)),
    ]
    .into_iter()
    .map(|(name, body)| (format!("random {name}"), "/v1/aggregate-verify", body))
    .collect()
}

#[test]
fn aggregates_on_the_device_give_the_cpu_answers() {
    let suite: Requests = vector_requests()
        .into_iter()
        .filter(|(name, ..)| name.starts_with("aggregate_verify/") || name.starts_with("fast_"))
        .collect();
    assert!(suite.len() >= 15, "only {} suite requests", suite.len());
    // Every aggregate_verify case on the device; the fast aggregates, batch items, on the CPU
    // of servers whose batches never reach the device (`fast_aggregates_ride_a_device_batch`
    // sends them to one).
    let (mut device, cpu): (Requests, Requests) = suite
        .into_iter()
        .partition(|r| r.0.starts_with("aggregate_verify/"));
    assert_eq!(device.len(), 5, "the suite's cases moved");
    device.extend(random_requests());
    let reference = Server::start(&["--backend", "cpu"]);
    let expected = answers(&reference, &device);
    let verdict = |name: &str| expected[name].1["valid"].clone();
    assert_eq!(
        verdict("random valid"),
        json!(true),
        "the reference's own answer"
    );
    assert_eq!(verdict("random wrong message"), json!(false));
    assert_eq!(verdict("random wrong signature"), json!(false));

    let _simulator = simulator();
    let sim = aggregate_server(Some(1), &[]);
    let got = answers(&sim, &device);
    assert_same(&expected, &got, &sim, "aggregates on the device vs cpu");
    // The suite's valid aggregate and the three random requests reached the device (the
    // suite's other aggregate_verify cases are refused at parse time): four passes of five jobs
    // (decoding, hashing, two blinding stages, Miller loops).
    assert_eq!(metric(&sim, JOBS_OK), 4.0 * 5.0, "{}", device_report(&sim));
    assert_device_trusted(&sim);

    // The default threshold keeps small aggregate verifications on the CPU (and fast
    // aggregates, batch items here, follow the batches: to the CPU).
    let expected = answers(&reference, &cpu);
    let defaults = aggregate_server(None, &[]);
    let got = answers(&defaults, &cpu);
    assert_same(&expected, &got, &defaults, "small aggregates with defaults");
    assert_eq!(
        metric(&defaults, JOBS_OK),
        0.0,
        "{}",
        device_report(&defaults)
    );
}

#[test]
fn faults_on_device_aggregates_are_caught_and_the_verdicts_stay_right() {
    let requests: Requests = random_requests().into_iter().take(1).collect();
    let expected: BTreeMap<_, _> = answers(&Server::start(&["--backend", "cpu"]), &requests);
    let _simulator = simulator();
    // `corrupt`: a result word flipped (a malformed point, or lanes whose product fails);
    // `drop-item`: item 1's input read for item 0's. Either way the device's "invalid" of a
    // valid aggregate is not confirmed by the CPU, or its result is refused outright.
    for fault in ["corrupt", "drop-item"] {
        let sim = aggregate_server(Some(2), &["--inject-fault", fault]);
        let got = answers(&sim, &requests);
        assert_same(&expected, &got, &sim, fault);
        let caught = fallbacks(&sim, "bad_result") + fallbacks(&sim, "disagreement");
        assert!(
            caught >= 1.0,
            "{fault}: not caught ({})",
            device_report(&sim)
        );
    }
}

#[test]
fn fast_aggregates_ride_a_device_batch_with_the_right_verdicts() {
    let expected = crate::fast_aggregate_batching::requests();
    let requests: Requests = expected.iter().map(|(r, _)| r.clone()).collect();
    let _simulator = simulator();
    // The shared batch (fast aggregates folded, verify items, the suite's tampered signatures
    // left to the device's decoding) is one device pass; the checks of its requests alone,
    // after it fails, are smaller than the device minimum: on the CPU.
    let min_batch = batch_items(true);
    let flags = batch_flags(true);
    let mut args = vec!["--device-reverify-fraction", "0"];
    args.extend(flags.iter().map(String::as_str));
    let sim = sim_server_of(min_batch, PASS_CYCLES, &args);
    let got = send_together(&sim, &requests);
    assert_answers(&expected, &got, &format!("sim ({})", device_report(&sim)));
    assert_eq!(metric(&sim, JOBS_OK), 5.0, "{}", device_report(&sim));
    assert_eq!(
        sim.metric_sum("tollgate_engine_batch_size_sum"),
        min_batch as f64
    );
    assert_eq!(metric(&sim, "tollgate_device_canary_failures_total"), 0.0);
}
