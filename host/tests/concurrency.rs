//! Many clients at once: every request answered correctly; a full queue answers 429 with
//! Retry-After; SIGTERM drains accepted requests before the process exits.

use crate::common;

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::{key, signed_item, Server};
use serde_json::{json, Value};
use tollgate::suite::Suite;

/// `n` items signed by a few keys; items at `bad` positions carry another message.
fn batch(n: usize, salt: u64, bad: &[usize]) -> Value {
    let suite = Suite::default();
    let items: Vec<Value> = (0..n)
        .map(|i| {
            let message = format!("payment {salt} {i}");
            let mut item = signed_item(suite, &key(salt % 7 + i as u64 % 3), message.as_bytes());
            if bad.contains(&i) {
                item["message"] = json!(tollgate::api::wire::to_hex(b"tampered"));
            }
            item
        })
        .collect();
    json!({"items": items})
}

fn check_verdicts(body: &Value, n: usize, bad: &[usize]) {
    for i in 0..n {
        assert_eq!(
            body["results"][i]["valid"],
            json!(!bad.contains(&i)),
            "item {i}"
        );
    }
}

/// Releases `clients` threads at once; client `c` posts the 8-item batches of `plan(c)` in
/// order and checks each verdict against the bad positions `plan(c)` names.
fn concurrent_clients(
    server: &Arc<Server>,
    clients: usize,
    plan: impl Fn(usize) -> (Vec<Value>, Vec<usize>),
) {
    let barrier = Arc::new(Barrier::new(clients));
    let handles: Vec<_> = (0..clients)
        .map(|c| {
            let (server, barrier) = (server.clone(), barrier.clone());
            let (requests, bad) = plan(c);
            std::thread::spawn(move || {
                barrier.wait();
                for request in &requests {
                    let r = server.post("/v1/verify", request);
                    assert_eq!(r.status, 200, "{}", r.body);
                    check_verdicts(&r.json(), 8, &bad);
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().expect("client thread");
    }
}

#[test]
fn many_clients_all_answered() {
    let server = Arc::new(Server::start(&[]));
    concurrent_clients(&server, 16, |c| {
        let bad: Vec<usize> = if c % 3 == 0 { vec![c % 8] } else { vec![] };
        (
            (0..4)
                .map(|r| batch(8, (c * 10 + r) as u64, &bad))
                .collect(),
            bad,
        )
    });
    let metrics = server.get("/metrics").body;
    let verified: f64 = metrics
        .lines()
        .filter(|l| l.starts_with("tollgate_signatures_verified_total"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum();
    assert_eq!(verified, (16 * 4 * 8) as f64, "{metrics}");
}

#[test]
fn queue_delay_batches_across_requests() {
    // With a queue delay the batcher waits for concurrent requests to fill one engine batch.
    let server = Arc::new(Server::start(&[
        "--max-queue-delay-ms",
        "200",
        "--max-batch-size",
        "64",
    ]));
    let clients = 6;
    concurrent_clients(&server, clients, |c| {
        (vec![batch(8, 500 + c as u64, &[c])], vec![c])
    });
    // Fewer engine batches than requests: some batch spanned several requests.
    let metrics = server.get("/metrics").body;
    let batches: f64 = metrics
        .lines()
        .find(|l| l.starts_with("tollgate_engine_batch_size_count"))
        .and_then(|l| l.rsplit(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        batches < clients as f64,
        "{batches} engine batches for {clients} requests"
    );
}

#[test]
fn full_queue_answers_429_with_retry_after() {
    let server = Arc::new(Server::start(&[
        "--queue-capacity",
        "32",
        "--max-batch-size",
        "32",
        "--max-items",
        "32",
        "--retry-after-secs",
        "2",
    ]));
    let clients = 24;
    let barrier = Arc::new(Barrier::new(clients));
    let handles: Vec<_> = (0..clients)
        .map(|c| {
            let (server, barrier) = (server.clone(), barrier.clone());
            let request = batch(32, c as u64, &[]);
            std::thread::spawn(move || {
                barrier.wait();
                let r = server.post("/v1/verify", &request);
                match r.status {
                    200 => check_verdicts(&r.json(), 32, &[]),
                    429 => {
                        assert_eq!(r.error_code(), "queue_full");
                        assert_eq!(r.retry_after.as_deref(), Some("2"));
                    }
                    other => panic!("status {other}: {}", r.body),
                }
                r.status
            })
        })
        .collect();
    let statuses: Vec<u16> = handles
        .into_iter()
        .map(|h| h.join().expect("client thread"))
        .collect();
    assert!(
        statuses.contains(&429),
        "no request was refused: {statuses:?}"
    );
    assert!(
        statuses.contains(&200),
        "no request was served: {statuses:?}"
    );
    let metrics = server.get("/metrics").body;
    assert!(
        metrics.contains("tollgate_rejections_total{reason=\"queue_full\"}"),
        "{metrics}"
    );
}

#[test]
fn sigterm_answers_accepted_requests_before_exit() {
    // The 8 clients share one address: as one client they would hold 4096 item units (keys
    // still uncached) of the default 2048-unit share; give them the whole budget.
    let mut server = Server::start(&["--max-items", "256", "--client-share", "8192"]);
    let clients = 8;
    let requests: Vec<Value> = (0..clients)
        .map(|c| batch(256, 100 + c as u64, &[c]))
        .collect();
    let base = server.base.clone();
    let barrier = Arc::new(Barrier::new(clients + 1));
    let handles: Vec<_> = requests
        .into_iter()
        .enumerate()
        .map(|(c, request)| {
            let (base, barrier) = (base.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let r = ureq::post(&format!("{base}/v1/verify"))
                    .send_string(&request.to_string())
                    .expect("answered");
                let body: Value = serde_json::from_str(&r.into_string().unwrap()).unwrap();
                check_verdicts(&body, 256, &[c]);
                Instant::now()
            })
        })
        .collect();
    barrier.wait();
    // Let every request reach the server, then ask it to stop while work is still queued.
    std::thread::sleep(Duration::from_millis(300));
    let signalled = Instant::now();
    server.sigterm();
    let answered: Vec<Instant> = handles
        .into_iter()
        .map(|h| h.join().expect("request answered"))
        .collect();
    assert!(
        answered.iter().any(|&t| t > signalled),
        "all work finished before SIGTERM: the drain was not exercised"
    );
    let status = server.child.wait().expect("server exits");
    assert!(status.success(), "exit status {status}");
}

#[test]
fn healthz_answers_promptly_during_a_1024_key_fast_aggregate_verify() {
    let server = Arc::new(Server::start(&[]));
    let suite = Suite::default();
    let message = b"one message, 1,024 signers";
    let signers: Vec<_> = (0..1024).map(|i| key(50_000 + i)).collect();
    let signatures: Vec<String> = signers
        .iter()
        .map(|sk| tollgate::api::wire::to_hex(&sk.sign(suite, message)))
        .collect();
    let aggregate = server.post("/v1/aggregate", &json!({ "signatures": signatures }));
    assert_eq!(aggregate.status, 200, "{}", aggregate.body);
    let request = json!({
        "public_keys": signers
            .iter()
            .map(|sk| tollgate::api::wire::to_hex(&sk.public_key(suite.variant)))
            .collect::<Vec<_>>(),
        "message": tollgate::api::wire::to_hex(message),
        "signature": aggregate.json()["signature"],
    });
    let verifying = {
        let server = server.clone();
        std::thread::spawn(move || {
            let started = Instant::now();
            let response = server.post("/v1/fast-aggregate-verify", &request);
            (response, started.elapsed())
        })
    };
    let mut polls = Vec::new();
    while !verifying.is_finished() {
        let started = Instant::now();
        let health = server.get("/healthz");
        polls.push(started.elapsed());
        assert_eq!(health.status, 200);
    }
    let (response, took) = verifying.join().expect("client");
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.json()["valid"], json!(true), "{}", response.body);
    // Keys are validated (every one is new) and summed off the event loop.
    assert!(polls.len() >= 3, "only {} polls in {took:?}", polls.len());
    let slowest = polls.iter().max().unwrap();
    assert!(
        *slowest < Duration::from_millis(50),
        "/healthz took {slowest:?} during the request ({took:?}, {} polls)",
        polls.len()
    );
}
