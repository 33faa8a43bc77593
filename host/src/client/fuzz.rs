//! `tollgate fuzz`: malformed, truncated, oversized and mutated requests against a live server.
//!
//! Requests start from valid requests of every endpoint (signed here) and optional extra seeds
//! (`--corpus`, e.g. the Ethereum BLS suite), changed by the typed edits of `crate::fuzz`. Every
//! answer is checked: a JSON body, a documented error code, no 5xx but the documented 503s, and
//! no connection left unanswered. Afterwards the server must still verify a batch with known
//! bad items exactly. Bounded by a request count and a duration.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arbitrary::Unstructured;
use rand::{RngCore, SeedableRng};
use serde::Serialize;
use serde_json::Value;

use super::batch::{generate_batch, BatchSpec, Corruption};
use super::submit::invalid_items;
use super::{ClientError, Server};
use crate::api::wire::VerifyResponse;
use crate::codec::ItemError;
use crate::fuzz::{mutate_body, Corpus, ENDPOINTS};
use crate::http::openapi::REQUEST_ERROR_CODES;
use crate::service::DEBT_WINDOW;
use crate::suite::Suite;

#[derive(Debug, clap::Args)]
pub struct FuzzArgs {
    /// Base URL of the server.
    #[arg(long, env = "TOLLGATE_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// Requests to send in all.
    #[arg(long, default_value_t = 10_000)]
    requests: u64,
    /// Start no request after this many seconds, whatever the count.
    #[arg(long, default_value_t = 600)]
    duration: u64,
    /// Concurrent connections.
    #[arg(long, default_value_t = 4)]
    clients: usize,
    /// Seed of the run (printed); the same seed sends the same requests.
    #[arg(long)]
    seed: Option<u64>,
    /// More seeds: every 0x string of the JSON files under DIR (e.g. the Ethereum BLS suite).
    #[arg(long)]
    corpus: Option<PathBuf>,
    /// Request timeout in seconds.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
}

/// What a run saw.
#[derive(Debug, Default, Serialize)]
pub struct FuzzReport {
    pub seed: u64,
    pub sent: u64,
    pub elapsed_s: f64,
    /// Answers by HTTP status.
    pub statuses: BTreeMap<u16, u64>,
    /// Answers by error code.
    pub codes: BTreeMap<String, u64>,
    /// Oversized bodies the server refused by closing before reading them all.
    pub oversized_closed: u64,
    /// Requests that failed before any answer on a reused keep-alive connection (one the
    /// server had just closed) and were sent again on a fresh one, as HTTP/1.1 clients do.
    pub resent_on_fresh_connection: u64,
    /// Answers breaking the contract (undocumented status or code, non-JSON body, no answer).
    pub violations: u64,
    pub first_violation: Option<String>,
    /// The batch with known bad items, verified after the run, got exactly those flagged.
    pub verifies_after: bool,
}

/// The 503s docs/API.md documents; any other 5xx is a violation.
const DOCUMENTED_503: [&str; 3] = ["shutting_down", "engine_failure", "deadline_exceeded"];

/// One request as sent.
struct Request {
    method: &'static str,
    path: String,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    oversized: bool,
}

/// Builds a request from the random bytes in `u`: mostly mutated bodies of their own endpoint,
/// some sent to another endpoint, and a few oversized, wrong-method, unknown-path or
/// wrong-content-type requests.
fn request(u: &mut Unstructured, corpus: &Corpus, max_body: usize) -> arbitrary::Result<Request> {
    let seed = u.choose(&corpus.bodies)?;
    let mut request = Request {
        method: "POST",
        path: seed.path.to_string(),
        content_type: Some("application/json"),
        body: mutate_body(u, &seed.body, corpus)?,
        oversized: false,
    };
    match u.int_in_range(0..=99u8)? {
        0..=79 => {}
        80..=89 => request.path = u.choose(&ENDPOINTS)?.to_string(),
        90 => {
            request
                .body
                .resize(max_body + 1 + u.int_in_range(0..=1024)?, b' ');
            request.oversized = true;
        }
        91..=93 => request.method = *u.choose(&["GET", "PUT", "DELETE", "PATCH"])?,
        94..=95 => request.path = format!("/v1/{}", u.int_in_range(0..=u32::MAX)?),
        _ => {
            request.content_type = *u.choose(&[None, Some("text/plain"), Some("application/x")])?
        }
    }
    Ok(request)
}

/// Why an answer breaks the API's contract, if it does.
fn violation(status: u16, body: &str) -> Option<String> {
    let json: Value = match serde_json::from_str(body) {
        Ok(json) => json,
        Err(_) => return Some(format!("{status} with a non-JSON body: {body:.200}")),
    };
    if status == 200 {
        return None;
    }
    let Some(code) = json["error"].as_str() else {
        return Some(format!("{status} without an error code: {body:.200}"));
    };
    let documented = REQUEST_ERROR_CODES.contains(&code) || ItemError::ALL_CODES.contains(&code);
    if !documented {
        return Some(format!("{status} with undocumented code {code}"));
    }
    if status >= 500 && !(status == 503 && DOCUMENTED_503.contains(&code)) {
        return Some(format!("{status} {code}: {body:.200}"));
    }
    None
}

fn record(report: &Mutex<FuzzReport>, outcome: Result<(u16, String), String>, oversized: bool) {
    let mut report = report.lock().unwrap_or_else(|p| p.into_inner());
    report.sent += 1;
    let broken = match outcome {
        Ok((status, body)) => {
            *report.statuses.entry(status).or_default() += 1;
            if let Some(code) = serde_json::from_str::<Value>(&body)
                .ok()
                .and_then(|v| v["error"].as_str().map(str::to_string))
            {
                *report.codes.entry(code).or_default() += 1;
            }
            violation(status, &body)
        }
        // The server may refuse an oversized body from its Content-Length and close the
        // connection while the client is still writing: refused, not unanswered.
        Err(_) if oversized => {
            report.oversized_closed += 1;
            None
        }
        Err(detail) => Some(format!("no answer: {detail}")),
    };
    if let Some(broken) = broken {
        report.violations += 1;
        report.first_violation.get_or_insert(broken);
    }
}

/// A 16-item batch with items 3 and 11 bad must come back with exactly those flagged.
fn verifies_correctly(server: &Server) -> Result<bool, ClientError> {
    let batch = generate_batch(&BatchSpec {
        items: 16,
        suite: Suite::default(),
        keys: 4,
        message_len: 32,
        corruption: Corruption::Positions(vec![3, 11]),
        seed: Some(12),
    })?;
    let body = serde_json::to_string(&batch.request).expect("a request serializes");
    // The fuzzing left this client with failed items, which its admission weighs for
    // DEBT_WINDOW: a 429 is waited out, as any client should.
    let deadline = Instant::now() + DEBT_WINDOW * 2;
    let reply = loop {
        match server.post_ok("/v1/verify", &body) {
            Err(ClientError::Rejected { status: 429, .. }) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_secs(1))
            }
            reply => break reply?,
        }
    };
    let answer: VerifyResponse =
        serde_json::from_str(&reply).map_err(|source| ClientError::Json {
            what: "the verify answer".into(),
            source,
        })?;
    let flagged: Vec<usize> = invalid_items(&answer).iter().map(|(i, _)| *i).collect();
    Ok(flagged == batch.bad)
}

/// Runs the fuzz client; the report says what the server answered.
pub fn fuzz(args: &FuzzArgs) -> anyhow::Result<FuzzReport> {
    let timeout = Duration::from_secs(args.timeout);
    let server = Server::new(&args.server, timeout);
    let info: Value = serde_json::from_str(&server.get("/v1/info")?.body)?;
    let max_body = info["limits"]["max_body_bytes"]
        .as_u64()
        .ok_or_else(|| ClientError::Usage("/v1/info has no limits.max_body_bytes".into()))?
        as usize;
    let mut corpus = Corpus::generated();
    if let Some(dir) = &args.corpus {
        corpus.add_vectors(dir).map_err(|source| ClientError::Io {
            path: dir.display().to_string(),
            source,
        })?;
    }
    let seed = args.seed.unwrap_or_else(rand::random);
    let report = Arc::new(Mutex::new(FuzzReport {
        seed,
        ..Default::default()
    }));
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let stop = started + Duration::from_secs(args.duration);
    std::thread::scope(|scope| {
        for client in 0..args.clients.max(1) as u64 {
            let (report, next, corpus, server) = (&report, &next, &corpus, server.clone());
            let (requests, base) = (args.requests, args.server.as_str());
            scope.spawn(move || {
                let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ client);
                let mut data = vec![0u8; 1024];
                while next.fetch_add(1, Ordering::Relaxed) < requests && Instant::now() < stop {
                    rng.fill_bytes(&mut data);
                    let Ok(request) = request(&mut Unstructured::new(&data), corpus, max_body)
                    else {
                        continue;
                    };
                    let send = |server: &Server| {
                        server
                            .send(
                                request.method,
                                &request.path,
                                request.content_type,
                                &request.body,
                            )
                            .map(|reply| (reply.status, reply.body))
                            .map_err(|e| e.to_string())
                    };
                    let mut outcome = send(&server);
                    if outcome.is_err() && !request.oversized {
                        // No answer at all: the pooled connection may have been closed by the
                        // server after its previous answer. Once more on a new connection; a
                        // second failure is a violation.
                        report
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .resent_on_fresh_connection += 1;
                        outcome = send(&Server::new(base, timeout));
                    }
                    record(report, outcome, request.oversized);
                }
            });
        }
    });
    let mut report = Arc::try_unwrap(report)
        .map_err(|_| ClientError::Usage("fuzz clients still running".into()))?
        .into_inner()
        .unwrap_or_else(|p| p.into_inner());
    report.elapsed_s = started.elapsed().as_secs_f64();
    report.verifies_after = verifies_correctly(&server)?;
    Ok(report)
}

pub fn run(args: FuzzArgs) -> anyhow::Result<()> {
    let report = fuzz(&args)?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    if report.violations > 0 || !report.verifies_after {
        anyhow::bail!(
            "{} answers broke the API contract (first: {}); verifies correctly after: {}",
            report.violations,
            report.first_violation.as_deref().unwrap_or("none"),
            report.verifies_after
        );
    }
    Ok(())
}
