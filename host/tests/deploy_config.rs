//! The files under deploy/ pass their tools' own checks: HAProxy's configuration check,
//! promtool's config and rules checks and the alerts' unit tests, and `systemd-analyze
//! verify` for the unit (where systemd-analyze exists; containers often lack it).

use std::path::{Path, PathBuf};
use std::process::Command;

fn deploy(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy")
        .join(path)
}

/// Runs a checking tool; fails with its output unless it succeeds.
fn check(tool: &str, args: &[&str], env: &[(&str, &str)]) {
    let out = Command::new(tool)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {tool} ({e}); .ci/test.sh installs it"));
    assert!(
        out.status.success(),
        "{tool} {args:?}:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

#[test]
fn haproxy_accepts_the_balancer_config() {
    let cfg = deploy("haproxy.cfg");
    check(
        "haproxy",
        &["-c", "-q", "-f", path(&cfg)],
        &[("TOLLGATE_LB_BIND", "127.0.0.1:8080")],
    );
}

#[test]
fn promtool_accepts_the_scrape_config_and_the_rules_and_their_tests_pass() {
    check(
        "promtool",
        &[
            "check",
            "config",
            path(&deploy("prometheus/prometheus.yml")),
        ],
        &[],
    );
    check(
        "promtool",
        &["check", "rules", path(&deploy("prometheus/alerts.yml"))],
        &[],
    );
    check(
        "promtool",
        &["test", "rules", path(&deploy("prometheus/alerts_test.yml"))],
        &[],
    );
}

#[test]
fn systemd_accepts_the_unit() {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("systemd-analyze not installed: unit not verified");
        return;
    }
    // The unit names the installed binary; verify it against the one just built.
    let unit = std::fs::read_to_string(deploy("systemd/tollgate.service")).unwrap();
    assert!(unit.contains("ExecStart=/usr/local/bin/tollgate serve"));
    let unit = unit.replace("/usr/local/bin/tollgate", env!("CARGO_BIN_EXE_tollgate"));
    let dir = std::env::temp_dir().join(format!("tollgate-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("tollgate.service");
    std::fs::write(&file, unit).unwrap();
    check("systemd-analyze", &["verify", path(&file)], &[]);
    std::fs::remove_dir_all(&dir).unwrap();
}
