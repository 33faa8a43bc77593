//! Service (CPU) benchmark: in-process blst batch verification, naive per-signature
//! verification and `tollgate serve` over HTTP loaded by `tollgate load`, in one run, rounds
//! interleaved so that any other load on the machine hits every figure alike. Writes the
//! "## Service (CPU)" section of bench/RESULTS.md.
//!
//! Run: `cargo run --release -p tollgate-bench --bin service`

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use blst::{blst_scalar, min_pk, BLST_ERROR};
use clap::Parser;
use tollgate::api::wire::VerifyRequest;
use tollgate::client::{generate_batch, BatchSpec, Corruption};
use tollgate::codec::{decode_public_key, decode_signature};
use tollgate::engine::{CpuEngine, Engine, SignedItem};
use tollgate::suite::{Scheme, Suite, Variant};
use tollgate_bench::{load, median, Server};

#[derive(Debug, Parser)]
struct Args {
    /// Rounds; every figure is the median over them.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Seconds of HTTP load per round.
    #[arg(long, default_value_t = 6.0)]
    seconds: f64,
    /// Concurrent `tollgate load` clients.
    #[arg(long, default_value_t = 4)]
    clients: usize,
    /// Items per HTTP request.
    #[arg(long, default_value_t = 128)]
    request_items: usize,
    /// Engine batch sizes measured in process; the largest is also the server's max_batch_size.
    #[arg(long, value_delimiter = ',', default_value = "32,64,128")]
    batch_sizes: Vec<usize>,
    /// Distinct signing keys.
    #[arg(long, default_value_t = 64)]
    keys: usize,
    /// Where to write the section ("-" for standard output only).
    #[arg(long, default_value = "bench/RESULTS.md")]
    out: String,
}

const SUITE: Suite = Suite::new(Scheme::Pop, Variant::MinPk);

/// Raw bytes of the items, decoded once up front where a measurement allows it.
struct Items {
    pks: Vec<Vec<u8>>,
    msgs: Vec<Vec<u8>>,
    sigs: Vec<Vec<u8>>,
}

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s.trim_start_matches("0x")).expect("gen-batch writes hex")
}

fn items_of(request: &VerifyRequest) -> Items {
    Items {
        pks: request.items.iter().map(|i| unhex(&i.public_key)).collect(),
        msgs: request.items.iter().map(|i| unhex(&i.message)).collect(),
        sigs: request.items.iter().map(|i| unhex(&i.signature)).collect(),
    }
}

fn scalars(n: usize) -> Vec<blst_scalar> {
    // The same cost as the engine's: 64-bit non-zero scalars from the OS.
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let mut b = [0u8; 8];
        getrandom(&mut b);
        if b == [0; 8] {
            b[0] = 1;
        }
        let mut s = blst_scalar::default();
        s.b[..8].copy_from_slice(&b);
        out.push(s);
    }
    out
}

fn getrandom(buf: &mut [u8]) {
    use rand_core::RngCore;
    rand_core::OsRng.fill_bytes(buf);
}

/// Signatures/s of a measured closure that verifies `n` signatures per call, and the call
/// latencies, over at least `min_time`.
fn measure(n: usize, min_time: Duration, mut f: impl FnMut() -> bool) -> (f64, Vec<Duration>) {
    assert!(f(), "warm-up verification failed");
    let mut times = Vec::new();
    let start = Instant::now();
    while start.elapsed() < min_time || times.len() < 3 {
        let t = Instant::now();
        assert!(f(), "verification failed");
        times.push(t.elapsed());
    }
    let total: Duration = times.iter().sum();
    ((n * times.len()) as f64 / total.as_secs_f64(), times)
}

/// Raw blst batch check from compressed bytes: keys pre-validated (the service caches them),
/// signatures decompressed and subgroup-checked every time (the service must, for untrusted input).
fn raw_blst_batch(items: &Items, range: std::ops::Range<usize>, pks: &[min_pk::PublicKey]) -> bool {
    let sigs: Vec<min_pk::Signature> = items.sigs[range.clone()]
        .iter()
        .map(|s| min_pk::Signature::uncompress(s).expect("sig"))
        .collect();
    blst_batch(items, range, pks, &sigs, true)
}

/// blst's own batch check (`verify_multiple_aggregate_signatures`) of decoded signatures,
/// subgroup-checked there when `groupcheck`.
fn blst_batch(
    items: &Items,
    range: std::ops::Range<usize>,
    pks: &[min_pk::PublicKey],
    sigs: &[min_pk::Signature],
    groupcheck: bool,
) -> bool {
    let sig_refs: Vec<&min_pk::Signature> = sigs.iter().collect();
    let pk_refs: Vec<&min_pk::PublicKey> = pks[range.clone()].iter().collect();
    let msgs: Vec<&[u8]> = items.msgs[range.clone()]
        .iter()
        .map(|m| m.as_slice())
        .collect();
    let rands = scalars(msgs.len());
    min_pk::Signature::verify_multiple_aggregate_signatures(
        &msgs,
        SUITE.dst(),
        &pk_refs,
        false,
        &sig_refs,
        groupcheck,
        &rands,
        64,
    ) == BLST_ERROR::BLST_SUCCESS
}

/// Naive: one full verification (decompress, subgroup check, two pairings) per signature,
/// spread over `threads` threads.
fn naive(items: &Items, pks: &[min_pk::PublicKey], threads: usize) -> bool {
    let n = items.sigs.len();
    let chunk = n.div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .step_by(chunk)
            .map(|start| {
                scope.spawn(move || {
                    (start..(start + chunk).min(n)).all(|i| {
                        let sig = min_pk::Signature::uncompress(&items.sigs[i]).expect("sig");
                        sig.verify(true, &items.msgs[i], SUITE.dst(), &[], &pks[i], false)
                            == BLST_ERROR::BLST_SUCCESS
                    })
                })
            })
            .collect();
        handles.into_iter().all(|h| h.join().expect("naive worker"))
    })
}

fn start_server(bin: &Path, max_batch: usize) -> anyhow::Result<Server> {
    Server::start(bin, &["--max-batch-size", &max_batch.to_string()])
}

fn pct(sorted: &[Duration], q: f64) -> f64 {
    tollgate::client::load::percentile(sorted, q).as_secs_f64() * 1e3
}

/// The release `tollgate` binary beside this one, built first so the figure is of current code.
fn tollgate_binary() -> anyhow::Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release", "-p", "tollgate", "--bin", "tollgate"])
        .status()?;
    if !status.success() {
        bail!("building tollgate failed");
    }
    let me = std::env::current_exe()?;
    let bin = me.parent().context("exe dir")?.join("tollgate");
    if !bin.exists() {
        bail!("{} not found", bin.display());
    }
    Ok(bin)
}

#[derive(Default)]
struct Series {
    rate: Vec<f64>,
    p50: Vec<f64>,
    p99: Vec<f64>,
}

impl Series {
    fn push(&mut self, rate: f64, mut times: Vec<Duration>) {
        times.sort_unstable();
        self.rate.push(rate);
        self.p50.push(pct(&times, 0.5));
        self.p99.push(pct(&times, 0.99));
    }
    fn row(&self, name: &str, unit: &str) -> String {
        format!(
            "| {name} | {unit} | {:.0} | {:.2} | {:.2} |",
            median(self.rate.clone()),
            median(self.p50.clone()),
            median(self.p99.clone())
        )
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let bin = tollgate_binary()?;
    let max_batch = *args.batch_sizes.iter().max().context("no batch sizes")?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    let n = max_batch.max(args.request_items);
    let generated = generate_batch(&BatchSpec {
        items: n,
        suite: SUITE,
        keys: args.keys,
        message_len: 32,
        corruption: Corruption::None,
        seed: Some(2026),
    })?;
    let items = items_of(&generated.request);
    let pks: Vec<min_pk::PublicKey> = items
        .pks
        .iter()
        .map(|p| min_pk::PublicKey::key_validate(p).expect("pk"))
        .collect();
    let signed: Vec<SignedItem> = (0..n)
        .map(|i| SignedItem {
            public_key: decode_public_key(SUITE.variant, &items.pks[i]).expect("pk"),
            message: items.msgs[i].clone(),
            signature: decode_signature(SUITE.variant, &items.sigs[i])
                .expect("sig")
                .into(),
        })
        .collect();
    let request = VerifyRequest {
        items: generated.request.items[..args.request_items].to_vec(),
        ..generated.request.clone()
    };
    let batch_file =
        std::env::temp_dir().join(format!("tollgate-bench-{}.json", std::process::id()));
    std::fs::write(&batch_file, serde_json::to_string(&request)?)?;

    let engine = CpuEngine::new();
    let min_time = Duration::from_secs(2);
    let mut raw: Vec<Series> = args.batch_sizes.iter().map(|_| Series::default()).collect();
    let mut eng: Vec<Series> = args.batch_sizes.iter().map(|_| Series::default()).collect();
    let mut blst_pre: Vec<Series> = args.batch_sizes.iter().map(|_| Series::default()).collect();
    let decoded: Vec<min_pk::Signature> = items
        .sigs
        .iter()
        .map(|s| min_pk::Signature::sig_validate(s, true).expect("sig"))
        .collect();
    let (mut naive1, mut naive_all) = (Series::default(), Series::default());
    let mut service = Series::default();
    let (mut svc_rps, mut rejected) = (Vec::new(), 0u64);

    let server = start_server(&bin, max_batch)?;
    for round in 0..args.rounds {
        eprintln!("round {}/{}", round + 1, args.rounds);
        for (k, &size) in args.batch_sizes.iter().enumerate() {
            let (rate, t) = measure(n - n % size, min_time, || {
                (0..n / size).all(|b| raw_blst_batch(&items, b * size..(b + 1) * size, &pks))
            });
            raw[k].push(rate, t.into_iter().map(|d| d / (n / size) as u32).collect());
            let refs: Vec<&SignedItem> = signed.iter().collect();
            let (rate, t) = measure(n - n % size, min_time, || {
                refs.chunks_exact(size)
                    .all(|c| engine.verify_batch(SUITE, c).expect("engine").all_valid())
            });
            eng[k].push(rate, t.into_iter().map(|d| d / (n / size) as u32).collect());
            let (rate, t) = measure(n - n % size, min_time, || {
                (0..n / size).all(|b| {
                    let range = b * size..(b + 1) * size;
                    blst_batch(&items, range.clone(), &pks, &decoded[range], false)
                })
            });
            blst_pre[k].push(rate, t.into_iter().map(|d| d / (n / size) as u32).collect());
        }
        let (rate, t) = measure(n, min_time, || naive(&items, &pks, 1));
        naive1.push(rate, t);
        let (rate, t) = measure(n, min_time, || naive(&items, &pks, cores));
        naive_all.push(rate, t);

        let report = load(&bin, &server.url, &batch_file, args.clients, args.seconds)?;
        if report.errors > 0 || report.mismatches > 0 {
            bail!("load run had errors: {:?}", report.first_error);
        }
        service.rate.push(report.signatures_per_s);
        service.p50.push(report.latency.p50_ms);
        service.p99.push(report.latency.p99_ms);
        svc_rps.push(report.requests_per_s);
        rejected += report.rejected;
    }
    drop(server);
    let _ = std::fs::remove_file(&batch_file);

    let k_max = args
        .batch_sizes
        .iter()
        .position(|&s| s == max_batch)
        .context("max batch")?;
    let svc = median(service.rate.clone());
    let raw_best = median(raw[k_max].rate.clone());
    let eng_best = median(eng[k_max].rate.clone());
    let naive_best = median(naive_all.rate.clone());
    let load_avg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();

    let mut s = String::new();
    s.push_str("## Service (CPU)\n\n");
    s.push_str(&format!(
        "Command: `cargo run --release -p tollgate-bench --bin service -- --rounds {} --seconds {} --clients {} \
         --request-items {} --batch-sizes {} --keys {}`.\n\n",
        args.rounds,
        args.seconds,
        args.clients,
        args.request_items,
        args.batch_sizes.iter().map(|b| b.to_string()).collect::<Vec<_>>().join(","),
        args.keys
    ));
    s.push_str(&format!(
        "One run on this machine ({cores} cores; load average at the end: {}): suite pop/min_pk, 32-byte \
         messages, {} distinct keys. Every figure is the median of {} interleaved rounds. In-process figures \
         use blst's own thread pool (all cores), as the service's engine does; latency there is per engine batch. \
         The service is `tollgate serve --max-batch-size {max_batch}` (other settings default) loaded over \
         loopback by `tollgate load --clients {} --duration {}` with {}-item `/v1/verify` requests; the load \
         generator runs on the same cores. Its latency is per HTTP request.\n\n",
        load_avg.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        args.keys,
        args.rounds,
        args.clients,
        args.seconds,
        args.request_items
    ));
    s.push_str("| what | per | signatures/s | p50 ms | p99 ms |\n|---|---|---|---|---|\n");
    for (k, &size) in args.batch_sizes.iter().enumerate() {
        s.push_str(&raw[k].row(
            &format!("raw blst `verify_multiple_aggregate_signatures`, sigs from bytes (decompress + subgroup check), batch {size}"),
            "batch",
        ));
        s.push('\n');
        s.push_str(&blst_pre[k].row(
            &format!(
                "raw blst `verify_multiple_aggregate_signatures`, pre-decoded items, batch {size}"
            ),
            "batch",
        ));
        s.push('\n');
        s.push_str(&eng[k].row(
            &format!("tollgate `CpuEngine::verify_batch` (Σ rᵢσᵢ by multi-scalar multiplication), pre-decoded items, batch {size}"),
            "batch",
        ));
        s.push('\n');
    }
    s.push_str(&naive1.row(
        "naive per-signature `verify` (decompress, subgroup check, 2 pairings), 1 thread",
        &format!("{n} sigs"),
    ));
    s.push('\n');
    s.push_str(&naive_all.row(
        &format!("naive per-signature `verify`, {cores} threads"),
        &format!("{n} sigs"),
    ));
    s.push('\n');
    s.push_str(&service.row(
        &format!(
            "**service** over HTTP, {} clients × {}-item requests",
            args.clients, args.request_items
        ),
        "request",
    ));
    s.push_str("\n\n");
    s.push_str(&format!(
        "Service: {:.1} requests/s (median), {} requests rejected with 429 over all rounds.\n\n",
        median(svc_rps),
        rejected
    ));
    s.push_str("| ratio | value | target |\n|---|---|---|\n");
    s.push_str(&format!(
        "| service / raw blst batch {max_batch} (same decoding work) | {:.3} | ≥ 0.90 |\n",
        svc / raw_best
    ));
    s.push_str(&format!(
        "| service / `CpuEngine` batch {max_batch} (pre-decoded) | {:.3} | — |\n",
        svc / eng_best
    ));
    s.push_str(&format!(
        "| `CpuEngine` / raw blst, both pre-decoded, batch {max_batch} (the multi-scalar multiplication's gain) | {:.3} | — |\n",
        eng_best / median(blst_pre[k_max].rate.clone())
    ));
    s.push_str(&format!(
        "| service / naive per-signature, {cores} threads | {:.2} | ≥ 2 |\n",
        svc / naive_best
    ));
    s.push_str(&format!(
        "| service / naive per-signature, 1 thread | {:.2} | — |\n",
        svc / median(naive1.rate.clone())
    ));
    println!("{s}");
    if args.out != "-" {
        write_section(Path::new(&args.out), &s)?;
        eprintln!("wrote the section to {}", args.out);
    }
    Ok(())
}

/// Replaces (or appends) this benchmark's own `## Service (CPU)` section, leaving the others.
fn write_section(path: &Path, section: &str) -> anyhow::Result<()> {
    let old =
        std::fs::read_to_string(path).unwrap_or_else(|_| "# Tollgate benchmark results\n".into());
    let header = "## Service (CPU)";
    let new = match old.find(header) {
        Some(start) => {
            let rest = &old[start + header.len()..];
            let end = rest
                .find("\n## ")
                .map_or(old.len(), |i| start + header.len() + i + 1);
            let tail = &old[end..];
            let gap = if tail.is_empty() { "" } else { "\n" };
            format!("{}{}{}{}", &old[..start], section, gap, tail)
        }
        None => format!(
            "{}\n{}",
            old.trim_end_matches('\n').to_string() + "\n",
            section
        ),
    };
    std::fs::write(path, new)?;
    Ok(())
}
