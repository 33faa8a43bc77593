//! The README's first command (`cargo run --release -p tollgate -- serve`) must build with only
//! the Rust toolchain: the default build of `tollgate` may not pull in the Verilator driver,
//! whose build runs verilator, make and g++. Only the `sim` feature brings it in.

use std::process::Command;

/// Names of the workspace crates in `tollgate`'s normal and build dependency tree.
fn tollgate_crates(features: &[&str]) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["tree", "-p", "tollgate", "-e", "normal,build"])
        .args([
            "--prefix",
            "none",
            "--format",
            "{p}",
            "--locked",
            "--offline",
        ])
        .args(features)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo tree");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut crates: Vec<String> = String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| name.starts_with("tollgate"))
        .map(str::to_string)
        .collect();
    crates.sort();
    crates.dedup();
    crates
}

#[test]
fn default_build_needs_no_verilator() {
    let crates = tollgate_crates(&[]);
    assert!(
        crates.contains(&"tollgate-drivers".to_string()),
        "unexpected tree: {crates:?}"
    );
    assert!(
        !crates.contains(&"tollgate-verilator".to_string()),
        "the default build depends on tollgate-verilator: {crates:?}"
    );
}

#[test]
fn sim_feature_brings_the_verilator_driver() {
    let crates = tollgate_crates(&["--features", "sim"]);
    assert!(
        crates.contains(&"tollgate-verilator".to_string()),
        "`sim` lost the Verilator driver: {crates:?}"
    );
}
