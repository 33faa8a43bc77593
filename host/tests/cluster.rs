//! deploy/local-cluster.sh with 3 replicas behind HAProxy: a load run through the balancer
//! while one replica restarts gracefully and another is killed with SIGKILL. Every request is
//! answered with the exact per-item verdicts, none fails, the killed replica is marked down,
//! and requests keep being served on the two that are left. Loopback only, about 20 s.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;
use tollgate::client::load::{run_load, Limit, LoadPlan, LoadReport};
use tollgate::client::{generate_batch, BatchSpec, Corruption};
use tollgate::suite::Suite;

#[derive(Debug, Deserialize)]
struct Replica {
    pid: u32,
    url: String,
}

#[derive(Debug, Deserialize)]
struct ClusterInfo {
    lb: String,
    replicas: Vec<Replica>,
}

/// A cluster started by the script in its own state directory, stopped when dropped.
struct Cluster {
    state: PathBuf,
}

impl Cluster {
    fn script(&self, args: &[&str]) -> Output {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/local-cluster.sh");
        Command::new("bash")
            .arg(script)
            .args(args)
            .env("TOLLGATE_BIN", env!("CARGO_BIN_EXE_tollgate"))
            .env("TOLLGATE_CLUSTER_DIR", &self.state)
            .env("TOLLGATE_LOG", "warn")
            // Three replicas share this machine's cores: one HTTP worker each.
            .env("TOLLGATE_HTTP_WORKERS", "1")
            .output()
            .expect("run local-cluster.sh")
    }

    fn run(&self, args: &[&str]) -> ClusterInfo {
        let out = self.script(args);
        assert!(
            out.status.success(),
            "local-cluster.sh {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "local-cluster.sh {args:?} printed no cluster JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let out = self.script(&["down"]);
        if !out.status.success() {
            eprintln!("down: {}", String::from_utf8_lossy(&out.stderr));
        }
        let _ = std::fs::remove_dir_all(&self.state);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn get(url: &str) -> (u16, String) {
    match ureq::get(url).timeout(Duration::from_secs(5)).call() {
        Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
        Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap_or_default()),
        Err(e) => panic!("GET {url}: {e}"),
    }
}

/// HAProxy's view of replica `name` (`UP`, `DOWN`, ...), from its Prometheus exporter.
fn lb_state(lb: &str, name: &str) -> Option<String> {
    let (_, metrics) = get(&format!("{lb}/haproxy/metrics"));
    let prefix = format!("haproxy_server_status{{proxy=\"replicas\",server=\"{name}\",state=\"");
    metrics.lines().find_map(|line| {
        let rest = line.strip_prefix(&prefix)?;
        let (state, value) = rest.split_once("\"} ")?;
        (value.trim() == "1").then(|| state.to_string())
    })
}

fn load(lb: &str, body: &tollgate::api::wire::VerifyRequest, seconds: u64) -> LoadReport {
    run_load(&LoadPlan {
        server: lb.to_string(),
        request: body.clone(),
        clients: 4,
        limit: Limit::Duration(Duration::from_secs(seconds)),
        timeout: Duration::from_secs(30),
        progress: false,
        probe: None,
    })
    .expect("load run")
}

fn assert_clean(phase: &str, r: &LoadReport) {
    eprintln!(
        "{phase}: {} ok, {} rejected, {} errors, {} wrong, {:.0} sig/s, p50 {:.1} ms, p99 {:.1} ms",
        r.requests_ok,
        r.rejected,
        r.errors,
        r.mismatches,
        r.signatures_per_s,
        r.latency.p50_ms,
        r.latency.p99_ms
    );
    assert!(r.requests_ok > 0, "{phase}: nothing answered");
    assert_eq!(
        (r.errors, r.mismatches, r.rejected),
        (0, 0, 0),
        "{phase}: failed requests (first: {:?})",
        r.first_error
    );
}

#[test]
fn restart_and_crash_under_load_lose_no_request() {
    let cluster = Cluster {
        state: std::env::temp_dir().join(format!("tollgate-cluster-test-{}", std::process::id())),
    };
    let info = cluster.run(&["up", "3", &free_port().to_string()]);
    assert_eq!(info.replicas.len(), 3);
    let lb = info.lb.clone();

    let generated = generate_batch(&BatchSpec {
        items: 32,
        suite: Suite::default(),
        keys: 8,
        message_len: 32,
        corruption: Corruption::Positions(vec![3, 17]),
        seed: Some(13),
    })
    .expect("batch");
    // The warm-up answer every load request is compared with: exact, item by item.
    let answer = ureq::post(&format!("{lb}/v1/verify"))
        .send_string(&serde_json::to_string(&generated.request).unwrap())
        .expect("verify through the balancer")
        .into_string()
        .unwrap();
    let answer: Value = serde_json::from_str(&answer).expect("JSON answer");
    let verdicts: Vec<bool> = answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["valid"].as_bool().unwrap())
        .collect();
    let expected: Vec<bool> = (0..32).map(|i| !generated.bad.contains(&i)).collect();
    assert_eq!(verdicts, expected);

    // Each replica's metrics are reachable through the balancer, and only that replica's.
    for (i, replica) in info.replicas.iter().enumerate() {
        let (status, text) = get(&format!("{lb}/replicas/r{}/metrics", i + 1));
        assert_eq!(status, 200);
        assert!(text.contains("tollgate_build_info"), "{}", replica.url);
    }
    assert_eq!(get(&format!("{lb}/replicas/r9/metrics")).0, 503);

    let baseline = load(&lb, &generated.request, 2);
    assert_clean("baseline", &baseline);

    // Graceful restart of replica 2 under load.
    let restart = std::thread::scope(|s| {
        let running = s.spawn(|| load(&lb, &generated.request, 7));
        std::thread::sleep(Duration::from_millis(500));
        let after = cluster.run(&["restart", "2"]);
        assert_ne!(
            after.replicas[1].pid, info.replicas[1].pid,
            "replica 2 not restarted"
        );
        running.join().expect("load thread")
    });
    assert_clean("graceful restart", &restart);

    // SIGKILL of replica 3 under load: HAProxy retries what it had sent there elsewhere.
    let killed = info.replicas[2].pid.to_string();
    let crash = std::thread::scope(|s| {
        let running = s.spawn(|| load(&lb, &generated.request, 5));
        std::thread::sleep(Duration::from_millis(500));
        let status = Command::new("kill")
            .args(["-KILL", &killed])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(5);
        while lb_state(&lb, "r3").as_deref() != Some("DOWN") {
            assert!(Instant::now() < deadline, "r3 not marked down");
            std::thread::sleep(Duration::from_millis(100));
        }
        running.join().expect("load thread")
    });
    assert_clean("crash", &crash);

    // Two replicas left on the same cores: the throughput recovers.
    let after = load(&lb, &generated.request, 2);
    assert_clean("after the crash", &after);
    assert!(
        after.signatures_per_s > 0.3 * baseline.signatures_per_s,
        "throughput did not recover: {:.0} sig/s after, {:.0} before",
        after.signatures_per_s,
        baseline.signatures_per_s
    );
    assert_eq!(lb_state(&lb, "r1").as_deref(), Some("UP"));
    assert_eq!(lb_state(&lb, "r2").as_deref(), Some("UP"));
}
