//! `tollgate load`: concurrent clients posting one `/v1/verify` batch again and again.
//!
//! Each client is a thread with its own keep-alive connection, so the generator stays cheap
//! next to the pairings it asks for. Every run is bounded, by a duration or a request count
//! (itself capped in time). An answer whose per-item verdicts differ in any item from the
//! warm-up's counts as a mismatch: a load run also checks that the server stays correct under
//! load.
//!
//! Mixed mode (`--probe`): beside the clients, one probe client posts a small interactive
//! request at a steady pace for as long as they run, and its latency is reported apart: what
//! a vehicle at a toll gate sees while bulk settlement saturates the server.

mod stats;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

pub use stats::{percentile, Latency};

use super::batch::{generate_batch, BatchSpec, Corruption};
use super::{ClientError, Server};
use crate::api::wire::{Priority, VerifyRequest};
use crate::suite::{Scheme, Suite, Variant};

/// When a run stops.
#[derive(Clone, Copy, Debug)]
pub enum Limit {
    /// Start no request after this long.
    Duration(Duration),
    /// Send this many requests in all, giving up after `cap`.
    Requests { count: u64, cap: Duration },
}

#[derive(Clone, Debug)]
pub struct LoadPlan {
    pub server: String,
    pub request: VerifyRequest,
    pub clients: usize,
    pub limit: Limit,
    pub timeout: Duration,
    pub progress: bool,
    /// Mixed mode: an interactive probe beside the clients.
    pub probe: Option<Probe>,
}

/// One client posting `request` every `interval` (after the previous answer) while the main
/// clients run.
#[derive(Clone, Debug)]
pub struct Probe {
    pub request: VerifyRequest,
    pub interval: Duration,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoadReport {
    pub clients: usize,
    pub items_per_request: usize,
    /// Requests answered 200 with the expected verdicts.
    pub requests_ok: u64,
    /// Requests answered 429 (queue full); not retried, not in the latency figures.
    pub rejected: u64,
    /// Transport failures and unexpected statuses.
    pub errors: u64,
    /// 200 answers whose per-item verdicts differ from the warm-up's.
    pub mismatches: u64,
    pub first_error: Option<String>,
    pub elapsed_s: f64,
    pub requests_per_s: f64,
    pub signatures_per_s: f64,
    pub latency: Latency,
    /// The probe's own figures in mixed mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<Box<LoadReport>>,
}

/// The verdicts of a /v1/verify answer, item by item.
#[derive(Deserialize, PartialEq)]
struct Verdicts {
    results: Vec<serde_json::Value>,
    valid: usize,
    invalid: usize,
}

#[derive(Default)]
struct Tally {
    ok: u64,
    rejected: u64,
    errors: u64,
    mismatches: u64,
    first_error: Option<String>,
    latencies: Vec<Duration>,
}

impl Tally {
    fn error(&mut self, what: String) {
        self.errors += 1;
        self.first_error.get_or_insert(what);
    }

    fn merge(&mut self, other: Tally) {
        self.ok += other.ok;
        self.rejected += other.rejected;
        self.errors += other.errors;
        self.mismatches += other.mismatches;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        self.latencies.extend(other.latencies);
    }
}

/// A request body with the verdict counts its warm-up got.
struct Prepared {
    body: Arc<String>,
    expected: Verdicts,
    items: usize,
}

/// Sends one warm-up request (it also fills the server's key cache) and keeps its counts.
fn prepare(plan: &LoadPlan, request: &VerifyRequest) -> Result<Prepared, ClientError> {
    let body = serde_json::to_string(request).map_err(|source| ClientError::Json {
        what: "the batch".into(),
        source,
    })?;
    let warm = Server::new(&plan.server, plan.timeout).post_ok("/v1/verify", &body)?;
    let expected: Verdicts = serde_json::from_str(&warm).map_err(|source| ClientError::Json {
        what: "the verify answer".into(),
        source,
    })?;
    Ok(Prepared {
        body: Arc::new(body),
        expected,
        items: request.items.len(),
    })
}

/// Warms up, then runs the clients (and the probe in mixed mode).
pub fn run_load(plan: &LoadPlan) -> Result<LoadReport, ClientError> {
    if plan.clients == 0 {
        return Err(ClientError::Usage("at least one client is needed".into()));
    }
    let main = prepare(plan, &plan.request)?;
    let probe = match &plan.probe {
        Some(probe) => Some((prepare(plan, &probe.request)?, probe.interval)),
        None => None,
    };

    let bar = progress_bar(plan);
    let issued = Arc::new(AtomicU64::new(0));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let start = Instant::now();
    let (deadline, count) = match plan.limit {
        Limit::Duration(d) => (start + d, u64::MAX),
        Limit::Requests { count, cap } => (start + cap, count),
    };
    let clients_done = AtomicBool::new(false);
    let probe_tally = std::thread::scope(|scope| {
        let probe = probe.as_ref().map(|(prepared, interval)| {
            let server = Server::new(&plan.server, plan.timeout);
            let clients_done = &clients_done;
            scope.spawn(move || {
                let mut mine = Tally::default();
                while !clients_done.load(Ordering::Relaxed) && Instant::now() < deadline {
                    one_request(&server, &prepared.body, &prepared.expected, &mut mine);
                    std::thread::sleep(*interval);
                }
                mine
            })
        });
        let clients: Vec<_> = (0..plan.clients)
            .map(|_| {
                let (body, issued, tally, bar) = (
                    Arc::clone(&main.body),
                    Arc::clone(&issued),
                    Arc::clone(&tally),
                    bar.clone(),
                );
                let server = Server::new(&plan.server, plan.timeout);
                let expected = &main.expected;
                scope.spawn(move || {
                    let mut mine = Tally::default();
                    while Instant::now() < deadline
                        && issued.fetch_add(1, Ordering::Relaxed) < count
                    {
                        one_request(&server, &body, expected, &mut mine);
                        if matches!(plan.limit, Limit::Requests { .. }) {
                            bar.inc(1);
                        }
                    }
                    tally
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .merge(mine);
                })
            })
            .collect();
        if let Limit::Duration(d) = plan.limit {
            // The bar shows elapsed time; workers only count.
            while start.elapsed() < d {
                std::thread::sleep(Duration::from_millis(100));
                bar.set_position(start.elapsed().as_millis().min(d.as_millis()) as u64);
            }
        }
        for client in clients {
            // A client thread only panics on a bug in this module; its figures are then lost.
            let _ = client.join();
        }
        clients_done.store(true, Ordering::Relaxed);
        probe.and_then(|p| p.join().ok())
    });
    let elapsed = start.elapsed().as_secs_f64();
    bar.finish_and_clear();

    let tally = std::mem::take(
        &mut *tally
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()),
    );
    let probe = probe_tally
        .zip(probe.as_ref())
        .map(|(t, (prepared, _))| Box::new(report(1, prepared.items, t, elapsed)));
    Ok(LoadReport {
        probe,
        ..report(plan.clients, main.items, tally, elapsed)
    })
}

fn report(clients: usize, items: usize, tally: Tally, elapsed: f64) -> LoadReport {
    LoadReport {
        clients,
        items_per_request: items,
        requests_ok: tally.ok,
        rejected: tally.rejected,
        errors: tally.errors,
        mismatches: tally.mismatches,
        first_error: tally.first_error,
        elapsed_s: elapsed,
        requests_per_s: tally.ok as f64 / elapsed,
        signatures_per_s: (tally.ok as f64 * items as f64) / elapsed,
        latency: Latency::of(tally.latencies),
        probe: None,
    }
}

fn one_request(server: &Server, body: &str, expected: &Verdicts, tally: &mut Tally) {
    let sent = Instant::now();
    match server.post("/v1/verify", body) {
        Ok(reply) if reply.status == 200 => {
            let took = sent.elapsed();
            match serde_json::from_str::<Verdicts>(&reply.body) {
                Ok(v) if v == *expected => {
                    tally.ok += 1;
                    tally.latencies.push(took);
                }
                Ok(v) => {
                    tally.mismatches += 1;
                    tally.first_error.get_or_insert(format!(
                        "verdicts differ from the warm-up's ({}/{} valid/invalid, warm-up {}/{})",
                        v.valid, v.invalid, expected.valid, expected.invalid
                    ));
                }
                Err(e) => tally.error(format!("unreadable answer: {e}")),
            }
        }
        Ok(reply) if reply.status == 429 => {
            tally.rejected += 1;
            // Back off as asked, but briefly: the run is bounded and a slot frees up fast.
            let wait = reply
                .retry_after
                .map_or(Duration::from_millis(20), Duration::from_secs);
            std::thread::sleep(wait.min(Duration::from_millis(50)));
        }
        Ok(reply) => tally.error(format!("status {}: {}", reply.status, reply.body)),
        Err(e) => {
            tally.error(e.to_string());
            // A refused connection fails at once; do not spin.
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

fn progress_bar(plan: &LoadPlan) -> ProgressBar {
    if !plan.progress {
        return ProgressBar::hidden();
    }
    let (len, template) = match plan.limit {
        Limit::Duration(d) => (
            d.as_millis() as u64,
            "{spinner} load [{elapsed_precise}] {wide_bar} {percent}% of the duration",
        ),
        Limit::Requests { count, .. } => (
            count,
            "{spinner} load [{elapsed_precise}] {wide_bar} {pos}/{len} requests ({per_sec})",
        ),
    };
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

#[derive(Debug, clap::Args)]
pub struct LoadArgs {
    /// Base URL of the server.
    #[arg(long, env = "TOLLGATE_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// The /v1/verify request to send (e.g. from `tollgate gen-batch`); generated when absent.
    #[arg(long)]
    batch: Option<PathBuf>,
    /// Items per generated request.
    #[arg(short = 'n', long, default_value_t = 64, conflicts_with = "batch")]
    items: usize,
    #[arg(long, value_enum, default_value_t = Scheme::Pop, conflicts_with = "batch")]
    scheme: Scheme,
    #[arg(long, value_enum, default_value_t = Variant::MinPk, conflicts_with = "batch")]
    variant: Variant,
    /// Distinct signing keys in a generated request.
    #[arg(long, default_value_t = 16, conflicts_with = "batch")]
    keys: usize,
    /// Latency class of the clients' requests (a --batch file keeps its own unless given).
    #[arg(long, value_enum)]
    priority: Option<Priority>,
    /// Concurrent clients.
    #[arg(short, long, default_value_t = 4)]
    clients: usize,
    /// Mixed mode: also run an interactive probe posting requests of --probe-items items,
    /// and report its latency apart.
    #[arg(long)]
    probe: bool,
    /// Items per probe request.
    #[arg(long, default_value_t = 1, requires = "probe")]
    probe_items: usize,
    /// Pause of the probe between an answer and its next request, in milliseconds.
    #[arg(long, default_value_t = 20, requires = "probe")]
    probe_interval_ms: u64,
    /// Run for this many seconds.
    #[arg(short, long, default_value_t = 10.0, conflicts_with = "requests")]
    duration: f64,
    /// Send this many requests instead of running for a duration.
    #[arg(short, long)]
    requests: Option<u64>,
    /// Give up on a request-count run after this many seconds.
    #[arg(long, default_value_t = 600.0)]
    max_seconds: f64,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// No progress bar.
    #[arg(short, long)]
    quiet: bool,
}

pub fn run(args: LoadArgs) -> anyhow::Result<()> {
    let mut request: VerifyRequest = match &args.batch {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| ClientError::Io {
                path: path.display().to_string(),
                source,
            })?;
            serde_json::from_str(&text).map_err(|source| ClientError::Json {
                what: path.display().to_string(),
                source,
            })?
        }
        None => generate(args.items, args.scheme, args.variant, args.keys)?,
    };
    if let Some(priority) = args.priority {
        request.priority = priority;
    }
    let probe = match args.probe {
        true => Some(Probe {
            request: VerifyRequest {
                priority: Priority::Interactive,
                ..generate(args.probe_items, args.scheme, args.variant, args.keys)?
            },
            interval: Duration::from_millis(args.probe_interval_ms),
        }),
        false => None,
    };
    let seconds = |s: f64| {
        Duration::try_from_secs_f64(s)
            .map_err(|_| ClientError::Usage(format!("{s} is not a duration in seconds")))
    };
    let limit = match args.requests {
        Some(count) => Limit::Requests {
            count,
            cap: seconds(args.max_seconds)?,
        },
        None => Limit::Duration(seconds(args.duration)?),
    };
    let plan = LoadPlan {
        server: args.server,
        request,
        clients: args.clients,
        limit,
        timeout: Duration::from_secs(args.timeout),
        progress: !args.quiet && !args.json,
        probe,
    };
    let report = run_load(&plan)?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_report(&report);
    }
    for r in std::iter::once(&report).chain(report.probe.as_deref()) {
        if r.errors > 0 || r.mismatches > 0 {
            anyhow::bail!(
                "{} errors and {} wrong verdicts under load (first: {})",
                r.errors,
                r.mismatches,
                r.first_error.as_deref().unwrap_or("-")
            );
        }
    }
    Ok(())
}

/// A valid generated batch of `items` items.
fn generate(
    items: usize,
    scheme: Scheme,
    variant: Variant,
    keys: usize,
) -> Result<VerifyRequest, ClientError> {
    let spec = BatchSpec {
        items,
        suite: Suite::new(scheme, variant),
        keys,
        message_len: 32,
        corruption: Corruption::None,
        seed: None,
    };
    Ok(generate_batch(&spec)?.request)
}

fn print_report(r: &LoadReport) {
    println!(
        "{} clients, {} requests answered ({} rejected with 429, {} errors), {} items each, {:.2} s",
        r.clients, r.requests_ok, r.rejected, r.errors, r.items_per_request, r.elapsed_s
    );
    println!(
        "throughput: {:.0} signatures/s, {:.1} requests/s",
        r.signatures_per_s, r.requests_per_s
    );
    let l = &r.latency;
    println!(
        "latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}  mean {:.2}",
        l.p50_ms, l.p90_ms, l.p99_ms, l.max_ms, l.mean_ms
    );
    if let Some(p) = &r.probe {
        let l = &p.latency;
        println!(
            "interactive probe: {} requests answered ({} rejected with 429, {} errors), {} items each",
            p.requests_ok, p.rejected, p.errors, p.items_per_request
        );
        println!(
            "probe latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}  mean {:.2}",
            l.p50_ms, l.p90_ms, l.p99_ms, l.max_ms, l.mean_ms
        );
    }
}
