//! The client tools against a real `tollgate serve` on a loopback socket: batches of every
//! suite with chosen bad items, the CLI end to end (keygen, sign, gen-batch, submit), and a
//! bounded `tollgate load` run whose verdicts must all match.

use crate::common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use tollgate::api::wire::{Item, VerifyRequest, VerifyResponse};
use tollgate::client::load::{run_load, Limit, LoadPlan};
use tollgate::client::{generate_batch, BatchSpec, Corruption, Server};
use tollgate::suite::{Scheme, Suite, Variant};

const BIN: &str = env!("CARGO_BIN_EXE_tollgate");

/// A `tollgate serve` child on 127.0.0.1:0, killed when dropped.
struct Serve {
    child: Child,
    url: String,
    /// Its own key registry directory: concurrent servers never share one.
    data_dir: PathBuf,
}

impl Serve {
    fn start() -> Self {
        let data_dir = common::temp_dir("client-data");
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&data_dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn tollgate serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read address");
        let addr = line
            .trim()
            .strip_prefix("tollgate listening on ")
            .unwrap_or_else(|| panic!("first line {line:?}"));
        Serve {
            url: format!("http://{addr}"),
            child,
            data_dir,
        }
    }

    fn client(&self) -> Server {
        Server::new(&self.url, Duration::from_secs(60))
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

fn tmp(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{}-{name}", std::process::id()))
}

fn tollgate(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("run tollgate")
}

fn tollgate_stdin(args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run tollgate");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().expect("wait for tollgate")
}

fn flagged(response: &VerifyResponse) -> Vec<usize> {
    response
        .results
        .iter()
        .enumerate()
        .filter(|(_, v)| !v.valid)
        .map(|(i, _)| i)
        .collect()
}

#[test]
fn generated_bad_items_are_exactly_the_flagged_ones_in_every_suite() {
    let serve = Serve::start();
    let server = serve.client();
    for (k, scheme) in [Scheme::Basic, Scheme::Aug, Scheme::Pop]
        .into_iter()
        .enumerate()
    {
        for variant in [Variant::MinPk, Variant::MinSig] {
            let batch = generate_batch(&BatchSpec {
                items: 24,
                suite: Suite::new(scheme, variant),
                keys: 5,
                message_len: 32,
                corruption: Corruption::Fraction(0.25),
                seed: Some(k as u64 * 10 + variant as u64),
            })
            .unwrap();
            assert_eq!(batch.bad.len(), 6);
            let answer = server
                .post_ok(
                    "/v1/verify",
                    &serde_json::to_string(&batch.request).unwrap(),
                )
                .unwrap();
            let response: VerifyResponse = serde_json::from_str(&answer).unwrap();
            assert_eq!(flagged(&response), batch.bad, "{scheme:?} {variant:?}");
            assert_eq!((response.valid, response.invalid), (18, 6));
            for &i in &batch.bad {
                assert_eq!(
                    response.results[i].error.as_deref(),
                    Some("invalid_signature"),
                    "{scheme:?} {variant:?} #{i}"
                );
            }
        }
    }
}

#[test]
fn cli_keygen_sign_gen_batch_and_submit() {
    let serve = Serve::start();

    let key_file = tmp("key.json");
    let ikm = format!("0x{}", "42".repeat(32));
    // Key material never on the command line: the flag that took it is gone.
    assert!(!tollgate(&["keygen", "--ikm", &ikm]).status.success());
    let out = tollgate_stdin(&["keygen", "--variant", "min-sig", "--ikm-file", "-"], &ikm);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ikm_file = tmp("ikm.hex");
    std::fs::write(&ikm_file, format!("{ikm}\n")).unwrap();
    let from_file = tollgate(&[
        "keygen",
        "--variant",
        "min-sig",
        "--ikm-file",
        ikm_file.to_str().unwrap(),
    ]);
    assert_eq!(from_file.stdout, out.stdout, "same ikm from stdin and file");
    std::fs::write(&key_file, &out.stdout).unwrap();
    let key: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(key["public_key"].as_str().unwrap().len(), 2 + 2 * 96);
    assert_eq!(
        key["proof_of_possession"].as_str().unwrap().len(),
        2 + 2 * 48
    );

    // A signed item from `sign`, verified as a one-item batch under the same suite.
    let sign_with = |flag: &str, file: &PathBuf| {
        tollgate(&[
            "sign",
            flag,
            file.to_str().unwrap(),
            "--text",
            "charge 12 kWh",
            "--scheme",
            "aug",
            "--variant",
            "min-sig",
        ])
    };
    let out = sign_with("--key-file", &key_file);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let item: Item = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(item.public_key, key["public_key"].as_str().unwrap());
    let sk_file = tmp("sk.hex");
    std::fs::write(&sk_file, key["secret_key"].as_str().unwrap()).unwrap();
    let same = sign_with("--secret-key-file", &sk_file);
    assert_eq!(
        same.stdout, out.stdout,
        "--secret-key-file signs like --key-file"
    );
    let one = VerifyRequest {
        scheme: Some(Scheme::Aug),
        variant: Some(Variant::MinSig),
        items: vec![item.clone()],
        ..Default::default()
    };
    let answer: VerifyResponse = serde_json::from_str(
        &serve
            .client()
            .post_ok("/v1/verify", &serde_json::to_string(&one).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!((answer.valid, answer.invalid), (1, 0));
    // The same item under another scheme's tag does not verify.
    let wrong = VerifyRequest {
        scheme: Some(Scheme::Basic),
        ..one
    };
    let answer: VerifyResponse = serde_json::from_str(
        &serve
            .client()
            .post_ok("/v1/verify", &serde_json::to_string(&wrong).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!((answer.valid, answer.invalid), (0, 1));

    let (batch, bad) = (tmp("batch.json"), tmp("bad.json"));
    let out = tollgate(&[
        "gen-batch",
        "-n",
        "20",
        "--scheme",
        "basic",
        "--corrupt-at",
        "3,11",
        "--out",
        batch.to_str().unwrap(),
        "--bad-out",
        bad.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("[3, 11]"));

    let out = tollgate(&[
        "submit",
        batch.to_str().unwrap(),
        "--server",
        &serve.url,
        "--expect-bad",
        bad.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("20 items: 18 valid, 2 invalid"), "{stdout}");
    assert!(stdout.contains("item 11: invalid_signature"), "{stdout}");

    // A wrong expectation makes submit fail.
    let wrong_bad = tmp("wrong-bad.json");
    std::fs::write(&wrong_bad, r#"{"bad": [3]}"#).unwrap();
    let out = tollgate(&[
        "submit",
        batch.to_str().unwrap(),
        "--server",
        &serve.url,
        "--expect-bad",
        wrong_bad.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected bad items [3]"));

    // A request-level error is reported with the server's code.
    let empty = tmp("empty.json");
    std::fs::write(&empty, r#"{"items": []}"#).unwrap();
    let out = tollgate(&["submit", empty.to_str().unwrap(), "--server", &serve.url]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("empty_batch"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn load_counts_every_request_and_checks_verdicts() {
    let serve = Serve::start();
    let batch = generate_batch(&BatchSpec {
        items: 8,
        suite: Suite::new(Scheme::Pop, Variant::MinPk),
        keys: 4,
        message_len: 32,
        corruption: Corruption::Positions(vec![5]),
        seed: Some(7),
    })
    .unwrap();
    let plan = LoadPlan {
        server: serve.url.clone(),
        request: batch.request,
        clients: 4,
        limit: Limit::Requests {
            count: 40,
            cap: Duration::from_secs(120),
        },
        timeout: Duration::from_secs(60),
        progress: false,
        probe: None,
    };
    let report = run_load(&plan).unwrap();
    assert_eq!(report.requests_ok + report.rejected, 40, "{report:?}");
    assert_eq!((report.errors, report.mismatches), (0, 0), "{report:?}");
    assert!(report.requests_ok > 0 && report.signatures_per_s > 0.0);
    assert!(
        report.latency.p50_ms <= report.latency.p99_ms
            && report.latency.p99_ms <= report.latency.max_ms
    );

    // The CLI: a duration-bounded run with a JSON report.
    let out = tollgate(&[
        "load",
        "--server",
        &serve.url,
        "-n",
        "4",
        "--clients",
        "2",
        "--duration",
        "1",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["requests_ok"].as_u64().unwrap() > 0);
    assert_eq!(report["mismatches"], 0);

    // Nothing listening: the run fails instead of reporting zeros.
    let out = tollgate(&[
        "load",
        "--server",
        "http://127.0.0.1:9",
        "-n",
        "1",
        "--requests",
        "1",
        "--quiet",
    ]);
    assert!(!out.status.success());
}
