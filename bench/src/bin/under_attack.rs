//! "## Under attack" in bench/RESULTS.md: honest throughput while hostile clients attack, each
//! as a ratio to rounds without the attack run alternately in the same run (so other load on the
//! machine hits both alike); and same-message grouping on the CPU engine.
//!
//! - (a) bad items: one client posts single-item requests with a wrong signature, paced to 1 %
//!   of the honest item rate of the previous calm round.
//! - (b) fresh keys: two clients loop 1,024-item requests of keys never seen before whose
//!   signatures pass every check without arithmetic but are off the curve (the costliest
//!   garbage: each key must be validated before its signature fails). A refused request is
//!   sent again at once, an admitted one replaced by new keys.
//! - (c) slow clients: half stall in their request head, half announce a large body and trickle
//!   it a byte a second; each reconnects as soon as the server cuts it.
//!
//! Every attacker connects from an address of its own in 127.0.0.0/8 (admission counts per
//! client address); the honest load is `tollgate load` from 127.0.0.1. The server and the
//! honest load are the release `tollgate`.
//!
//! Run: `cargo build --release -p tollgate && cargo run --release -p tollgate-bench --no-default-features --bin under_attack`

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Parser, ValueEnum};
use rand_core::{OsRng, RngCore};
use socket2::{Domain, Socket, Type};
use tollgate::api::wire::to_hex;
use tollgate::client::{generate_batch, off_curve_signature, BatchSpec, Corruption};
use tollgate::codec::{decode_public_key, decode_signature};
use tollgate::engine::{CpuEngine, Engine, SignedItem};
use tollgate::signer::SecretKey;
use tollgate::suite::{Suite, Variant};
use tollgate_bench::{load, load_average, median, Server};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Attack {
    BadItems,
    FreshKeys,
    SlowClients,
    Grouping,
}

#[derive(Debug, Parser)]
struct Args {
    /// What to measure (every part by default).
    #[arg(long, value_enum, value_delimiter = ',')]
    attacks: Vec<Attack>,
    /// Rounds of each kind (without, with the attack); figures are medians.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Seconds of honest load per round.
    #[arg(long, default_value_t = 8.0)]
    seconds: f64,
    /// Honest `tollgate load` clients.
    #[arg(long, default_value_t = 4)]
    clients: usize,
    /// Items per honest request.
    #[arg(long, default_value_t = 64)]
    request_items: usize,
    /// Slow clients in (c).
    #[arg(long, default_value_t = 50)]
    slow: usize,
    /// The release `tollgate` binary.
    #[arg(long, default_value = "target/release/tollgate")]
    tollgate: PathBuf,
    /// Where to write the subsections ("-" for standard output only).
    #[arg(long, default_value = "bench/RESULTS.md")]
    out: String,
}

const SECTION: &str = "Under attack";
const SUITE: Suite = Suite::new(tollgate::suite::Scheme::Pop, Variant::MinPk);

/// A connection from `127.0.0.<last>` (every 127.0.0.0/8 address is this host).
fn connect_from(addr: SocketAddr, last: u8) -> std::io::Result<TcpStream> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.bind(&SocketAddr::from(([127, 0, 0, last], 0)).into())?;
    socket.connect(&addr.into())?;
    Ok(socket.into())
}

/// POSTs `body` to /v1/verify from `127.0.0.<last>`; the answer's status.
fn post_from(addr: SocketAddr, last: u8, body: &str) -> std::io::Result<u16> {
    let mut stream = connect_from(addr, last)?;
    write!(
        stream,
        "POST /v1/verify HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    answer
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not HTTP: {answer:.60}")))
}

fn random_key() -> SecretKey {
    let mut ikm = [0u8; 32];
    OsRng.fill_bytes(&mut ikm);
    SecretKey::from_ikm(&ikm).expect("32-byte ikm")
}

/// What attackers did during a round.
#[derive(Default)]
struct Tally {
    sent: AtomicU64,
    refused: AtomicU64,
}

/// (a) Single-item requests with a wrong signature, `per_s` a second, until `stop`.
fn bad_items(addr: SocketAddr, per_s: f64, stop: Arc<AtomicBool>, tally: Arc<Tally>) {
    let key = random_key();
    let body = serde_json::json!({"items": [{
        "public_key": to_hex(&key.public_key(SUITE.variant)),
        "message": to_hex(b"what was not signed"),
        "signature": to_hex(&key.sign(SUITE, b"what was signed")),
    }]})
    .to_string();
    let interval = Duration::from_secs_f64(1.0 / per_s);
    let mut next = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        if let Ok(status) = post_from(addr, 2, &body) {
            tally.sent.fetch_add(1, Ordering::Relaxed);
            if status == 429 {
                tally.refused.fetch_add(1, Ordering::Relaxed);
            }
        }
        next += interval;
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
}

/// `count` 1,024-item request bodies of fresh keys with off-curve signatures.
fn fresh_key_bodies(count: usize) -> Vec<String> {
    let signature = to_hex(&off_curve_signature(Variant::MinPk));
    (0..count)
        .map(|_| {
            let items: Vec<_> = (0..1024)
                .map(|_| {
                    serde_json::json!({
                        "public_key": to_hex(&random_key().public_key(SUITE.variant)),
                        "message": "0x01",
                        "signature": signature,
                    })
                })
                .collect();
            serde_json::json!({ "items": items }).to_string()
        })
        .collect()
}

/// (b) Loops `bodies` from `127.0.0.<last>`: a refused body is sent again at once, an admitted
/// one is not sent again (its keys are no longer fresh) while fresh ones remain.
fn fresh_keys(
    addr: SocketAddr,
    last: u8,
    bodies: Vec<String>,
    stop: Arc<AtomicBool>,
    tally: Arc<Tally>,
) {
    let mut next = 0;
    while !stop.load(Ordering::Relaxed) {
        let Ok(status) = post_from(addr, last, &bodies[next % bodies.len()]) else {
            continue;
        };
        tally.sent.fetch_add(1, Ordering::Relaxed);
        if status == 429 {
            tally.refused.fetch_add(1, Ordering::Relaxed);
        } else {
            next += 1;
        }
    }
}

/// (c) One slow client until `stop`: connect, stall (in the head or in the body), trickle a
/// byte a second, reconnect when cut. Counts the cuts in `tally.refused`.
fn slow_client(addr: SocketAddr, in_head: bool, stop: Arc<AtomicBool>, tally: Arc<Tally>) {
    let head: &[u8] = if in_head {
        b"POST /v1/verify HTTP/1.1\r\nHost: t\r\n"
    } else {
        b"POST /v1/verify HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n\
          Content-Length: 1000000\r\n\r\n{\"items\": ["
    };
    let trickle: &[u8] = if in_head { b"X" } else { b" " };
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut stream) = connect_from(addr, 5) else {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        };
        if stream.write_all(head).is_err() {
            continue;
        }
        tally.sent.fetch_add(1, Ordering::Relaxed);
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_secs(1));
            // A write to a connection the server closed fails (at the latest the second time).
            if stream.write_all(trickle).is_err() {
                tally.refused.fetch_add(1, Ordering::Relaxed);
                break;
            }
        }
    }
}

/// Starts the attackers of `attack` against `addr`; `calm_rate` is the honest signatures/s.
fn start_attack(
    attack: Attack,
    addr: SocketAddr,
    calm_rate: f64,
    slow: usize,
    stop: &Arc<AtomicBool>,
    tally: &Arc<Tally>,
) -> Vec<std::thread::JoinHandle<()>> {
    let spawn = |f: Box<dyn FnOnce() + Send>| std::thread::spawn(f);
    match attack {
        Attack::BadItems => {
            let (stop, tally) = (stop.clone(), tally.clone());
            vec![spawn(Box::new(move || {
                bad_items(addr, calm_rate / 99.0, stop, tally)
            }))]
        }
        Attack::FreshKeys => (0..2u8)
            .map(|n| {
                // Made before the attack starts: the attacker's key generation is not the
                // server's work and must not take the shared cores during the round.
                let bodies = fresh_key_bodies(48);
                let (stop, tally) = (stop.clone(), tally.clone());
                spawn(Box::new(move || {
                    fresh_keys(addr, 3 + n, bodies, stop, tally)
                }))
            })
            .collect(),
        Attack::SlowClients => (0..slow)
            .map(|i| {
                let (stop, tally) = (stop.clone(), tally.clone());
                spawn(Box::new(move || slow_client(addr, i % 2 == 0, stop, tally)))
            })
            .collect(),
        Attack::Grouping => unreachable!("not an attack"),
    }
}

fn describe(attack: Attack, slow: usize) -> (&'static str, String) {
    match attack {
        Attack::BadItems => (
            "(a) 1 % of traffic is single bad items",
            "one client (127.0.0.2) posting single-item requests with a wrong signature, paced to \
             1 % of the items of the previous calm round"
                .into(),
        ),
        Attack::FreshKeys => (
            "(b) two clients loop 1,024-item requests of fresh keys",
            "two clients (127.0.0.3, .4) looping 1,024-item requests of never-seen keys with \
             off-curve signatures (flags and x < p valid), a refused request sent again at once; \
             48 bodies per client and round, made before the round"
                .into(),
        ),
        Attack::SlowClients => (
            "(c) 50 slow clients hold connections",
            format!(
                "{slow} slow clients (127.0.0.5), half stalled in the request head, half trickling \
                 a body one byte a second, each reconnecting at once when cut"
            ),
        ),
        Attack::Grouping => unreachable!("not an attack"),
    }
}

fn measure_attack(
    attack: Attack,
    args: &Args,
    server: &Server,
    batch_file: &Path,
) -> anyhow::Result<String> {
    let addr: SocketAddr = server.addr().parse()?;
    let (mut calm, mut attacked, mut p99_calm, mut p99_attacked) = (vec![], vec![], vec![], vec![]);
    let (mut sent, mut refused) = (0, 0);
    let honest = |what: &str| -> anyhow::Result<_> {
        let report = load(
            &args.tollgate,
            &server.url,
            batch_file,
            args.clients,
            args.seconds,
        )?;
        if report.errors > 0 || report.mismatches > 0 {
            bail!("honest load saw errors or wrong verdicts {what}: {report:?}");
        }
        Ok(report)
    };
    for round in 0..args.rounds {
        let report = honest("without attack")?;
        eprintln!(
            "{attack:?} round {round} calm: {:.0} sig/s",
            report.signatures_per_s
        );
        calm.push(report.signatures_per_s);
        p99_calm.push(report.latency.p99_ms);
        let stop = Arc::new(AtomicBool::new(false));
        let tally = Arc::new(Tally::default());
        let attackers = start_attack(
            attack,
            addr,
            report.signatures_per_s,
            args.slow,
            &stop,
            &tally,
        );
        std::thread::sleep(Duration::from_secs(1));
        let report = honest("under attack");
        stop.store(true, Ordering::Relaxed);
        for attacker in attackers {
            let _ = attacker.join();
        }
        let report = report?;
        eprintln!(
            "{attack:?} round {round} attacked: {:.0} sig/s ({} attacker requests, {} refused or cut)",
            report.signatures_per_s,
            tally.sent.load(Ordering::Relaxed),
            tally.refused.load(Ordering::Relaxed)
        );
        attacked.push(report.signatures_per_s);
        p99_attacked.push(report.latency.p99_ms);
        sent += tally.sent.load(Ordering::Relaxed);
        refused += tally.refused.load(Ordering::Relaxed);
    }
    let (calm_m, attacked_m) = (median(calm.clone()), median(attacked.clone()));
    let (title, how) = describe(attack, args.slow);
    let rounds = |v: &[f64]| v.iter().map(|r| r.round() as u64).collect::<Vec<_>>();
    let body = format!(
        "Attack: {how}. Attacker requests over all attacked rounds: {sent}, of which refused \
         (429) or, for slow clients, cut by the server: {refused}.\n\n\
         | run | honest sig/s (median) | p99 ms (median) | rounds (sig/s) |\n|---|---|---|---|\n\
         | without attack | {calm_m:.0} | {:.1} | {:?} |\n\
         | under attack | {attacked_m:.0} | {:.1} | {:?} |\n\n\
         **Ratio under attack / without: {:.2}** (target ≥ 0.8).",
        median(p99_calm),
        rounds(&calm),
        median(p99_attacked),
        rounds(&attacked),
        attacked_m / calm_m,
    );
    println!("### {title}\n\n{body}\n");
    Ok(format!("{title}\n{body}"))
}

/// Same-message grouping on the CPU engine: batches of `n` valid items, `signers` per message,
/// against `n` distinct messages; interleaved rounds, medians of signatures/s.
fn measure_grouping(rounds: usize, seconds: f64) -> anyhow::Result<String> {
    const N: usize = 128;
    const SIGNERS: usize = 64;
    let keys: Vec<SecretKey> = (0..N).map(|_| random_key()).collect();
    let batch = |messages: usize| -> anyhow::Result<Vec<SignedItem>> {
        keys.iter()
            .enumerate()
            .map(|(i, key)| {
                let message = format!("message {}", i % messages).into_bytes();
                Ok(SignedItem {
                    public_key: decode_public_key(SUITE.variant, &key.public_key(SUITE.variant))?,
                    signature: decode_signature(SUITE.variant, &key.sign(SUITE, &message))?.into(),
                    message,
                })
            })
            .collect()
    };
    let grouped = batch(N / SIGNERS)?;
    let distinct = batch(N)?;
    let engine = CpuEngine::new();
    let rate = |items: &[SignedItem]| -> anyhow::Result<f64> {
        let refs: Vec<&SignedItem> = items.iter().collect();
        let started = Instant::now();
        let mut batches = 0;
        while started.elapsed().as_secs_f64() < seconds {
            if !engine.verify_batch(SUITE, &refs)?.all_valid() {
                bail!("a valid batch failed");
            }
            batches += 1;
        }
        Ok((batches * items.len()) as f64 / started.elapsed().as_secs_f64())
    };
    let (mut same, mut apart) = (vec![], vec![]);
    for round in 0..rounds {
        apart.push(rate(&distinct)?);
        same.push(rate(&grouped)?);
        eprintln!(
            "grouping round {round}: {:.0} vs {:.0} sig/s",
            same[round], apart[round]
        );
    }
    let (same_m, apart_m) = (median(same.clone()), median(apart.clone()));
    let title = "(d) same-message grouping, CPU engine";
    let body = format!(
        "In process, `CpuEngine` (blst's pool, both cores), batches of {N} valid pop/min_pk \
         items, {seconds} s per figure, {rounds} interleaved rounds, medians.\n\n\
         | batch | sig/s (median) | rounds |\n|---|---|---|\n\
         | {SIGNERS} signers per message ({} messages) | {same_m:.0} | {:?} |\n\
         | {N} distinct messages | {apart_m:.0} | {:?} |\n\n\
         **Ratio: {:.2}×** (target ≥ 5×).",
        N / SIGNERS,
        same.iter().map(|r| r.round() as u64).collect::<Vec<_>>(),
        apart.iter().map(|r| r.round() as u64).collect::<Vec<_>>(),
        same_m / apart_m,
    );
    println!("### {title}\n\n{body}\n");
    Ok(format!("{title}\n{body}"))
}

fn main() -> anyhow::Result<()> {
    let mut args = Args::parse();
    if args.attacks.is_empty() {
        args.attacks = Attack::value_variants().to_vec();
    }
    if !args.tollgate.exists() {
        bail!(
            "{} not found: cargo build --release -p tollgate",
            args.tollgate.display()
        );
    }
    let batch = generate_batch(&BatchSpec {
        items: args.request_items,
        suite: SUITE,
        keys: 16,
        message_len: 32,
        corruption: Corruption::None,
        seed: Some(3),
    })?;
    let batch_file = std::env::temp_dir().join(format!("under-attack-{}.json", std::process::id()));
    std::fs::write(&batch_file, serde_json::to_vec(&batch.request)?)?;
    let data_dir = std::env::temp_dir().join(format!("under-attack-data-{}", std::process::id()));
    let common = format!(
        "Command: `cargo build --release -p tollgate && cargo run --release -p tollgate-bench \
         --bin under_attack`. Release builds. Honest load: `tollgate load` from \
         127.0.0.1, {} clients posting one {}-item /v1/verify request (pop, min_pk, 16 keys, all \
         valid) back to back, {} s per round, {} rounds without and with the attack alternating, \
         medians; one `tollgate serve` with default settings (CPU backend, 2 HTTP workers), \
         everything on the same 2 cores. Load average at the start: {}. Other work on the \
         machine makes absolute figures noisy; each ratio compares rounds run side by side.",
        args.clients,
        args.request_items,
        args.seconds,
        args.rounds,
        load_average(),
    );
    let mut parts = Vec::new();
    for &attack in &args.attacks {
        let part = if attack == Attack::Grouping {
            measure_grouping(args.rounds, args.seconds.min(4.0))?
        } else {
            // A fresh server per attack: one attack's debts and cache must not carry over.
            let server = Server::start(
                &args.tollgate,
                &["--data-dir", data_dir.to_str().context("utf-8 temp dir")?],
            )?;
            measure_attack(attack, &args, &server, &batch_file)?
        };
        parts.push(part);
    }
    let _ = std::fs::remove_file(&batch_file);
    let _ = std::fs::remove_dir_all(&data_dir);
    if args.out != "-" {
        let path = Path::new(&args.out);
        tollgate_bench::write_subsection(path, SECTION, "How these were measured", &common)?;
        for part in parts {
            let (title, body) = part.split_once('\n').expect("title line");
            tollgate_bench::write_subsection(path, SECTION, title, body)?;
        }
        eprintln!("wrote the subsections to {}", args.out);
    }
    Ok(())
}
