//! Key registry benchmark (bench/RESULTS.md "## Registry"), one run, over HTTP against the
//! release `tollgate serve` on the CPU backend and its embedded store:
//! 1. /v1/verify by key id vs by public key, with warm caches and with both caches off;
//! 2. bulk import (POST /v1/keys/batch) in keys/s beside /v1/verify of as many fresh signed
//!    items by public key, rounds interleaved on the same server, and beside the import's
//!    arithmetic alone in this process (no HTTP, no store): what the server could reach;
//! 3. GET /v1/keys/{id} latency (random ids, no cache) and the server's resident memory at
//!    each store size. The store is seeded through the registry's own write path
//!    (`Registry::seed_sequential`: keys (i + 1)·g1, no proofs of possession), since 10M
//!    proofs would take about an hour here.
//!
//! Run: `cargo build --release -p tollgate && cargo run --release -p tollgate-bench
//! --no-default-features --bin registry -- --lookup-sizes 1000000,10000000`

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use clap::Parser;
use rand_core::{OsRng, RngCore};
use serde_json::{json, Value};
use tollgate::api::wire::to_hex;
use tollgate::codec::{decode_public_key, decode_signature, parse_hex, KeyCache};
use tollgate::engine::{CpuEngine, SignedItem};
use tollgate::metrics::Metrics;
use tollgate::parallel::map_on_cores;
use tollgate::registry::{Registry, RegistryConfig};
use tollgate::signer::SecretKey;
use tollgate::suite::{Scheme, Suite, Variant};
use tollgate_bench::{load_average, median, Server};

#[derive(Debug, Parser)]
struct Args {
    /// The server binary (built with `cargo build --release -p tollgate`).
    #[arg(long, default_value = "target/release/tollgate")]
    tollgate: PathBuf,
    /// Rounds of each throughput figure; the median is reported.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Signed items per verification round, 1000 per request.
    #[arg(long, default_value_t = 8000)]
    items: usize,
    /// Distinct registered devices signing those items.
    #[arg(long, default_value_t = 1000)]
    devices: usize,
    /// Fresh keys per import round (and fresh items per verification round beside it).
    #[arg(long, default_value_t = 6000)]
    import_keys: usize,
    /// Concurrent HTTP clients of the throughput figures.
    #[arg(long, default_value_t = 2)]
    clients: usize,
    /// Store sizes of the lookup figures, ascending (the store grows from one to the next).
    #[arg(long, value_delimiter = ',', default_value = "1000000")]
    lookup_sizes: Vec<u64>,
    /// Timed lookups per size.
    #[arg(long, default_value_t = 20_000)]
    lookups: usize,
    /// Which figures to measure.
    #[arg(long, value_delimiter = ',', default_value = "by-id,import,lookups")]
    figures: Vec<Figure>,
    /// Scratch directory (the 10M store takes a few GB).
    #[arg(long, default_value = "target/registry-bench")]
    scratch: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Figure {
    ById,
    Import,
    Lookups,
}

const TOKEN: &str = "bench-token";
const PER_REQUEST: usize = 1000;
const SEEDED: &str = "did:example:meter-";

fn key(i: usize) -> SecretKey {
    let mut ikm = [3u8; 32];
    ikm[..8].copy_from_slice(&(i as u64).to_le_bytes());
    SecretKey::from_ikm(&ikm).expect("32-byte ikm")
}

fn registration(i: usize) -> Value {
    let sk = key(i);
    json!({
        "key_id": format!("dev-{i:08}"),
        "public_key": to_hex(&sk.public_key(Variant::MinPk)),
        "proof_of_possession": to_hex(&sk.prove_possession(Variant::MinPk)),
    })
}

/// Key `i` signs message `m`; the item names it by id or by its public key.
fn item(i: usize, m: usize, by_id: bool) -> Value {
    let sk = key(i);
    let message = format!("toll {m}");
    let signature = to_hex(&sk.sign(Suite::default(), message.as_bytes()));
    let mut item = json!({"message": to_hex(message.as_bytes()), "signature": signature});
    item[if by_id { "key_id" } else { "public_key" }] = match by_id {
        true => json!(format!("dev-{i:08}")),
        false => json!(to_hex(&sk.public_key(Variant::MinPk))),
    };
    item
}

fn bodies(values: Vec<Value>, wrap: impl Fn(Vec<Value>) -> Value) -> Vec<String> {
    values
        .chunks(PER_REQUEST)
        .map(|chunk| wrap(chunk.to_vec()).to_string())
        .collect()
}

/// Starts the server on the CPU backend with its store in `data` and the bench's admin token.
/// Every request comes from 127.0.0.1, so one client may use the whole admission budget (as
/// behind a balancer, deploy/local-cluster.sh).
fn start(args: &Args, data: &Path, extra: &[&str]) -> anyhow::Result<Server> {
    let tokens = args.scratch.join("tokens");
    std::fs::write(&tokens, TOKEN)?;
    let (data, tokens) = (
        data.to_str().context("utf-8 path")?,
        tokens.to_str().context("utf-8 path")?,
    );
    let mut all = vec![
        "--backend",
        "cpu",
        "--client-share",
        "8192",
        "--data-dir",
        data,
        "--admin-token-file",
        tokens,
    ];
    all.extend_from_slice(extra);
    Server::start(&args.tollgate, &all)
}

/// What one timed pass of requests gave: the answers' `count_field` summed per second of wall
/// time, and the server's CPU time per counted unit.
struct Pass {
    per_second: f64,
    cpu_us: f64,
}

impl Pass {
    /// The median of each figure on its own.
    fn median(passes: &[Pass]) -> Pass {
        Pass {
            per_second: median(passes.iter().map(|p| p.per_second).collect()),
            cpu_us: median(passes.iter().map(|p| p.cpu_us).collect()),
        }
    }
}

/// Posts `bodies` from `clients` threads.
fn rate(
    server: &Server,
    path: &str,
    bodies: &[String],
    clients: usize,
    count_field: &str,
) -> anyhow::Result<Pass> {
    let started = Instant::now();
    let cpu_before = server.cpu_seconds();
    let counted: anyhow::Result<Vec<u64>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..clients)
            .map(|c| {
                s.spawn(move || -> anyhow::Result<u64> {
                    let agent = ureq::AgentBuilder::new()
                        .timeout(Duration::from_secs(120))
                        .build();
                    let mut total = 0;
                    for body in bodies.iter().skip(c).step_by(clients) {
                        let reply = match agent
                            .post(&format!("{}{path}", server.url))
                            .set("Authorization", &format!("Bearer {TOKEN}"))
                            .set("Content-Type", "application/json")
                            .send_string(body)
                        {
                            Ok(reply) => reply,
                            Err(ureq::Error::Status(status, reply)) => {
                                bail!("{path}: {status} {}", reply.into_string()?)
                            }
                            Err(e) => return Err(e.into()),
                        };
                        let answer: Value = serde_json::from_str(&reply.into_string()?)?;
                        ensure!(answer["failed"] == 0 || answer["failed"].is_null());
                        ensure!(answer["invalid"] == 0 || answer["invalid"].is_null());
                        total += answer[count_field].as_u64().context("count")?;
                    }
                    Ok(total)
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let total = counted?.iter().sum::<u64>() as f64;
    Ok(Pass {
        per_second: total / started.elapsed().as_secs_f64(),
        cpu_us: 1e6 * (server.cpu_seconds() - cpu_before) / total,
    })
}

fn verify_wrap(items: Vec<Value>) -> Value {
    json!({ "items": items })
}

/// Figure 1b: what a by-id and a by-key item cost beyond their identical arithmetic, in this
/// process: resolving the key from a warm cache, ns per item (median of `rounds` passes over
/// `devices` keys, 100 lookups each). By key: the hex and the key cache (as
/// `Service::decode_public_key`); by id: `Registry::resolve`.
fn resolution_ns(args: &Args, out: &mut String) -> anyhow::Result<()> {
    let metrics = Metrics::new();
    let config = RegistryConfig {
        data_dir: args.scratch.join("resolve"),
        ..RegistryConfig::default()
    };
    let registry = Registry::open(&config, metrics.registry())?;
    registry.seed_sequential(SEEDED, 0..args.devices as u64, |_| {})?;
    let ids: Vec<String> = (0..args.devices)
        .map(|i| format!("{SEEDED}{i:010}"))
        .collect();
    let keys = KeyCache::new(args.devices, metrics.key_cache_evictions.clone());
    let hexes: Vec<String> = ids
        .iter()
        .map(|id| -> anyhow::Result<String> {
            let hex = to_hex(&registry.resolve(Variant::MinPk, id)?.compressed);
            keys.lookup(Variant::MinPk, &parse_hex(&hex)?).0?;
            Ok(hex)
        })
        .collect::<anyhow::Result<_>>()?;
    let per_item = |resolve: &dyn Fn(usize) -> anyhow::Result<()>| -> anyhow::Result<f64> {
        let started = Instant::now();
        for _ in 0..100 {
            (0..args.devices).try_for_each(resolve)?;
        }
        Ok(started.elapsed().as_secs_f64() * 1e9 / (100 * args.devices) as f64)
    };
    let (mut by_key, mut by_id) = (Vec::new(), Vec::new());
    for _ in 0..args.rounds {
        by_key.push(per_item(&|i| {
            keys.lookup(Variant::MinPk, &parse_hex(&hexes[i])?).0?;
            Ok(())
        })?);
        by_id.push(per_item(&|i| {
            registry.resolve(Variant::MinPk, &ids[i])?;
            Ok(())
        })?);
    }
    *out += &format!(
        "\n| resolving a warm key in process, {} keys | ns per item (median of {}) |\n|---|---|\n\
         | by public key (hex + key cache) | {:.0} |\n| by key id (registry cache) | {:.0} |\n",
        args.devices,
        args.rounds,
        median(by_key),
        median(by_id)
    );
    Ok(())
}

/// Figure 1: items/s by public key and by id, warm (after a pass) and with caches off.
fn by_id_vs_by_key(args: &Args, out: &mut String) -> anyhow::Result<()> {
    let data = args.scratch.join("verify");
    let devices = map_on_cores(0..args.devices, registration);
    let (by_key, by_id): (Vec<Value>, Vec<Value>) = map_on_cores(0..args.items, |m| {
        (
            item(m % args.devices, m, false),
            item(m % args.devices, m, true),
        )
    })
    .into_iter()
    .unzip();
    let (by_key, by_id) = (bodies(by_key, verify_wrap), bodies(by_id, verify_wrap));
    *out += &format!(
        "| /v1/verify, {} items signed by {} registered devices, {PER_REQUEST} per request, \
         {} clients | items/s (median of {}) | by id / by key | server CPU µs per item \
         (median) | by key / by id |\n|---|---|---|---|---|\n",
        args.items, args.devices, args.clients, args.rounds
    );
    for (state, extra) in [
        ("warm caches", &[][..]),
        (
            "caches off (every key decompressed + KeyValidate'd, every id read from SQLite)",
            &["--key-cache-capacity", "0", "--registry-cache-bytes", "0"][..],
        ),
    ] {
        let server = start(args, &data, extra)?;
        // Registered by the first server, already there for the second.
        rate(
            &server,
            "/v1/keys/batch",
            &bodies(devices.clone(), Value::from),
            1,
            "created",
        )?;
        rate(&server, "/v1/verify", &by_key, args.clients, "valid")?;
        rate(&server, "/v1/verify", &by_id, args.clients, "valid")?;
        let (mut key_passes, mut id_passes) = (Vec::new(), Vec::new());
        for round in 0..args.rounds {
            // Which goes first alternates, so a drift of the machine's load favours neither.
            let by_key_first = round % 2 == 0;
            for by_key_now in [by_key_first, !by_key_first] {
                let (bodies, passes) = match by_key_now {
                    true => (&by_key, &mut key_passes),
                    false => (&by_id, &mut id_passes),
                };
                passes.push(rate(&server, "/v1/verify", bodies, args.clients, "valid")?);
            }
        }
        let (key, id) = (Pass::median(&key_passes), Pass::median(&id_passes));
        *out += &format!(
            "| by public key, {state} | {:.0} | | {:.0} | |\n\
             | by key id, {state} | {:.0} | {:.3} | {:.0} | {:.3} |\n",
            key.per_second,
            key.cpu_us,
            id.per_second,
            id.per_second / key.per_second,
            id.cpu_us,
            key.cpu_us / id.cpu_us
        );
    }
    Ok(())
}

/// The import's arithmetic on `bodies` in this process, in keys/s: per body, what the server
/// computes for a fresh key (hex, decompression, KeyValidate and the proof's subgroup check on
/// every core, then one batch check of the proofs under the POP tag), `clients` bodies at a
/// time as over HTTP. No JSON, no HTTP, no store: the ceiling the server's import can reach.
fn import_arithmetic(registrations: &[Value], clients: usize) -> anyhow::Result<f64> {
    let dst = Suite::new(Scheme::Pop, Variant::MinPk).pop_dst();
    let engine = CpuEngine::new();
    let started = Instant::now();
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..clients)
            .map(|c| {
                let engine = &engine;
                s.spawn(move || -> anyhow::Result<()> {
                    for chunk in registrations.chunks(PER_REQUEST).skip(c).step_by(clients) {
                        let items = map_on_cores(0..chunk.len(), |i| {
                            let field = |name: &str| parse_hex(chunk[i][name].as_str().unwrap());
                            let key = field("public_key").expect("hex");
                            let proof = field("proof_of_possession").expect("hex");
                            SignedItem {
                                public_key: decode_public_key(Variant::MinPk, &key).unwrap(),
                                signature: decode_signature(Variant::MinPk, &proof).unwrap().into(),
                                message: key,
                            }
                        });
                        let refs: Vec<&SignedItem> = items.iter().collect();
                        ensure!(engine
                            .verify_batch_with_dst(Variant::MinPk, dst, &refs)?
                            .all_valid());
                    }
                    Ok(())
                })
            })
            .collect();
        workers
            .into_iter()
            .try_for_each(|w| w.join().expect("arithmetic worker"))
    })?;
    Ok(registrations.len() as f64 / started.elapsed().as_secs_f64())
}

/// Figure 2: import rounds of fresh keys interleaved with verification rounds of as many
/// fresh items (fresh keys, by public key), on one server.
fn import_vs_verify(args: &Args, out: &mut String) -> anyhow::Result<()> {
    let server = start(args, &args.scratch.join("import"), &[])?;
    let (mut imports, mut verifications, mut arithmetic_rates) =
        (Vec::new(), Vec::new(), Vec::new());
    for round in 0..args.rounds {
        let first = 1_000_000 * (round + 1);
        let keys = first..first + args.import_keys;
        let registrations = map_on_cores(keys.clone(), registration);
        arithmetic_rates.push(import_arithmetic(&registrations, args.clients)?);
        let import_bodies = bodies(registrations, Value::from);
        let fresh = first + 500_000;
        let items = map_on_cores(fresh..fresh + args.import_keys, |i| item(i, i, false));
        let verifies = bodies(items, verify_wrap);
        imports.push(rate(
            &server,
            "/v1/keys/batch",
            &import_bodies,
            args.clients,
            "created",
        )?);
        verifications.push(rate(
            &server,
            "/v1/verify",
            &verifies,
            args.clients,
            "valid",
        )?);
    }
    let (import, verification, arithmetic_rate) = (
        Pass::median(&imports),
        Pass::median(&verifications),
        median(arithmetic_rates),
    );
    *out += &format!(
        "\n| {} fresh keys per round, {PER_REQUEST} per request, {} clients, median of {} \
         interleaved rounds | per second | server CPU µs per key or item |\n|---|---|---|\n\
         | bulk import, POST /v1/keys/batch (decode + KeyValidate, proof-of-possession batch \
         check, one SQLite transaction per request) | {:.0} keys | {:.0} |\n\
         | batch verification, POST /v1/verify of as many items by fresh public keys | \
         {:.0} items | {:.0} |\n| import / verification | {:.2} | |\n\
         | the import's arithmetic alone, in the bench's process (decode + proof batch check per \
         {PER_REQUEST} keys, as many at a time as clients; no JSON, HTTP or store) | \
         {arithmetic_rate:.0} keys | |\n| import / its arithmetic alone | {:.2} | |\n",
        args.import_keys,
        args.clients,
        args.rounds,
        import.per_second,
        import.cpu_us,
        verification.per_second,
        verification.cpu_us,
        import.per_second / verification.per_second,
        import.per_second / arithmetic_rate
    );
    Ok(())
}

/// Figure 3: GET latency and resident memory at each store size.
fn lookups_at_size(args: &Args, out: &mut String) -> anyhow::Result<()> {
    let data = args.scratch.join("lookup");
    *out += &format!(
        "\n| registered keys | seeding | store on disk | GET /v1/keys/{{id}} p50 | p99 | \
         server RSS after {} random GETs (peak) |\n|---|---|---|---|---|---|\n",
        args.lookups
    );
    let mut seeded = 0;
    for &size in &args.lookup_sizes {
        let started = Instant::now();
        {
            let config = RegistryConfig {
                data_dir: data.clone(),
                cache_bytes: 0,
                ..RegistryConfig::default()
            };
            let registry = Registry::open(&config, Metrics::new().registry())?;
            registry.seed_sequential(SEEDED, seeded..size, |n| {
                if n % 500_000 == 0 {
                    eprintln!("seeded {n}/{size} in {:?}", started.elapsed());
                }
            })?;
        }
        let seeding = started.elapsed();
        seeded = size;
        let disk: u64 = std::fs::read_dir(&data)?
            .filter_map(|e| e.ok()?.metadata().ok())
            .map(|m| m.len())
            .sum();
        let server = start(args, &data, &["--registry-cache-bytes", "0"])?;
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(30))
            .build();
        let mut latencies = Vec::with_capacity(args.lookups);
        for _ in 0..args.lookups {
            let i = OsRng.next_u64() % size;
            let started = Instant::now();
            let answer: Value = serde_json::from_str(
                &agent
                    .get(&format!("{}/v1/keys/{SEEDED}{i:010}", server.url))
                    .call()?
                    .into_string()?,
            )?;
            latencies.push(started.elapsed().as_secs_f64() * 1e3);
            ensure!(answer["revoked"] == false, "{answer}");
        }
        latencies.sort_by(f64::total_cmp);
        let p = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
        let (rss, peak) = server.rss_mib();
        *out += &format!(
            "| {size} | {:.0} s | {:.2} GB | {:.2} ms | {:.2} ms | {rss:.0} MiB ({peak:.0} MiB) |\n",
            seeding.as_secs_f64(),
            disk as f64 / 1e9,
            p(0.5),
            p(0.99)
        );
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let _ = std::fs::remove_dir_all(&args.scratch);
    std::fs::create_dir_all(&args.scratch)?;
    let load = |at: &str| format!("Load average {at}: {}", load_average());
    let mut out = format!("{}\n\n", load("at start"));
    if args.figures.contains(&Figure::ById) {
        by_id_vs_by_key(&args, &mut out)?;
        resolution_ns(&args, &mut out)?;
    }
    if args.figures.contains(&Figure::Import) {
        import_vs_verify(&args, &mut out)?;
    }
    eprint!("{out}");
    if args.figures.contains(&Figure::Lookups) {
        lookups_at_size(&args, &mut out)?;
    }
    out += &format!("\n{}\n", load("at the end"));
    print!("{out}");
    Ok(())
}
