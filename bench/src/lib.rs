//! Tollgate benchmarks: see bench/RESULTS.md.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::{bail, Context};
use blst::min_pk;
use tollgate::client::load::LoadReport;
use tollgate::engine::device::drivers::abi::{self, Opcode};
use tollgate::engine::device::drivers::codec;

/// A `tollgate serve` child process on a free loopback port, killed when dropped.
pub struct Server {
    child: Child,
    /// `http://ADDR`.
    pub url: String,
}

impl Server {
    /// Starts `bin serve --listen 127.0.0.1:0 EXTRA...` and waits for its listening line.
    pub fn start(bin: &Path, extra: &[&str]) -> anyhow::Result<Server> {
        let mut child = Command::new(bin)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .env("TOLLGATE_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let mut lines = BufReader::new(child.stdout.take().context("server stdout")?).lines();
        let line = lines.next().context("the server exited")??;
        let addr = line
            .trim()
            .strip_prefix("tollgate listening on ")
            .with_context(|| format!("unexpected first line {line:?}"))?
            .to_string();
        // Kept reading so that a later line (one per further bound address) never blocks it.
        std::thread::spawn(move || lines.for_each(drop));
        Ok(Server {
            url: format!("http://{addr}"),
            child,
        })
    }

    /// Resident memory now and at its peak, in MiB (Linux `/proc`; 0 elsewhere).
    pub fn rss_mib(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
                .unwrap_or(0.0)
                / 1024.0
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// CPU time the server has used so far (user + system), in seconds (Linux `/proc`; 0
    /// elsewhere). Per item of work it is a steadier figure than throughput on a shared machine:
    /// other processes' load stretches the wall time, much less the CPU time.
    pub fn cpu_seconds(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
        let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let ticks: f64 = after_name
            .split_whitespace()
            .skip(11)
            .take(2)
            .filter_map(|t| t.parse::<f64>().ok())
            .sum();
        // /proc counts in USER_HZ, which Linux fixes at 100 for user space.
        ticks / 100.0
    }

    /// `ADDR` without the scheme.
    pub fn addr(&self) -> &str {
        self.url.trim_start_matches("http://")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One `tollgate load` run of `seconds` with `clients` clients posting `batch` to `url`.
pub fn load(
    bin: &Path,
    url: &str,
    batch: &Path,
    clients: usize,
    seconds: f64,
) -> anyhow::Result<LoadReport> {
    let out = Command::new(bin)
        .args(["load", "--server", url, "--batch"])
        .arg(batch)
        .args(["--clients", &clients.to_string()])
        .args(["--duration", &seconds.to_string(), "--json"])
        .output()?;
    if !out.status.success() {
        bail!(
            "tollgate load failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// CPU time so far of this process (all threads: `libc::CLOCK_PROCESS_CPUTIME_ID`) or of the
/// calling thread (`libc::CLOCK_THREAD_CPUTIME_ID`). On a shared machine wall time also
/// counts the time other processes held the cores; CPU time does not.
pub fn cpu_time(clock: libc::clockid_t) -> std::time::Duration {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec to write; both clocks exist on Linux.
    let rc = unsafe { libc::clock_gettime(clock, &mut t) };
    assert_eq!(rc, 0, "clock_gettime({clock})");
    std::time::Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// The machine's load averages (1, 5, 15 min) as `/proc/loadavg` gives them, for the record.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// The median (the mean of the middle two for an even count).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// A device job's cycles as a fixed part plus a part per round: the least-squares line
/// through the measured jobs' (rounds, cycles) of one opcode (all per round if only one size
/// was measured).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PerRound {
    pub fixed: f64,
    pub per_round: f64,
}

impl PerRound {
    pub fn fit(jobs: &[(f64, f64)]) -> PerRound {
        let n = jobs.len() as f64;
        let mean_r = jobs.iter().map(|j| j.0).sum::<f64>() / n;
        let mean_c = jobs.iter().map(|j| j.1).sum::<f64>() / n;
        let sxx: f64 = jobs.iter().map(|j| (j.0 - mean_r).powi(2)).sum();
        let sxy: f64 = jobs.iter().map(|j| (j.0 - mean_r) * (j.1 - mean_c)).sum();
        let per_round = if sxx > 0.0 {
            sxy / sxx
        } else {
            mean_c / mean_r
        };
        PerRound {
            fixed: mean_c - per_round * mean_r,
            per_round,
        }
    }

    /// The cycles of a job of `rounds` rounds.
    pub fn cycles(&self, rounds: f64) -> f64 {
        self.fixed + self.per_round * rounds
    }
}

/// Writes `body` as the `### {sub}` subsection of the `## {section}` section of RESULTS.md,
/// replacing that subsection if present and leaving everything else (other benchmarks own the
/// other subsections and sections).
pub fn write_subsection(path: &Path, section: &str, sub: &str, body: &str) -> std::io::Result<()> {
    let old =
        std::fs::read_to_string(path).unwrap_or_else(|_| "# Tollgate benchmark results\n".into());
    let block = format!("### {sub}\n\n{}\n", body.trim_end());
    let section_header = format!("## {section}\n");
    let new = match old.find(&section_header) {
        None => format!(
            "{}\n{section_header}\n{block}",
            old.trim_end().to_string() + "\n"
        ),
        Some(start) => {
            let body_start = start + section_header.len();
            let section_end = old[body_start..]
                .find("\n## ")
                .map_or(old.len(), |i| body_start + i + 1);
            let sub_header = format!("### {sub}\n");
            match old[body_start..section_end].find(&sub_header) {
                Some(i) => {
                    let sub_start = body_start + i;
                    let after = sub_start + sub_header.len();
                    let sub_end = old[after..section_end]
                        .find("\n### ")
                        .map_or(section_end, |j| after + j + 1);
                    let gap = if sub_end < old.len() { "\n" } else { "" };
                    format!("{}{block}{gap}{}", &old[..sub_start], &old[sub_end..])
                }
                None => {
                    let before = old[..section_end].trim_end().to_string();
                    let gap = if section_end < old.len() { "\n" } else { "" };
                    format!("{before}\n\n{block}{gap}{}", &old[section_end..])
                }
            }
        }
    };
    std::fs::write(path, new)
}

/// `n` device items of `opcode` (ABI words) with real points — keys in G1, signatures over
/// distinct messages in G2 — and non-zero scalars: the device benchmarks' input.
pub fn device_items(opcode: Opcode, n: usize) -> Vec<u32> {
    let mut words = Vec::with_capacity(n * opcode.item_words());
    for i in 0..n {
        if opcode.has_scalars() {
            words.extend(codec::encode_scalar(
                0x9E37_79B9_7F4A_7C15u64.wrapping_mul(i as u64 + 1) | 1,
            ));
        }
        let mut ikm = [7u8; 32];
        ikm[..8].copy_from_slice(&(i as u64).to_le_bytes());
        let sk = min_pk::SecretKey::key_gen(&ikm, &[]).expect("32 bytes of key material");
        match opcode.group() {
            abi::Group::G1 => words.extend(codec::encode_g1_point((&sk.sk_to_pk()).into())),
            abi::Group::G2 => {
                let message = format!("item {i}");
                let signature = sk.sign(message.as_bytes(), DEVICE_ITEMS_DST, &[]);
                words.extend(codec::encode_g2_point((&signature).into()));
            }
        }
    }
    words
}

const DEVICE_ITEMS_DST: &[u8] = b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";
