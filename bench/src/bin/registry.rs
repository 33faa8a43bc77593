//! Key registry benchmark (CPU backend, embedded store), one run, printed as the
//! "## Registry" section of bench/RESULTS.md:
//! - /v1/verify decoding + verification in process (`Service::verify`) by key id vs by public
//!   key, each with a warm cache and with no cache (every key decompressed and KeyValidate'd, or
//!   every id read from SQLite);
//! - bulk registration (`POST /v1/keys/batch`'s path: decode, proof-of-possession batch check,
//!   one transaction per 1000) in keys/s, beside blst batch verification of as many signatures;
//! - lookups at 1M (and 10M) registered keys: p50/p99 of an uncached resolution (SQLite read),
//!   and the resident memory of a `tollgate serve` on that store after serving random lookups.
//!
//! Run: `cargo run --release -p tollgate-bench --bin registry -- --lookup-sizes 1000000,10000000`

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use blst::min_pk;
use clap::Parser;
use rand_core::{OsRng, RngCore};
use sqlx::{Connection, Executor};
use tollgate::api::wire::{to_hex, Item, KeyRegistration, VerifyRequest};
use tollgate::engine::{verify_each, CpuEngine, Engine, SignedItem};
use tollgate::metrics::Metrics;
use tollgate::registry::{Registry, RegistryConfig};
use tollgate::service::{Service, ServiceConfig};
use tollgate::signer::SecretKey;
use tollgate::suite::{Suite, Variant};

#[derive(Debug, Parser)]
struct Args {
    /// Rounds of the verification figures; each is the median.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Signed items per verification round (1024 per request).
    #[arg(long, default_value_t = 4096)]
    items: usize,
    /// Distinct signing devices among the items.
    #[arg(long, default_value_t = 512)]
    devices: usize,
    /// Keys registered by the bulk-import figure.
    #[arg(long, default_value_t = 10_000)]
    import_keys: usize,
    /// Registry sizes for the lookup figures.
    #[arg(long, value_delimiter = ',', default_value = "1000000")]
    lookup_sizes: Vec<usize>,
    /// Uncached lookups timed per size.
    #[arg(long, default_value_t = 20_000)]
    lookups: usize,
    /// Scratch directory (stores of up to a few GB).
    #[arg(long, default_value = "target/registry-bench")]
    scratch: PathBuf,
}

const SUITE: Suite = Suite::new(tollgate::suite::Scheme::Pop, Variant::MinPk);

fn key(i: usize) -> SecretKey {
    let mut ikm = [3u8; 32];
    ikm[..8].copy_from_slice(&(i as u64).to_le_bytes());
    SecretKey::from_ikm(&ikm).expect("ikm")
}

fn registration(i: usize, prefix: &str) -> KeyRegistration {
    let sk = key(i);
    KeyRegistration {
        key_id: Some(format!("{prefix}-{i:08}")),
        public_key: to_hex(&sk.public_key(Variant::MinPk)),
        proof_of_possession: to_hex(&sk.prove_possession(Variant::MinPk)),
        variant: None,
    }
}

/// `f(i)` for i in 0..n on both cores.
fn parallel<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let threads = 2;
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    (t..n)
                        .step_by(threads)
                        .map(|i| (i, f(i)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<(usize, T)> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        all.sort_by_key(|(i, _)| *i);
        all.into_iter().map(|(_, v)| v).collect()
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn open(dir: &Path, cache_bytes: u64) -> anyhow::Result<(Arc<Registry>, Arc<Metrics>)> {
    let metrics = Arc::new(Metrics::new());
    let config = RegistryConfig {
        data_dir: dir.to_path_buf(),
        cache_bytes,
        ..RegistryConfig::default()
    };
    let registry = Registry::open(&config, metrics.registry())?;
    Ok((Arc::new(registry), metrics))
}

fn service(
    registry: Arc<Registry>,
    metrics: Arc<Metrics>,
    key_cache: usize,
) -> anyhow::Result<Arc<Service>> {
    let config = ServiceConfig {
        key_cache_capacity: key_cache,
        ..ServiceConfig::default()
    };
    let engine: Arc<dyn Engine> = Arc::new(CpuEngine::new());
    Ok(Arc::new(
        Service::start(config, engine, metrics)?.with_registry(registry),
    ))
}

/// Items/s of `Service::verify` over `requests`, after one warm-up pass.
fn throughput(
    rt: &tokio::runtime::Runtime,
    service: &Arc<Service>,
    requests: &[VerifyRequest],
) -> f64 {
    let run = || {
        let started = Instant::now();
        let mut items = 0;
        for request in requests {
            let answer = rt
                .block_on(service.verify(request.clone()))
                .expect("verify");
            assert_eq!(answer.invalid, 0);
            items += answer.valid;
        }
        items as f64 / started.elapsed().as_secs_f64()
    };
    run();
    run()
}

fn rss_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Writes `n` keys straight into the store file (bench set-up only: registration's own speed
/// is the import figure). 4096 distinct valid points are reused under distinct ids; a lookup
/// reads and deserializes a row the same whatever point it holds.
async fn fill(dir: &Path, n: usize) -> anyhow::Result<()> {
    let points: Vec<(Vec<u8>, Vec<u8>)> = parallel(4096, |i| {
        let pk = key(i).public_key(Variant::MinPk);
        let point = min_pk::PublicKey::uncompress(&pk)
            .unwrap()
            .serialize()
            .to_vec();
        (pk, point)
    });
    let url = format!("sqlite://{}", dir.join("registry.sqlite3").display());
    let mut db = sqlx::SqliteConnection::connect(&url).await?;
    db.execute("PRAGMA synchronous = OFF").await?;
    let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM keys")
        .fetch_one(&mut db)
        .await?;
    let now = 1_764_600_000_000i64;
    let mut i = existing as usize;
    while i < n {
        let mut tx = db.begin().await?;
        for j in i..(i + 50_000).min(n) {
            let id = format!("did:example:meter-{j:08}");
            let (pk, point) = &points[j % points.len()];
            sqlx::query("INSERT INTO keys (key_id, variant, public_key, point, registered_at) VALUES ($1, 'min_pk', $2, $3, $4)")
                .bind(&id).bind(pk).bind(point).bind(now).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO key_events (key_id, event, at) VALUES ($1, 'registered', $2)")
                .bind(&id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        i = (i + 50_000).min(n);
        eprint!("\rfilled {i}/{n}");
    }
    eprintln!();
    db.close().await?;
    Ok(())
}

fn serve(dir: &Path) -> anyhow::Result<(Child, String)> {
    use std::io::{BufRead, BufReader};
    let me = std::env::current_exe()?;
    let bin = me.parent().context("exe dir")?.join("tollgate");
    let mut child = Command::new(bin)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .env("TOLLGATE_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()?;
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().context("server exited")??;
        if let Some(a) = line.strip_prefix("tollgate listening on ") {
            break a.trim().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Ok((child, format!("http://{addr}")))
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let rt = tokio::runtime::Runtime::new()?;
    let _ = std::fs::remove_dir_all(&args.scratch);
    std::fs::create_dir_all(&args.scratch)?;
    let mut out = String::new();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    out += &format!("Load average at start: {}", load);

    // --- verification by id vs by key ---
    let dir = args.scratch.join("verify");
    let (warm_registry, warm_metrics) = open(&dir, 64 << 20)?;
    let devices: Vec<KeyRegistration> = parallel(args.devices, |i| registration(i, "dev"));
    for chunk in devices.chunks(1000) {
        let r = rt.block_on(warm_registry.register_batch(chunk.to_vec(), Variant::MinPk))?;
        assert_eq!(r.failed, 0);
    }
    let signed: Vec<(usize, Vec<u8>, Vec<u8>)> = parallel(args.items, |i| {
        let message = format!("toll {i}").into_bytes();
        let signature = key(i % args.devices).sign(SUITE, &message);
        (i % args.devices, message, signature)
    });
    let requests = |by_id: bool| -> Vec<VerifyRequest> {
        signed
            .chunks(1024)
            .map(|chunk| VerifyRequest {
                scheme: None,
                variant: None,
                items: chunk
                    .iter()
                    .map(|(d, m, s)| Item {
                        public_key: if by_id {
                            String::new()
                        } else {
                            devices[*d].public_key.clone()
                        },
                        key_id: by_id.then(|| devices[*d].key_id.clone().unwrap()),
                        message: to_hex(m),
                        signature: to_hex(s),
                    })
                    .collect(),
            })
            .collect()
    };
    let (by_key, by_id) = (requests(false), requests(true));
    let (cold_registry, cold_metrics) = open(&dir, 0)?;
    let warm = service(warm_registry.clone(), warm_metrics, 65536)?;
    let cold = service(cold_registry, cold_metrics, 0)?;
    let mut figures: [Vec<f64>; 4] = Default::default();
    for _ in 0..args.rounds {
        figures[0].push(throughput(&rt, &warm, &by_key));
        figures[1].push(throughput(&rt, &warm, &by_id));
        figures[2].push(throughput(&rt, &cold, &by_key));
        figures[3].push(throughput(&rt, &cold, &by_id));
    }
    let [key_warm, id_warm, key_cold, id_cold] = figures.map(median);
    out += &format!(
        "\n| /v1/verify in process, {} items by {} devices, 1024 per request | items/s (median of {}) | vs by key, same cache state |\n|---|---|---|\n\
         | by public key, warm key cache | {key_warm:.0} | 1 |\n\
         | by key id, warm registry cache | {id_warm:.0} | {:.3} |\n\
         | by public key, no cache (decompress + KeyValidate each) | {key_cold:.0} | 1 |\n\
         | by key id, no cache (SQLite read each) | {id_cold:.0} | {:.3} |\n",
        args.items, args.devices, args.rounds, id_warm / key_warm, id_cold / key_cold
    );

    // --- bulk import vs batch verification ---
    let entries: Vec<KeyRegistration> =
        parallel(args.import_keys, |i| registration(1_000_000 + i, "imp"));
    let import_dir = args.scratch.join("import");
    let (importer, _) = open(&import_dir, 64 << 20)?;
    let started = Instant::now();
    for chunk in entries.chunks(1000) {
        let r = rt.block_on(importer.register_batch(chunk.to_vec(), Variant::MinPk))?;
        assert_eq!(r.created, chunk.len());
    }
    let import_rate = args.import_keys as f64 / started.elapsed().as_secs_f64();
    let items: Vec<SignedItem> = parallel(args.import_keys, |i| {
        let sk = key(2_000_000 + i);
        let message = format!("m{i}").into_bytes();
        SignedItem {
            public_key: tollgate::codec::decode_public_key(
                Variant::MinPk,
                &sk.public_key(Variant::MinPk),
            )
            .unwrap(),
            signature: tollgate::codec::decode_signature(Variant::MinPk, &sk.sign(SUITE, &message))
                .unwrap(),
            message,
        }
    });
    let engine = CpuEngine::new();
    let started = Instant::now();
    for chunk in items.chunks(1000) {
        let refs: Vec<&SignedItem> = chunk.iter().collect();
        let (verdicts, _) = verify_each(&engine, SUITE, &refs)?;
        assert!(verdicts.iter().all(|&v| v));
    }
    let verify_rate = args.import_keys as f64 / started.elapsed().as_secs_f64();
    out += &format!(
        "\n| bulk import, {} fresh keys in requests of 1000 | keys/s |\n|---|---|\n\
         | registration (decode + KeyValidate, PoP batch check, one SQLite transaction per 1000) | {import_rate:.0} |\n\
         | blst batch verification of {} decoded signatures, batches of 1000 | {verify_rate:.0} |\n\
         | ratio | {:.2} |\n",
        args.import_keys, args.import_keys, import_rate / verify_rate
    );

    // --- lookups at size ---
    out += "\n| registered keys | store size | uncached resolution p50 | p99 | server RSS after 20,000 random GETs (peak) |\n|---|---|---|---|---|\n";
    let lookup_dir = args.scratch.join("lookup");
    for &n in &args.lookup_sizes {
        drop(open(&lookup_dir, 0)?); // creates the schema
        rt.block_on(fill(&lookup_dir, n))?;
        let (registry, _) = open(&lookup_dir, 0)?;
        let mut latencies = Vec::with_capacity(args.lookups);
        for _ in 0..args.lookups {
            let j = (OsRng.next_u64() % n as u64) as usize;
            let id = format!("did:example:meter-{j:08}");
            let started = Instant::now();
            registry.resolve(Variant::MinPk, &id).expect("registered");
            latencies.push(started.elapsed());
        }
        drop(registry);
        latencies.sort();
        let p = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e6;
        let bytes: u64 = std::fs::read_dir(&lookup_dir)?
            .filter_map(|e| e.ok()?.metadata().ok())
            .map(|m| m.len())
            .sum();
        let (mut child, base) = serve(&lookup_dir)?;
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(30))
            .build();
        for _ in 0..20_000 {
            let j = (OsRng.next_u64() % n as u64) as usize;
            let response = agent
                .get(&format!("{base}/v1/keys/did:example:meter-{j:08}"))
                .call()?;
            assert_eq!(response.status(), 200);
        }
        let (rss, hwm) = (rss_kib(child.id(), "VmRSS:"), rss_kib(child.id(), "VmHWM:"));
        child.kill()?;
        child.wait()?;
        out += &format!(
            "| {n} | {:.2} GB | {:.1} µs | {:.1} µs | {:.0} MiB ({:.0} MiB) |\n",
            bytes as f64 / 1e9,
            p(0.5),
            p(0.99),
            rss as f64 / 1024.0,
            hwm as f64 / 1024.0
        );
    }
    print!("{out}");
    Ok(())
}
