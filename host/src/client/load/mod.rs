//! `tollgate load`: concurrent clients posting one `/v1/verify` batch again and again.
//!
//! Each client is a thread with its own keep-alive connection, so the generator stays cheap
//! next to the pairings it asks for. Every run is bounded, by a duration or a request count
//! (itself capped in time). An answer whose per-item verdicts differ in any item from the
//! warm-up's counts as a mismatch: a load run also checks that the server stays correct under
//! load.

mod stats;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

pub use stats::{percentile, Latency};

use super::batch::{generate_batch, BatchSpec, Corruption};
use super::{ClientError, Server};
use crate::api::wire::VerifyRequest;
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

/// Sends one warm-up request (it also fills the server's key cache), then runs the clients.
pub fn run_load(plan: &LoadPlan) -> Result<LoadReport, ClientError> {
    if plan.clients == 0 {
        return Err(ClientError::Usage("at least one client is needed".into()));
    }
    let body =
        Arc::new(
            serde_json::to_string(&plan.request).map_err(|source| ClientError::Json {
                what: "the batch".into(),
                source,
            })?,
        );
    let warm = Server::new(&plan.server, plan.timeout).post_ok("/v1/verify", &body)?;
    let expected: Verdicts = serde_json::from_str(&warm).map_err(|source| ClientError::Json {
        what: "the verify answer".into(),
        source,
    })?;
    let expected = &expected;

    let bar = progress_bar(plan);
    let issued = Arc::new(AtomicU64::new(0));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let start = Instant::now();
    let (deadline, count) = match plan.limit {
        Limit::Duration(d) => (start + d, u64::MAX),
        Limit::Requests { count, cap } => (start + cap, count),
    };
    std::thread::scope(|scope| {
        for _ in 0..plan.clients {
            let (body, issued, tally, bar) = (
                Arc::clone(&body),
                Arc::clone(&issued),
                Arc::clone(&tally),
                bar.clone(),
            );
            let server = Server::new(&plan.server, plan.timeout);
            scope.spawn(move || {
                let mut mine = Tally::default();
                while Instant::now() < deadline && issued.fetch_add(1, Ordering::Relaxed) < count {
                    one_request(&server, &body, expected, &mut mine);
                    if matches!(plan.limit, Limit::Requests { .. }) {
                        bar.inc(1);
                    }
                }
                tally
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .merge(mine);
            });
        }
        if let Limit::Duration(d) = plan.limit {
            // The bar shows elapsed time; workers only count.
            while start.elapsed() < d {
                std::thread::sleep(Duration::from_millis(100));
                bar.set_position(start.elapsed().as_millis().min(d.as_millis()) as u64);
            }
        }
    });
    let elapsed = start.elapsed().as_secs_f64();
    bar.finish_and_clear();

    let tally = std::mem::take(
        &mut *tally
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()),
    );
    let items = plan.request.items.len();
    Ok(LoadReport {
        clients: plan.clients,
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
    })
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
    /// Concurrent clients.
    #[arg(short, long, default_value_t = 4)]
    clients: usize,
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
    let request = match &args.batch {
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
        None => {
            let spec = BatchSpec {
                items: args.items,
                suite: Suite::new(args.scheme, args.variant),
                keys: args.keys,
                message_len: 32,
                corruption: Corruption::None,
                seed: None,
            };
            generate_batch(&spec)?.request
        }
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
    };
    let report = run_load(&plan)?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_report(&report);
    }
    if report.errors > 0 || report.mismatches > 0 {
        anyhow::bail!(
            "{} errors and {} wrong verdicts under load (first: {})",
            report.errors,
            report.mismatches,
            report.first_error.as_deref().unwrap_or("-")
        );
    }
    Ok(())
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
}
