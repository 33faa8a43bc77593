//! "Under attack" (c): honest throughput while 50 slow clients hold connections, as a ratio of
//! the same run without them. Slow clients are what slowloris does: half stall in their request
//! head, half send a head announcing a large body and then trickle it a byte a second; each
//! reconnects as soon as the server cuts it (header and body timeouts), so the attack never
//! lets go. Honest load is `tollgate load` (release binary) posting a fixed batch; rounds with
//! and without the attack alternate so other load on the machine hits both alike.
//!
//! Run: `cargo build --release -p tollgate && cargo run -p tollgate-bench --bin slow_clients`
//! (writes the "(c)" subsection of "## Under attack" in bench/RESULTS.md). This binary only
//! orchestrates (sockets that sleep, child processes): the server and the honest load it
//! measures are the release `tollgate`, so it need not be built in release itself.

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use clap::Parser;
use tollgate::client::load::LoadReport;
use tollgate::client::{generate_batch, BatchSpec, Corruption};
use tollgate::suite::Suite;
use tollgate_bench::{median, Server};

#[derive(Debug, Parser)]
struct Args {
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
    /// Slow clients during the attack rounds.
    #[arg(long, default_value_t = 50)]
    slow: usize,
    /// The release `tollgate` binary.
    #[arg(long, default_value = "target/release/tollgate")]
    tollgate: PathBuf,
    /// Where to write the subsection ("-" for standard output only).
    #[arg(long, default_value = "bench/RESULTS.md")]
    out: String,
}

/// One slow client until `stop`: connect, stall (in the head or in the body), trickle a byte
/// a second, reconnect when cut. Counts the cuts.
fn slow_client(addr: String, in_head: bool, stop: Arc<AtomicBool>, cuts: Arc<AtomicU64>) {
    let head: &[u8] = if in_head {
        b"POST /v1/verify HTTP/1.1\r\nHost: t\r\n"
    } else {
        b"POST /v1/verify HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n\
          Content-Length: 1000000\r\n\r\n{\"items\": ["
    };
    let trickle: &[u8] = if in_head { b"X" } else { b" " };
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut stream) = TcpStream::connect(&addr) else {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        };
        if stream.write_all(head).is_err() {
            continue;
        }
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_secs(1));
            // A write to a connection the server closed fails (at the latest the second time).
            if stream.write_all(trickle).is_err() {
                cuts.fetch_add(1, Ordering::Relaxed);
                break;
            }
        }
    }
}

fn load(bin: &Path, addr: &str, batch: &Path, args: &Args) -> anyhow::Result<LoadReport> {
    let out = Command::new(bin)
        .args(["load", "--server", &format!("http://{addr}"), "--batch"])
        .arg(batch)
        .args(["--clients", &args.clients.to_string()])
        .args(["--duration", &args.seconds.to_string(), "--json"])
        .output()?;
    if !out.status.success() {
        bail!(
            "tollgate load failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let report: LoadReport = serde_json::from_slice(&out.stdout)?;
    if report.errors > 0 || report.mismatches > 0 {
        bail!("honest load saw errors or wrong verdicts: {report:?}");
    }
    Ok(report)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let bin = args.tollgate.clone();
    if !bin.exists() {
        bail!(
            "{} not found: cargo build --release -p tollgate",
            bin.display()
        );
    }
    let batch = generate_batch(&BatchSpec {
        items: args.request_items,
        suite: Suite::default(),
        keys: 16,
        message_len: 32,
        corruption: Corruption::None,
        seed: Some(3),
    })?;
    let batch_file = std::env::temp_dir().join(format!("slow-clients-{}.json", std::process::id()));
    std::fs::write(&batch_file, serde_json::to_vec(&batch.request)?)?;
    let server = Server::start(&bin, &[])?;

    let (mut calm, mut attacked, mut p99_calm, mut p99_attacked) = (vec![], vec![], vec![], vec![]);
    let mut cut_rates = vec![];
    for round in 0..args.rounds {
        let report = load(&bin, server.addr(), &batch_file, &args)?;
        eprintln!("round {round} calm: {:.0} sig/s", report.signatures_per_s);
        calm.push(report.signatures_per_s);
        p99_calm.push(report.latency.p99_ms);

        let stop = Arc::new(AtomicBool::new(false));
        let cuts = Arc::new(AtomicU64::new(0));
        let slow: Vec<_> = (0..args.slow)
            .map(|i| {
                let (addr, stop, cuts) = (server.addr().to_string(), stop.clone(), cuts.clone());
                std::thread::spawn(move || slow_client(addr, i % 2 == 0, stop, cuts))
            })
            .collect();
        // Let every slow client take its connection before the honest load starts.
        std::thread::sleep(Duration::from_secs(1));
        let started = Instant::now();
        let report = load(&bin, server.addr(), &batch_file, &args);
        let held = started.elapsed().as_secs_f64();
        stop.store(true, Ordering::Relaxed);
        for thread in slow {
            let _ = thread.join();
        }
        let report = report?;
        eprintln!(
            "round {round} attacked: {:.0} sig/s, {} slow connections cut",
            report.signatures_per_s,
            cuts.load(Ordering::Relaxed)
        );
        attacked.push(report.signatures_per_s);
        p99_attacked.push(report.latency.p99_ms);
        cut_rates.push(cuts.load(Ordering::Relaxed) as f64 / held);
    }
    let _ = std::fs::remove_file(&batch_file);
    let (calm_m, attacked_m) = (median(calm.clone()), median(attacked.clone()));
    let body = format!(
        "Honest load: `tollgate load`, {clients} clients, {items}-item /v1/verify requests \
         (pop, min_pk), {secs} s per round, {rounds} rounds of each kind alternating, medians. \
         Attack: {slow} slow clients (half stalled in the request head, half trickling a body \
         one byte a second), each reconnecting at once when cut; server defaults \
         (header timeout 5 s, body timeout 10 s, 2 HTTP workers). The machine was shared with \
         other engineers' builds: absolute figures are noisy, the ratio compares rounds run \
         side by side.\n\n\
         | run | honest sig/s (median) | p99 ms (median) | rounds (sig/s) |\n|---|---|---|---|\n\
         | without attack | {calm_m:.0} | {:.1} | {calm:?} |\n\
         | {slow} slow clients | {attacked_m:.0} | {:.1} | {attacked:?} |\n\n\
         **Ratio with/without: {:.2}** (target ≥ 0.8). Slow connections cut by the server: \
         {:.1}/s (median).\n\n\
         Command: `cargo build --release -p tollgate && cargo run -p tollgate-bench \
         --bin slow_clients`",
        median(p99_calm),
        median(p99_attacked),
        attacked_m / calm_m,
        median(cut_rates),
        clients = args.clients,
        items = args.request_items,
        secs = args.seconds,
        rounds = args.rounds,
        slow = args.slow,
        calm = calm.iter().map(|r| r.round() as u64).collect::<Vec<_>>(),
        attacked = attacked
            .iter()
            .map(|r| r.round() as u64)
            .collect::<Vec<_>>(),
    );
    println!("{body}");
    if args.out != "-" {
        tollgate_bench::write_subsection(
            Path::new(&args.out),
            "Under attack",
            "(c) 50 slow clients hold connections",
            &body,
        )?;
        eprintln!("wrote the subsection to {}", args.out);
    }
    Ok(())
}
