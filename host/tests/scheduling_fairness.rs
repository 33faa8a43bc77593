//! Scheduling under attack (issue 12): one request's bad items do not bisect honest requests
//! that share its engine batch.

use crate::common;

use std::sync::{Arc, Barrier};

use common::{key, signed_item, Server};
use serde_json::{json, Value};
use tollgate::api::wire::to_hex;
use tollgate::suite::Suite;

/// The sum of every sample of `name` (all label sets) in a /metrics answer.
fn metric(server: &Server, name: &str) -> f64 {
    server
        .get("/metrics")
        .body
        .lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(' ') || rest.starts_with('{'))
        })
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum()
}

/// `n` items; those at `bad` carry a message other than the one signed.
fn batch(n: usize, salt: u64, bad: &[usize]) -> Value {
    let suite = Suite::default();
    let items: Vec<Value> = (0..n)
        .map(|i| {
            let mut item = signed_item(
                suite,
                &key(salt + i as u64 % 3),
                format!("fair {salt} {i}").as_bytes(),
            );
            if bad.contains(&i) {
                item["message"] = json!(to_hex(b"tampered"));
            }
            item
        })
        .collect();
    json!({ "items": items })
}

#[test]
fn bad_items_of_one_request_do_not_bisect_honest_requests() {
    // A queue delay makes the concurrent requests share engine batches.
    let server = Arc::new(Server::start(&[
        "--max-queue-delay-ms",
        "300",
        "--max-batch-size",
        "128",
    ]));
    // Honest 16-item requests and attacker requests of one bad item each, all at once.
    let requests: Vec<(Value, Vec<usize>)> = (0..8)
        .map(|c| {
            if c % 4 == 3 {
                (batch(1, 1000 + c, &[0]), vec![0])
            } else {
                (batch(16, 10 * c, &[]), vec![])
            }
        })
        .collect();
    let barrier = Arc::new(Barrier::new(requests.len()));
    let handles: Vec<_> = requests
        .into_iter()
        .map(|(request, bad)| {
            let (server, barrier) = (server.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let r = server.post("/v1/verify", &request);
                assert_eq!(r.status, 200, "{}", r.body);
                let body = r.json();
                let n = request["items"].as_array().unwrap().len();
                for i in 0..n {
                    assert_eq!(
                        body["results"][i]["valid"],
                        json!(!bad.contains(&i)),
                        "item {i}"
                    );
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().expect("client");
    }
    let batches = metric(&server, "tollgate_engine_batch_size_count");
    let checks = metric(&server, "tollgate_batch_checks_total");
    // A batch that failed was split by request: more checks than batches...
    assert!(
        checks > batches,
        "no engine batch mixed honest and bad requests ({checks} checks, {batches} batches)"
    );
    // ...and never bisected: the bad requests are single items, the honest ones pass whole.
    assert_eq!(metric(&server, "tollgate_bisections_total"), 0.0);
}
