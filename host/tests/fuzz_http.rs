//! `tollgate fuzz` against a real server: a short run (the long one is documented in
//! docs/API.md) must find every answer within the API's contract and the server still
//! verifying correctly afterwards.

use crate::common;

use std::process::Command;

use common::Server;

#[test]
fn a_short_http_fuzz_run_finds_the_contract_kept() {
    let server = Server::start(&[]);
    let out = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(["fuzz", "--server", &server.base])
        .args(["--requests", "1500", "--clients", "3", "--duration", "60"])
        .output()
        .expect("run tollgate fuzz");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("a JSON report");
    assert_eq!(report["sent"], 1500);
    assert_eq!(report["violations"], 0);
    assert_eq!(report["verifies_after"], true);
    // The run reached past parsing: some requests were refused for their content, and some
    // were answered 200.
    let statuses = &report["statuses"];
    assert!(statuses["200"].as_u64().unwrap_or(0) > 0, "{stdout}");
    assert!(statuses["400"].as_u64().unwrap_or(0) > 0, "{stdout}");
}
