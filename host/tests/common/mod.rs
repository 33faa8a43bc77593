//! Shared by the server tests: a real `tollgate serve` child process on 127.0.0.1:0, a small
//! HTTP client, signed items for any suite (through the library's signer), and the arkworks
//! reference verifier.

#![allow(dead_code)] // each test binary uses its own subset of these helpers

pub mod ark_keys;
pub mod postgres;
pub mod reference;
#[cfg(feature = "sim")]
pub mod sim_engine;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use tollgate::api::wire::to_hex;
use tollgate::signer::SecretKey;
use tollgate::suite::Suite;

/// A `tollgate serve` child process, killed when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
    /// The key registry directory this server made for itself, removed when dropped.
    own_data_dir: Option<PathBuf>,
}

/// A fresh directory under the system temp dir (tests remove what they make).
pub fn temp_dir(tag: &str) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "tollgate-{tag}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

impl Server {
    /// Starts the binary on an ephemeral port with extra `serve` arguments and waits for the
    /// "tollgate listening on ADDR" line.
    pub fn start(extra: &[&str]) -> Server {
        Self::start_with_env(extra, &[])
    }

    /// Like `start`, with extra environment variables.
    pub fn start_with_env(extra: &[&str], env: &[(&str, &str)]) -> Server {
        // Each server gets its own key registry unless the test names one.
        let names_store = extra
            .iter()
            .any(|a| a.starts_with("--data-dir") || a.starts_with("--registry-url"))
            || env.iter().any(|(k, _)| k.starts_with("TOLLGATE_DATA_DIR"));
        let own_data_dir = (!names_store).then(|| temp_dir("data"));
        let mut command = Command::new(env!("CARGO_BIN_EXE_tollgate"));
        if let Some(dir) = &own_data_dir {
            command.env("TOLLGATE_DATA_DIR", dir);
        }
        let mut child = command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .env("TOLLGATE_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn tollgate serve");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let addr = loop {
            let line = lines
                .next()
                .expect("server exited before listening")
                .expect("read stdout");
            if let Some(addr) = line.strip_prefix("tollgate listening on ") {
                break addr.trim().to_string();
            }
        };
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server {
            child,
            base: format!("http://{addr}"),
            own_data_dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// POSTs a raw body; returns status, body and the Retry-After header.
    pub fn post_raw(&self, path: &str, body: &str) -> Response {
        let request = agent()
            .post(&self.url(path))
            .set("Content-Type", "application/json");
        into_response(request.send_string(body))
    }

    pub fn post(&self, path: &str, body: &Value) -> Response {
        self.post_raw(path, &body.to_string())
    }

    pub fn get(&self, path: &str) -> Response {
        into_response(agent().get(&self.url(path)).call())
    }

    /// The sum of every sample of metric `name` (all label sets) in a /metrics answer.
    pub fn metric_sum(&self, name: &str) -> f64 {
        self.get("/metrics")
            .body
            .lines()
            .filter(|l| {
                l.strip_prefix(name)
                    .is_some_and(|rest| rest.starts_with(' ') || rest.starts_with('{'))
            })
            .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
            .sum()
    }

    /// A registry write (`PUT`, `POST`, `DELETE`) with `Authorization: Bearer <token>`.
    pub fn write(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        token: Option<&str>,
    ) -> Response {
        let mut request = agent()
            .request(method, &self.url(path))
            .set("Content-Type", "application/json");
        if let Some(token) = token {
            request = request.set("Authorization", &format!("Bearer {token}"));
        }
        into_response(match body {
            Some(body) => request.send_string(body),
            None => request.call(),
        })
    }

    /// Kills the child with SIGKILL (our own process, by its id) and waits for it.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM to the child (our own process, by its id).
    pub fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(dir) = &self.own_data_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(120))
        .build()
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: String,
    pub retry_after: Option<String>,
    pub content_type: String,
}

impl Response {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The `error` code of a request-level error body.
    pub fn error_code(&self) -> String {
        self.json()["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error code in {}", self.body))
            .to_string()
    }
}

fn into_response(result: Result<ureq::Response, ureq::Error>) -> Response {
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("transport error: {e}"),
    };
    let status = response.status();
    let retry_after = response.header("Retry-After").map(str::to_string);
    let content_type = response.content_type().to_string();
    let body = response.into_string().expect("read body");
    Response {
        status,
        body,
        retry_after,
        content_type,
    }
}

/// `$TOLLGATE_VECTORS_DIR`, else `<repo>/../shared/vectors/bls12-381-tests`.
pub fn vectors_dir() -> PathBuf {
    std::env::var_os("TOLLGATE_VECTORS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors/bls12-381-tests")
        })
}

/// A keypair made from a deterministic seed.
pub fn key(seed: u64) -> SecretKey {
    let mut ikm = [7u8; 32];
    ikm[..8].copy_from_slice(&seed.to_le_bytes());
    SecretKey::from_ikm(&ikm).expect("32-byte ikm")
}

/// A valid `{"public_key","message","signature"}` item of `suite`.
pub fn signed_item(suite: Suite, sk: &SecretKey, message: &[u8]) -> Value {
    serde_json::json!({
        "public_key": to_hex(&sk.public_key(suite.variant)),
        "message": to_hex(message),
        "signature": to_hex(&sk.sign(suite, message)),
    })
}

/// Scheme and variant names as the API spells them.
pub fn names(suite: Suite) -> (String, String) {
    let scheme = serde_json::to_value(suite.scheme)
        .unwrap()
        .as_str()
        .unwrap()
        .to_string();
    let variant = serde_json::to_value(suite.variant)
        .unwrap()
        .as_str()
        .unwrap()
        .to_string();
    (scheme, variant)
}

pub fn all_suites() -> Vec<Suite> {
    use tollgate::suite::{Scheme, Variant};
    let mut suites = Vec::new();
    for variant in [Variant::MinPk, Variant::MinSig] {
        for scheme in [Scheme::Basic, Scheme::Aug, Scheme::Pop] {
            suites.push(Suite::new(scheme, variant));
        }
    }
    suites
}
