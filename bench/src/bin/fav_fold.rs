//! Fast aggregate verification alone vs folded into batches (host/src/service/fold.rs), POP
//! min_pk, n keys per request.
//!
//! In process, the CPU engine (blst's pool, as the batcher uses it): host CPU time (all
//! threads) and wall time per fast aggregate, its keys summed, then either checked alone
//! (`verify_aggregate` of the sum: what the batcher did before) or as one item of batches of
//! `--batch` such items (`verify_each`: what the batcher does now).
//!
//! Over HTTP (`--server LABEL=BINARY`, any number): each binary served with `--backend cpu`
//! and loaded by `--clients` threads posting `/v1/fast-aggregate-verify` requests (all valid,
//! checked) for `--seconds`, rounds interleaved across binaries: requests per second and the
//! server's CPU time per request (from /proc), medians of the rounds.
//!
//! Run: `cargo build --release -p tollgate-bench --bin fav_fold --no-default-features`, then
//! `target/release/fav_fold --server before=OLD_TOLLGATE --server folded=target/release/tollgate`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use serde_json::{json, Value};
use tollgate::api::wire::to_hex;
use tollgate::codec::{decode_public_key, decode_signature, PublicKey, Signature};
use tollgate::engine::{verify_each, CpuEngine, Engine, SignedItem};
use tollgate::signer::SecretKey;
use tollgate::suite::{Suite, Variant};
use tollgate_bench::{cpu_time, load_average, median, Server};

#[derive(Debug, Parser)]
struct Args {
    /// Keys per fast aggregate verification.
    #[arg(long, default_value_t = 64)]
    keys: usize,
    /// Distinct requests (messages), reused round-robin.
    #[arg(long, default_value_t = 126)]
    requests: usize,
    /// Fast aggregates per engine batch when folded (in process).
    #[arg(long, default_value_t = 126)]
    batch: usize,
    /// Repetitions of the in-process timings (median).
    #[arg(long, default_value_t = 5)]
    repeat: usize,
    /// `LABEL=PATH` of a tollgate binary to load over HTTP (repeatable).
    #[arg(long)]
    server: Vec<String>,
    /// Client threads per HTTP round.
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// Seconds per HTTP round.
    #[arg(long, default_value_t = 8.0)]
    seconds: f64,
    /// HTTP rounds per binary (interleaved).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
}

/// One fast aggregate verification: keys, message, aggregate signature.
struct Request {
    keys: Vec<Vec<u8>>,
    message: Vec<u8>,
    signature: Vec<u8>,
}

fn requests(args: &Args) -> Vec<Request> {
    let suite = Suite::default();
    let signers: Vec<SecretKey> = (0..args.keys)
        .map(|i| SecretKey::from_ikm(&[(i % 251) as u8 + 1; 32]).expect("32-byte ikm"))
        .collect();
    let keys: Vec<Vec<u8>> = signers
        .iter()
        .map(|sk| sk.public_key(Variant::MinPk))
        .collect();
    (0..args.requests)
        .map(|r| {
            let message = format!("fast aggregate {r}").into_bytes();
            let signatures: Vec<blst::min_pk::Signature> = signers
                .iter()
                .map(|sk| blst::min_pk::Signature::from_bytes(&sk.sign(suite, &message)).unwrap())
                .collect();
            let refs: Vec<&blst::min_pk::Signature> = signatures.iter().collect();
            let sum = blst::min_pk::AggregateSignature::aggregate(&refs, true).unwrap();
            Request {
                keys: keys.clone(),
                message,
                signature: sum.to_signature().compress().to_vec(),
            }
        })
        .collect()
}

/// (CPU µs, wall µs) per request of `run` over `n` requests, medians of `repeat`.
fn per_request(n: usize, repeat: usize, mut run: impl FnMut()) -> (f64, f64) {
    let (mut cpu, mut wall) = (Vec::new(), Vec::new());
    for _ in 0..repeat {
        let (c0, w0) = (
            cpu_time(libc::CLOCK_PROCESS_CPUTIME_ID).as_secs_f64(),
            Instant::now(),
        );
        run();
        cpu.push((cpu_time(libc::CLOCK_PROCESS_CPUTIME_ID).as_secs_f64() - c0) * 1e6 / n as f64);
        wall.push(w0.elapsed().as_secs_f64() * 1e6 / n as f64);
    }
    (median(cpu), median(wall))
}

fn in_process(args: &Args, requests: &[Request]) {
    let suite = Suite::default();
    let engine = CpuEngine::new();
    let decoded: Vec<(Vec<PublicKey>, Signature)> = requests
        .iter()
        .map(|r| {
            let keys = r
                .keys
                .iter()
                .map(|k| decode_public_key(Variant::MinPk, k).unwrap())
                .collect();
            (
                keys,
                decode_signature(Variant::MinPk, &r.signature).unwrap(),
            )
        })
        .collect();
    let n = requests.len();
    let sum_only = per_request(n, args.repeat, || {
        for (keys, _) in &decoded {
            engine.aggregate_public_keys(keys).unwrap();
        }
    });
    let alone = per_request(n, args.repeat, || {
        for ((keys, signature), request) in decoded.iter().zip(requests) {
            let sum = engine.aggregate_public_keys(keys).unwrap();
            let message = request.message.as_slice();
            assert!(engine
                .verify_aggregate(suite, &[sum], &[message], signature)
                .unwrap());
        }
    });
    let folded = per_request(n, args.repeat, || {
        let items: Vec<SignedItem> = decoded
            .iter()
            .zip(requests)
            .map(|((keys, signature), request)| SignedItem {
                public_key: engine.aggregate_public_keys(keys).unwrap(),
                message: request.message.clone(),
                signature: (*signature).into(),
            })
            .collect();
        for chunk in items.chunks(args.batch) {
            let refs: Vec<&SignedItem> = chunk.iter().collect();
            let (verdicts, _) = verify_each(&engine, suite, &refs).unwrap();
            assert!(verdicts.iter().all(Result::is_ok));
        }
    });
    println!(
        "\n### In process, CPU engine: {} keys per request, {n} requests, medians of {} (load average {})\n",
        args.keys,
        args.repeat,
        load_average()
    );
    println!("| path | CPU µs/request | wall µs/request |\n|---|---|---|");
    println!("| key sum only | {:.0} | {:.0} |", sum_only.0, sum_only.1);
    println!(
        "| alone: key sum + `verify_aggregate` | {:.0} | {:.0} |",
        alone.0, alone.1
    );
    println!(
        "| folded: key sum + one item of batches of {} | {:.0} | {:.0} |",
        args.batch, folded.0, folded.1
    );
    println!(
        "\nalone / folded: {:.2}× CPU, {:.2}× wall",
        alone.0 / folded.0,
        alone.1 / folded.1
    );
}

/// The request bodies as the API takes them.
fn bodies(requests: &[Request]) -> Vec<String> {
    requests
        .iter()
        .map(|r| {
            let keys: Vec<String> = r.keys.iter().map(|k| to_hex(k)).collect();
            json!({"public_keys": keys, "message": to_hex(&r.message), "signature": to_hex(&r.signature)})
                .to_string()
        })
        .collect()
}

/// One HTTP round: (requests/s, server CPU µs per request).
fn http_round(server: &Server, bodies: &[String], args: &Args) -> anyhow::Result<(f64, f64)> {
    let url = format!("{}/v1/fast-aggregate-verify", server.url);
    let done = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let cpu0 = server.cpu_seconds();
    let started = Instant::now();
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let workers: Vec<_> = (0..args.clients)
            .map(|c| {
                let (url, done, stop) = (&url, &done, &stop);
                scope.spawn(move || -> anyhow::Result<()> {
                    let agent = ureq::AgentBuilder::new()
                        .timeout(Duration::from_secs(60))
                        .build();
                    let mut i = c;
                    while !stop.load(Ordering::Relaxed) {
                        let text = agent
                            .post(url)
                            .set("content-type", "application/json")
                            .send_string(&bodies[i % bodies.len()])?
                            .into_string()?;
                        let answer: Value = serde_json::from_str(&text)?;
                        if answer != json!({"valid": true}) {
                            bail!("unexpected answer {answer}");
                        }
                        done.fetch_add(1, Ordering::Relaxed);
                        i += args.clients;
                    }
                    Ok(())
                })
            })
            .collect();
        std::thread::sleep(Duration::from_secs_f64(args.seconds));
        stop.store(true, Ordering::Relaxed);
        for worker in workers {
            worker.join().expect("client thread")?;
        }
        Ok(())
    })?;
    let elapsed = started.elapsed().as_secs_f64();
    let n = done.load(Ordering::Relaxed) as f64;
    Ok((n / elapsed, (server.cpu_seconds() - cpu0) * 1e6 / n))
}

fn over_http(args: &Args, requests: &[Request]) -> anyhow::Result<()> {
    let bodies = bodies(requests);
    let mut servers = Vec::new();
    for spec in &args.server {
        let (label, path) = spec.split_once('=').context("--server LABEL=PATH")?;
        let server = Server::start(&PathBuf::from(path), &["--backend", "cpu"])?;
        // Warm the key cache and the connection paths.
        http_round(
            &server,
            &bodies,
            &Args {
                seconds: 1.0,
                ..Args::parse_from(["fav_fold"])
            },
        )?;
        servers.push((label.to_string(), server));
    }
    let mut results: BTreeMap<String, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for _ in 0..args.rounds {
        for (label, server) in &servers {
            let (rate, cpu) = http_round(server, &bodies, args)?;
            let entry = results.entry(label.clone()).or_default();
            entry.0.push(rate);
            entry.1.push(cpu);
        }
    }
    println!(
        "\n### Over HTTP, CPU backend: {} clients, {} keys per request, {} rounds of {} s, medians (load average {})\n",
        args.clients,
        args.keys,
        args.rounds,
        args.seconds,
        load_average()
    );
    println!("| server | requests/s (rounds) | server CPU µs/request (rounds) |\n|---|---|---|");
    for (label, (rates, cpus)) in &results {
        let list = |v: &[f64]| {
            v.iter()
                .map(|x| format!("{x:.0}"))
                .collect::<Vec<_>>()
                .join(" / ")
        };
        println!(
            "| {label} | **{:.0}** ({}) | **{:.0}** ({}) |",
            median(rates.clone()),
            list(rates),
            median(cpus.clone()),
            list(cpus)
        );
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let requests = requests(&args);
    in_process(&args, &requests);
    if !args.server.is_empty() {
        over_http(&args, &requests)?;
    }
    Ok(())
}
