//! Deadlines through the real server: a client that stalls in its head or its body loses its
//! connection at the configured timeout while other clients are served, and a request that
//! cannot be answered within the request deadline gets 503 `deadline_exceeded` without leaving
//! its work behind.

use crate::common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{key, signed_item, Server};
use serde_json::json;
use tollgate::suite::Suite;

fn connect(server: &Server) -> TcpStream {
    let addr = server.base.trim_start_matches("http://");
    let stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream
}

/// Reads until the server closes the connection; returns what it sent and when it closed.
fn until_closed(mut stream: TcpStream) -> (String, Instant) {
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            // A reset after the server's answer is a close too.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("connection still open after 20 s: {e}"),
        }
    }
    (
        String::from_utf8_lossy(&answer).into_owned(),
        Instant::now(),
    )
}

fn small_request() -> serde_json::Value {
    let suite = Suite::default();
    let mut items: Vec<_> = (0..4)
        .map(|i| signed_item(suite, &key(i), format!("honest {i}").as_bytes()))
        .collect();
    items[2]["message"] = json!("0x00");
    json!({ "items": items })
}

fn assert_correct_verdicts(server: &Server) {
    check_verdicts(&server.post("/v1/verify", &small_request()));
}

fn check_verdicts(response: &common::Response) {
    assert_eq!(response.status, 200, "{}", response.body);
    let body = response.json();
    let valid: Vec<bool> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["valid"].as_bool().unwrap())
        .collect();
    assert_eq!(valid, [true, true, false, true]);
    assert_eq!(body["results"][2]["error"], "invalid_signature");
}

#[test]
fn stalled_heads_and_slow_bodies_are_cut_while_others_are_served() {
    const TIMEOUT_MS: u64 = 1500;
    let server = Server::start(&[
        "--body-timeout-ms",
        &TIMEOUT_MS.to_string(),
        "--header-timeout-ms",
        &TIMEOUT_MS.to_string(),
    ]);
    let started = Instant::now();
    let mut stalled_bodies = Vec::new();
    let mut stalled_heads = Vec::new();
    for _ in 0..25 {
        let mut body = connect(&server);
        body.write_all(
            b"POST /v1/verify HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n\
              Content-Length: 5000\r\n\r\n{\"items\": [",
        )
        .unwrap();
        stalled_bodies.push(body);
        let mut head = connect(&server);
        head.write_all(b"POST /v1/verify HTTP/1.1\r\nHost: t\r\n")
            .unwrap();
        stalled_heads.push(head);
    }
    // Others are served meanwhile, and promptly (well before the stalled clients are cut).
    for _ in 0..3 {
        assert_correct_verdicts(&server);
    }
    assert!(
        started.elapsed() < Duration::from_millis(TIMEOUT_MS),
        "honest requests waited behind stalled clients: {:?}",
        started.elapsed()
    );
    for stream in stalled_bodies {
        let (answer, closed) = until_closed(stream);
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("\"body_timeout\""), "{answer}");
        let after = closed - started;
        assert!(
            after >= Duration::from_millis(TIMEOUT_MS - 100),
            "{after:?}"
        );
        assert!(
            after < Duration::from_millis(TIMEOUT_MS + 5000),
            "{after:?}"
        );
    }
    for stream in stalled_heads {
        let (answer, closed) = until_closed(stream);
        // actix-web answers 408 to a head that did not arrive in time, then closes.
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
            "{answer}"
        );
        assert!(closed - started < Duration::from_millis(TIMEOUT_MS + 5000));
    }
    let metrics = server.get("/metrics").body;
    assert!(
        metrics.contains("tollgate_rejections_total{reason=\"body_timeout\"} 25"),
        "{metrics}"
    );
    assert_correct_verdicts(&server);
}

#[test]
fn a_request_past_its_deadline_gets_503_and_leaves_no_work_behind() {
    const DEADLINE_MS: u64 = 150;
    let server = Server::start(&["--request-deadline-ms", &DEADLINE_MS.to_string()]);
    // 1,024 distinct valid items: seconds of decoding and verification on two cores.
    let suite = Suite::default();
    let signer = key(7);
    let items: Vec<_> = (0..1024u32)
        .map(|i| signed_item(suite, &signer, &i.to_le_bytes()))
        .collect();
    let started = Instant::now();
    let response = server.post("/v1/verify", &json!({ "items": items }));
    let waited = started.elapsed();
    assert_eq!(response.status, 503, "{}", response.body);
    assert_eq!(response.error_code(), "deadline_exceeded");
    assert!(
        waited < Duration::from_millis(DEADLINE_MS + 2000),
        "{waited:?}"
    );

    // The abandoned work drains: the queue returns to empty.
    let drained = Instant::now();
    loop {
        let metrics = server.get("/metrics").body;
        if metrics.contains("\ntollgate_queue_depth 0\n")
            && metrics.contains("tollgate_rejections_total{reason=\"deadline_exceeded\"} 1")
        {
            break;
        }
        assert!(
            drained.elapsed() < Duration::from_secs(30),
            "queue never drained: {metrics}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Small requests still fit the deadline and get correct verdicts. Retried a few times only
    // because the test machine may be loaded: a 503 is the documented answer then.
    let mut attempts = 0;
    loop {
        let response = server.post("/v1/verify", &small_request());
        if response.status == 200 {
            check_verdicts(&response);
            break;
        }
        assert_eq!(response.error_code(), "deadline_exceeded");
        attempts += 1;
        assert!(
            attempts < 10,
            "small requests never fit a {DEADLINE_MS} ms deadline"
        );
    }
}

#[test]
fn a_request_whose_client_has_gone_is_not_verified() {
    // The batcher waits up to 2 s for a batch to fill: the client is gone by the time it looks.
    let server = Server::start(&["--max-queue-delay-ms", "2000"]);
    let suite = Suite::default();
    let items: Vec<_> = (0..64u32)
        .map(|i| signed_item(suite, &key(u64::from(i % 4)), &i.to_le_bytes()))
        .collect();
    let body = json!({ "items": items }).to_string();
    let mut stream = connect(&server);
    write!(
        stream,
        "POST /v1/verify HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    // The whole request is sent; the client hangs up without waiting for the answer.
    drop(stream);
    let waited = Instant::now();
    while server.metric_sum("tollgate_abandoned_requests_total{priority=\"bulk\"}") < 1.0 {
        assert!(
            waited.elapsed() < Duration::from_secs(20),
            "the request was never dropped: {}",
            server.get("/metrics").body
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(server.metric_sum("tollgate_signatures_verified_total"), 0.0);
    // Connected clients are still verified, and correctly.
    assert_correct_verdicts(&server);
    assert_eq!(server.metric_sum("tollgate_signatures_verified_total"), 4.0);
}
