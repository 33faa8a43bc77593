//! Backend selection through the real binary: `auto` on a machine without a board serves from
//! the CPU with correct verdicts; a device backend that cannot prove its identity refuses to
//! start, saying why.

use crate::common;

use std::process::{Command, Stdio};

use common::{key, names, signed_item, Server};
use serde_json::json;
use tollgate::suite::{Scheme, Suite, Variant};

/// `tollgate serve` with `args`, expected to exit at start-up: its exit status and stderr.
fn failed_start(args: &[&str]) -> (bool, String) {
    let data_dir = common::temp_dir("device-data");
    let output = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data_dir)
        .args(args)
        .env("TOLLGATE_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .expect("run tollgate serve");
    let _ = std::fs::remove_dir_all(&data_dir);
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn auto_without_a_board_answers_from_the_cpu_with_correct_verdicts() {
    // No board is bound to vfio-pci here, so `auto` must fall back to the CPU, not fail.
    let server = Server::start(&["--backend", "auto", "--max-batch-size", "4"]);
    for variant in [Variant::MinPk, Variant::MinSig] {
        let suite = Suite::new(Scheme::Pop, variant);
        let mut items: Vec<_> = (0..10u64)
            .map(|i| signed_item(suite, &key(i), format!("m{i}").as_bytes()))
            .collect();
        // Item 6 carries item 5's signature: well-formed, invalid.
        items[6]["signature"] = items[5]["signature"].clone();
        let (scheme, variant_name) = names(suite);
        let response = server.post(
            "/v1/verify",
            &json!({"scheme": scheme, "variant": variant_name, "items": items}),
        );
        assert_eq!(response.status, 200, "{}", response.body);
        let body = response.json();
        for i in 0..items.len() {
            assert_eq!(
                body["results"][i]["valid"],
                json!(i != 6),
                "{variant:?} item {i}: {body}"
            );
        }
    }
    let metrics = server.get("/metrics");
    assert_eq!(metrics.status, 200);
    assert!(
        !metrics.body.contains("tollgate_device_up 1"),
        "no device can be up here"
    );
}

#[test]
fn a_device_backend_without_its_manifest_refuses_to_start() {
    for backend in ["sim", "pcie"] {
        let (ok, stderr) = failed_start(&[
            "--backend",
            backend,
            "--device-manifest",
            "/nonexistent/tollgate/manifest.json",
        ]);
        assert!(!ok, "{backend} started without a manifest");
        assert!(
            stderr.contains("cannot read manifest /nonexistent/tollgate/manifest.json"),
            "{backend}: {stderr}"
        );
    }
}

#[test]
fn a_manifest_without_a_design_hash_is_refused() {
    let dir = std::env::temp_dir().join(format!("tollgate-device-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let manifest = dir.join("manifest.json");
    std::fs::write(&manifest, r#"{"design": "tollgate", "abi_version": 65536}"#).unwrap();
    let (ok, stderr) = failed_start(&[
        "--backend",
        "sim",
        "--device-manifest",
        manifest.to_str().unwrap(),
    ]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(!ok);
    assert!(
        stderr.contains("malformed manifest") && stderr.contains("design_hash"),
        "{stderr}"
    );
}

#[cfg(feature = "sim")]
#[test]
fn the_sim_device_is_refused_against_a_manifest_with_another_design_hash() {
    let real = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../bitstreams/tollgate/manifest.json");
    let text = std::fs::read_to_string(&real).expect("the generated design's manifest");
    let manifest: serde_json::Value = serde_json::from_str(&text).unwrap();
    let hash = manifest["design_hash"].as_str().unwrap().to_lowercase();
    // One digit changed.
    let changed = format!(
        "{}{}",
        if hash.starts_with('0') { '1' } else { '0' },
        &hash[1..]
    );
    let dir = std::env::temp_dir().join(format!("tollgate-hash-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("manifest.json");
    std::fs::write(
        &path,
        text.replace(manifest["design_hash"].as_str().unwrap(), &changed),
    )
    .unwrap();
    let (ok, stderr) = failed_start(&[
        "--backend",
        "sim",
        "--device-design",
        "tollgate",
        "--device-manifest",
        path.to_str().unwrap(),
    ]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(!ok, "started against a manifest of another design");
    assert!(stderr.contains("design hash mismatch"), "{stderr}");
    assert!(
        stderr.contains(&hash) && stderr.contains(&changed),
        "{stderr}"
    );
}

#[test]
fn a_bad_fault_specification_is_a_usage_error() {
    let (ok, stderr) = failed_start(&["--backend", "sim", "--inject-fault", "melt"]);
    assert!(!ok);
    assert!(stderr.contains("unknown fault \"melt\""), "{stderr}");
}
