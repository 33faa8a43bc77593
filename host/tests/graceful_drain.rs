//! SIGTERM through the real binary: /readyz answers 503 at once, requests (on new connections)
//! are still answered with their verdicts through the drain grace period, then the listener
//! closes and the process exits 0 after answering what it accepted.

use crate::common;

use std::time::{Duration, Instant};

use common::Server;
use serde_json::Value;
use tollgate::client::{generate_batch, BatchSpec, Corruption};
use tollgate::suite::Suite;

const GRACE: Duration = Duration::from_secs(2);

fn batch() -> (String, Vec<usize>) {
    let generated = generate_batch(&BatchSpec {
        items: 16,
        suite: Suite::default(),
        keys: 4,
        message_len: 32,
        corruption: Corruption::Positions(vec![5]),
        seed: Some(7),
    })
    .expect("batch");
    (
        serde_json::to_string(&generated.request).unwrap(),
        generated.bad,
    )
}

fn assert_verdicts(body: &str, bad: &[usize]) {
    let answer: Value = serde_json::from_str(body).expect("JSON answer");
    let results = answer["results"].as_array().expect("results");
    assert_eq!(results.len(), 16);
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r["valid"], !bad.contains(&i), "item {i}: {r}");
    }
}

#[test]
fn sigterm_turns_readiness_off_then_serves_through_the_grace_then_exits() {
    let mut server = Server::start(&["--drain-grace-secs", &GRACE.as_secs().to_string()]);
    let (body, bad) = batch();
    assert_eq!(server.get("/readyz").status, 200);

    let signalled = Instant::now();
    server.sigterm();
    // Readiness turns off at once (well within one HAProxy check interval).
    let deadline = signalled + Duration::from_millis(500);
    let ready = loop {
        let r = server.get("/readyz");
        if r.status == 503 || Instant::now() > deadline {
            break r;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(ready.status, 503, "/readyz after SIGTERM: {}", ready.body);
    assert_eq!(ready.error_code(), "not_ready");
    assert_eq!(server.get("/healthz").status, 200);

    // Through the grace period every request is still served (each on a new connection).
    let mut served = 0;
    while signalled.elapsed() < GRACE - Duration::from_millis(300) {
        let r = server.post_raw("/v1/verify", &body);
        assert_eq!(r.status, 200, "during the grace period: {}", r.body);
        assert_verdicts(&r.body, &bad);
        served += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(served >= 5, "only {served} requests in the grace period");

    // Then the process drains and exits 0, no sooner than the grace period.
    let status = server.child.wait().expect("server exits");
    let stopped = signalled.elapsed();
    assert!(status.success(), "exit status {status}");
    assert!(
        stopped >= GRACE,
        "exited after {stopped:?}, before the grace"
    );
    assert!(
        stopped < GRACE + Duration::from_secs(10),
        "took {stopped:?}"
    );
}

#[test]
fn sigint_stops_without_the_grace() {
    let mut server = Server::start(&["--drain-grace-secs", "30"]);
    let started = Instant::now();
    let status = std::process::Command::new("kill")
        .args(["-INT", &server.child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    let status = server.child.wait().expect("server exits");
    assert!(status.success(), "exit status {status}");
    assert!(started.elapsed() < Duration::from_secs(10));
}
