//! Latency classes (docs/API.md): interactive verdicts are exact on every suite and endpoint;
//! an interactive request overtakes bulk work queued ahead of it (order observed, not timed);
//! the interactive size limit; 429s per class.

use crate::common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::{all_suites, key, names, reference, signed_item, Server};
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use serde_json::{json, Value};
use tollgate::api::wire::to_hex;
use tollgate::suite::{Scheme, Suite};

fn bytes(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap().trim_start_matches("0x")).unwrap()
}

/// `n` valid items of `suite` (distinct messages, a few signers).
fn items(suite: Suite, n: usize, salt: u64) -> Vec<Value> {
    (0..n)
        .map(|i| {
            signed_item(
                suite,
                &key(salt + i as u64 % 3),
                format!("toll {salt} {i}").as_bytes(),
            )
        })
        .collect()
}

/// The aggregate of `signatures`, from the server's /v1/aggregate.
fn aggregate_of(server: &Server, variant: &str, signatures: Vec<Value>) -> Value {
    server
        .post(
            "/v1/aggregate",
            &json!({"variant": variant, "signatures": signatures}),
        )
        .json()["signature"]
        .clone()
}

#[test]
fn interactive_verdicts_are_exact_on_every_suite_and_endpoint() {
    let seed: u64 = rand::thread_rng().next_u64();
    eprintln!("latency_classes seed {seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let server = Server::start(&[]);
    for suite in all_suites() {
        let (scheme, variant) = names(suite);
        // /v1/verify: bad items at random positions, verdicts equal to arkworks'.
        let n = rng.gen_range(2..=16);
        let mut batch = items(suite, n, rng.gen_range(0..1000));
        for item in batch.iter_mut() {
            if rng.gen_bool(0.3) {
                let tampered = [bytes(&item["message"]), b"!".to_vec()].concat();
                item["message"] = json!(to_hex(&tampered));
            }
        }
        let r = server.post(
            "/v1/verify",
            &json!({"scheme": scheme, "variant": variant, "priority": "interactive", "items": batch}),
        );
        assert_eq!(r.status, 200, "{suite:?}: {}", r.body);
        let body = r.json();
        for (i, item) in batch.iter().enumerate() {
            let expected = reference::verify(
                suite,
                &bytes(&item["public_key"]),
                &bytes(&item["message"]),
                &bytes(&item["signature"]),
            );
            assert_eq!(
                body["results"][i]["valid"],
                json!(expected),
                "{suite:?} item {i}"
            );
        }

        // /v1/aggregate-verify: valid, then with one message changed.
        let keys: Vec<_> = (0..4).map(|i| key(900 + i)).collect();
        let messages: Vec<Vec<u8>> = (0..4).map(|i| format!("gate {i}").into_bytes()).collect();
        let signatures: Vec<Value> = keys
            .iter()
            .zip(&messages)
            .map(|(sk, m)| signed_item(suite, sk, m)["signature"].clone())
            .collect();
        let aggregate = aggregate_of(&server, &variant, signatures);
        let public_keys: Vec<String> = keys
            .iter()
            .map(|sk| to_hex(&sk.public_key(suite.variant)))
            .collect();
        let mut hex_messages: Vec<String> = messages.iter().map(|m| to_hex(m)).collect();
        for expect in [true, false] {
            let r = server.post(
                "/v1/aggregate-verify",
                &json!({"scheme": scheme, "variant": variant, "priority": "interactive",
                        "public_keys": public_keys, "messages": hex_messages, "signature": aggregate}),
            );
            assert_eq!(r.status, 200, "{}", r.body);
            assert_eq!(r.json()["valid"], json!(expect), "{suite:?}: {}", r.body);
            hex_messages[2] = to_hex(b"another gate");
        }

        // /v1/fast-aggregate-verify (POP only): valid, then with one key missing.
        if suite.scheme == Scheme::Pop {
            let message = b"one message";
            let signatures: Vec<Value> = keys
                .iter()
                .map(|sk| signed_item(suite, sk, message)["signature"].clone())
                .collect();
            let aggregate = aggregate_of(&server, &variant, signatures);
            for (keys_sent, expect) in [(4, true), (3, false)] {
                let r = server.post(
                    "/v1/fast-aggregate-verify",
                    &json!({"variant": variant, "priority": "interactive",
                            "public_keys": public_keys[..keys_sent], "message": to_hex(message),
                            "signature": aggregate}),
                );
                assert_eq!(r.status, 200, "{}", r.body);
                assert_eq!(r.json()["valid"], json!(expect), "{suite:?}: {}", r.body);
            }
        }
    }
}

/// The `tollgate_queue_depth` gauge: signatures waiting in the bulk queue.
fn bulk_queue_depth(server: &Server) -> f64 {
    let metrics = server.get("/metrics").body;
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("tollgate_queue_depth "))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or(0.0)
}

#[test]
fn interactive_request_overtakes_bulk_work_queued_ahead_of_it() {
    let suite = Suite::default();
    let bulk_requests = 6;
    let bulk_items = 256;
    // One engine batch per bulk request: bisecting 256 bad items takes the batcher seconds.
    let server = Arc::new(Server::start(&[
        "--max-batch-size",
        "256",
        "--max-items",
        "256",
        "--queue-capacity",
        "4096",
        // The bulk clients share one address and send only bad items: admission would refuse
        // them soon (each failed item weighs on that address's next requests: the point of it).
        // This test is about latency classes, so their budget takes all of that.
        "--admission-capacity",
        "100000",
        "--client-share",
        "100000",
    ]));
    let answered = Arc::new(AtomicUsize::new(0));
    // Every item bad: finding them (a single check each) makes verification far slower than
    // decoding, so bulk work piles up in the queue. Signed first, so that they arrive together.
    let requests: Vec<Value> = (0..bulk_requests)
        .map(|c| {
            let mut batch = items(suite, bulk_items, 10 * c as u64);
            for item in batch.iter_mut() {
                item["message"] = json!(to_hex(b"tampered"));
            }
            json!({ "items": batch })
        })
        .collect();
    let bulk: Vec<_> = requests
        .into_iter()
        .map(|request| {
            let (server, answered) = (server.clone(), answered.clone());
            std::thread::spawn(move || {
                let r = server.post("/v1/verify", &request);
                assert_eq!(r.status, 200, "{}", r.body);
                assert_eq!(r.json()["invalid"], json!(bulk_items));
                answered.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    // Wait (bounded) until two bulk requests wait in the queue, behind the one being verified.
    let waiting_since = Instant::now();
    while bulk_queue_depth(&server) < (2 * bulk_items) as f64 {
        assert!(
            waiting_since.elapsed() < Duration::from_secs(120),
            "bulk work never queued up"
        );
        assert!(
            answered.load(Ordering::SeqCst) < bulk_requests,
            "bulk finished first"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    let answered_before = answered.load(Ordering::SeqCst);
    let r = server.post(
        "/v1/verify",
        &json!({"priority": "interactive", "items": items(suite, 1, 77)}),
    );
    let bulk_done_when_answered = answered.load(Ordering::SeqCst);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["valid"], json!(1));
    // Two bulk requests were waiting in the queue when the interactive one was sent: FIFO
    // would have answered them (and the one being verified) first. At most the one being
    // verified may have finished meanwhile.
    assert!(
        bulk_done_when_answered <= answered_before + 1,
        "{} bulk requests answered while the interactive one was served",
        bulk_done_when_answered - answered_before
    );
    for handle in bulk {
        handle.join().expect("bulk client");
    }
    let metrics = server.get("/metrics").body;
    for priority in ["interactive", "bulk"] {
        assert!(
            metrics.contains(&format!(
                "tollgate_queue_wait_seconds_count{{priority=\"{priority}\"}}"
            )),
            "{metrics}"
        );
        assert!(
            metrics.contains(&format!(
                "tollgate_verification_request_duration_seconds_count{{priority=\"{priority}\"}}"
            )),
            "{metrics}"
        );
    }
}

#[test]
fn interactive_size_limit_and_priority_names() {
    let suite = Suite::default();
    let server = Server::start(&["--interactive-max-items", "4"]);
    let r = server.post(
        "/v1/verify",
        &json!({"priority": "interactive", "items": items(suite, 5, 1)}),
    );
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (400, "interactive_too_large")
    );
    // The same request as bulk is fine, and so is an interactive one at the limit.
    for (priority, n) in [("bulk", 5), ("interactive", 4)] {
        let r = server.post(
            "/v1/verify",
            &json!({"priority": priority, "items": items(suite, n, 1)}),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["valid"], json!(n));
    }
    let keys: Vec<String> = (0..5)
        .map(|i| to_hex(&key(i).public_key(suite.variant)))
        .collect();
    let r = server.post(
        "/v1/fast-aggregate-verify",
        &json!({"priority": "interactive", "public_keys": keys, "message": "0x00",
                "signature": items(suite, 1, 1)[0]["signature"]}),
    );
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (400, "interactive_too_large")
    );
    for bad in [json!("urgent"), json!(1)] {
        let r = server.post(
            "/v1/verify",
            &json!({"priority": bad, "items": items(suite, 1, 1)}),
        );
        assert_eq!(r.status, 400, "{}", r.body);
    }
    let r = server.post(
        "/v1/verify",
        &json!({"priority": "urgent", "items": items(suite, 1, 1)}),
    );
    assert_eq!(r.error_code(), "unknown_priority");
    let info = server.get("/v1/info").json();
    assert_eq!(info["limits"]["interactive_max_items"], json!(4));
}

/// Releases `requests` at once from their own threads; returns their statuses.
fn burst(server: &Arc<Server>, requests: Vec<Value>) -> Vec<u16> {
    let barrier = Arc::new(Barrier::new(requests.len()));
    let handles: Vec<_> = requests
        .into_iter()
        .map(|request| {
            let (server, barrier) = (server.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let r = server.post("/v1/verify", &request);
                match r.status {
                    200 => assert_eq!(r.json()["invalid"], json!(0), "{}", r.body),
                    429 => {
                        assert_eq!(r.error_code(), "queue_full");
                        assert!(r.retry_after.is_some());
                    }
                    other => panic!("status {other}: {}", r.body),
                }
                r.status
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("client"))
        .collect()
}

#[test]
fn bulk_is_refused_first_and_interactive_has_its_own_budget() {
    let suite = Suite::default();
    let server = Arc::new(Server::start(&[
        "--queue-capacity",
        "64",
        "--max-batch-size",
        "64",
        "--max-items",
        "64",
        "--interactive-capacity",
        "16",
    ]));
    // Bulk overload (far more than the queue holds) with small interactive requests among it:
    // bulk is refused, every interactive request is served.
    let mut requests: Vec<Value> = (0..16)
        .map(|c| json!({"items": items(suite, 64, c)}))
        .collect();
    let interactive: Vec<Value> = (0..4)
        .map(|c| json!({"priority": "interactive", "items": items(suite, 1, 100 + c)}))
        .collect();
    requests.extend(interactive);
    let statuses = burst(&server, requests);
    assert!(
        statuses[..16].contains(&429),
        "bulk never refused: {statuses:?}"
    );
    assert!(
        statuses[16..].iter().all(|&s| s == 200),
        "an interactive request was refused while only bulk was overloaded: {statuses:?}"
    );
    // Interactive overload: requests of the whole budget each, all at once.
    let statuses = burst(
        &server,
        (0..12)
            .map(|c| json!({"priority": "interactive", "items": items(suite, 16, 200 + c)}))
            .collect(),
    );
    assert!(
        statuses.contains(&200) && statuses.contains(&429),
        "{statuses:?}"
    );
    let metrics = server.get("/metrics").body;
    for priority in ["interactive", "bulk"] {
        assert!(
            metrics.contains(&format!(
                "tollgate_throttled_requests_total{{priority=\"{priority}\"}}"
            )),
            "{metrics}"
        );
    }
}
