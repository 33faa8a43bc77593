//! Scheduling under attack (issue 12): one request's bad items do not bisect honest requests
//! that share its engine batch; fresh-key spam is refused before it is decoded, by client.

use crate::common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Barrier};

use common::{key, signed_item, Server};
use serde_json::{json, Value};
use tollgate::api::wire::to_hex;
use tollgate::client::off_curve_signature;
use tollgate::suite::{Suite, Variant};

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
    let batches = server.metric_sum("tollgate_engine_batch_size_count");
    let checks = server.metric_sum("tollgate_batch_checks_total");
    // A batch that failed was split by request: more checks than batches...
    assert!(
        checks > batches,
        "no engine batch mixed honest and bad requests ({checks} checks, {batches} batches)"
    );
    // ...and never bisected: the bad requests are single items, the honest ones pass whole.
    assert_eq!(server.metric_sum("tollgate_bisections_total"), 0.0);
}

/// POSTs `body` over a connection from `source` (every 127.0.0.0/8 address is this host, so
/// each test client can be a client of its own); returns the status and the raw answer.
fn post_from(server: &Server, source: [u8; 4], path: &str, body: &str) -> (u16, String) {
    let addr: SocketAddr = server.base.trim_start_matches("http://").parse().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    let stream = runtime
        .block_on(async {
            let socket = tokio::net::TcpSocket::new_v4()?;
            socket.bind(SocketAddr::from((source, 0)))?;
            socket.connect(addr).await
        })
        .expect("connect");
    let mut stream: TcpStream = stream.into_std().unwrap();
    stream.set_nonblocking(false).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer[9..12].parse().unwrap();
    (status, answer)
}

/// `n` items of keys never seen before (seeded by `salt`), each with `signature`.
fn fresh_key_items(n: usize, salt: u64, signature: &str) -> Value {
    let items: Vec<Value> = (0..n as u64)
        .map(|i| {
            let pk = key(salt * 1_000_000 + i).public_key(Variant::MinPk);
            json!({"public_key": to_hex(&pk), "message": "0x01", "signature": signature})
        })
        .collect();
    json!({ "items": items })
}

#[test]
fn fresh_key_spam_is_refused_before_decoding_and_hot_keys_stay_cached() {
    let server = Arc::new(Server::start(&["--key-cache-capacity", "1024"]));
    let suite = Suite::default();
    let honest = |round: usize| {
        let items: Vec<Value> = (0..16)
            .map(|i| signed_item(suite, &key(i), format!("hot {round} {i}").as_bytes()))
            .collect();
        json!({ "items": items }).to_string()
    };
    let honest_round = |server: &Server, round: usize| {
        let (status, answer) = post_from(server, [127, 0, 0, 1], "/v1/verify", &honest(round));
        assert_eq!(status, 200, "{answer}");
        assert!(answer.contains("\"valid\":16"), "{answer}");
    };
    // Honest traffic repeats its keys: they become hot in the cache (TinyLFU's sketch counts
    // up to 15; a dozen uses put them well above what hash collisions give one-shot keys).
    for round in 0..12 {
        honest_round(&server, round);
    }
    let misses =
        |server: &Server| server.metric_sum("tollgate_key_cache_lookups_total{result=\"miss\"}");
    let hits =
        |server: &Server| server.metric_sum("tollgate_key_cache_lookups_total{result=\"hit\"}");

    // Signatures that fail the checks without arithmetic cost no key work at all.
    let before = (misses(&server), hits(&server));
    let body = fresh_key_items(1024, 1, "0x").to_string();
    let (status, answer) = post_from(&server, [127, 0, 0, 2], "/v1/verify", &body);
    assert_eq!(status, 200, "{answer}");
    assert!(answer.contains("\"invalid\":1024"), "{answer}");
    assert_eq!(answer.matches("\"bad_length\"").count(), 1024);
    assert_eq!(
        (misses(&server), hits(&server)),
        before,
        "keys of garbage items were decoded"
    );

    // Two attackers (two addresses) send 1,024-item requests of fresh keys with signatures that
    // pass those checks, four at once each, while an honest client keeps verifying.
    let misses_before = misses(&server);
    let signature = to_hex(&off_curve_signature(Variant::MinPk));
    let barrier = Arc::new(Barrier::new(9));
    let attackers: Vec<_> = (0..8u64)
        .map(|n| {
            let (server, barrier, signature) = (server.clone(), barrier.clone(), signature.clone());
            let body = fresh_key_items(1024, 10 + n, &signature).to_string();
            std::thread::spawn(move || {
                barrier.wait();
                let source = [127, 0, 0, 3 + (n % 2) as u8];
                post_from(&server, source, "/v1/verify", &body)
            })
        })
        .collect();
    barrier.wait();
    for round in 12..15 {
        honest_round(&server, round);
    }
    let (mut admitted, mut refused) = (0, 0);
    for attacker in attackers {
        let (status, answer) = attacker.join().expect("attacker");
        match status {
            200 => {
                assert!(answer.contains("\"not_on_curve\""), "{answer}");
                admitted += 1;
            }
            429 => {
                assert!(answer.contains("\"queue_full\""), "{answer}");
                assert!(
                    answer.to_ascii_lowercase().contains("retry-after: "),
                    "{answer}"
                );
                refused += 1;
            }
            _ => panic!("{answer}"),
        }
    }
    // One 1,024-item request of fresh keys is a client's whole share: the others got 429.
    assert!(
        refused >= 1,
        "no spam request was refused ({admitted} admitted)"
    );
    // A refused request decoded no key: every miss is a fresh key of an admitted request, or
    // one of the 48 lookups of the honest rounds meanwhile (a refused request would add 1,024).
    let extra = misses(&server) - misses_before - 1024.0 * admitted as f64;
    assert!(
        (0.0..48.0).contains(&extra),
        "{extra} misses beyond the admitted requests' keys ({admitted} admitted, {refused} refused)"
    );

    // The hot keys are still cached.
    let before = hits(&server);
    honest_round(&server, 15);
    assert_eq!(hits(&server) - before, 16.0);
}
