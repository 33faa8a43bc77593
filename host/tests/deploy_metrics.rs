//! Every metric the Grafana dashboard and the Prometheus alert rules name is exported by a
//! live server that has answered a few requests (a batch with a bad item, a refused request),
//! so that every labelled family has a sample. With the `sim` feature (as the test command
//! builds it) the server runs the simulated device, so the device engine's metrics are
//! checked too; without it, a CPU server can only be checked for the others.

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{key, signed_item, Server};
use serde_json::{json, Value};
use tollgate::suite::Suite;

/// Families only a device engine registers.
const DEVICE_ONLY: &[&str] = &["tollgate_device_", "tollgate_fallbacks_"];

fn deploy_file(path: &str) -> String {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy")
        .join(path);
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// The `tollgate_*` metric names in PromQL text, outside quoted label values.
fn metric_names(promql: &str, into: &mut BTreeSet<String>) {
    for (n, part) in promql.split('"').enumerate() {
        if n % 2 == 1 {
            continue; // inside quotes
        }
        let words = part.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'));
        into.extend(
            words
                .filter(|w| w.starts_with("tollgate_"))
                .map(str::to_string),
        );
    }
}

/// Every query of the dashboard: panel targets (`expr`) and variables (`definition`).
fn dashboard_queries(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("expr" | "definition", Value::String(q)) => into.push(q.clone()),
                    _ => dashboard_queries(v, into),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| dashboard_queries(v, into)),
        _ => {}
    }
}

fn named_by_dashboard() -> BTreeSet<String> {
    let dashboard: Value =
        serde_json::from_str(&deploy_file("grafana/dashboards/tollgate.json")).expect("JSON");
    let mut queries = Vec::new();
    dashboard_queries(&dashboard, &mut queries);
    let mut names = BTreeSet::new();
    for q in &queries {
        metric_names(q, &mut names);
    }
    names
}

fn named_by_rules() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in deploy_file("prometheus/alerts.yml").lines() {
        let line = line.trim_start();
        // Expressions only: comments and the annotations' template text are prose.
        if !line.starts_with("summary:") && !line.starts_with('#') {
            metric_names(line, &mut names);
        }
    }
    names
}

fn exported(server: &Server) -> BTreeSet<String> {
    let metrics = server.get("/metrics");
    assert_eq!(metrics.status, 200);
    metrics
        .body
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split(['{', ' ']).next())
        .map(str::to_string)
        .collect()
}

#[test]
fn dashboard_and_rules_name_only_exported_metrics() {
    let dashboard = named_by_dashboard();
    let rules = named_by_rules();
    // The extraction itself works: both files name many metrics.
    assert!(dashboard.len() >= 15, "dashboard names {dashboard:?}");
    assert!(rules.len() >= 7, "rules name {rules:?}");
    assert!(dashboard.contains("tollgate_build_info") && rules.contains("tollgate_queue_capacity"));

    let backend = if cfg!(feature = "sim") { "sim" } else { "cpu" };
    let server = Server::start(&["--backend", backend]);
    let suite = Suite::default();
    let items: Vec<Value> = (0..4)
        .map(|i| signed_item(suite, &key(i), format!("item {i}").as_bytes()))
        .collect();
    let mut bad = items.clone();
    bad[1]["message"] = items[2]["message"].clone();
    for batch in [items, bad] {
        let r = server.post("/v1/verify", &json!({ "items": batch }));
        assert_eq!(r.status, 200, "{}", r.body);
    }
    assert_eq!(server.post("/v1/verify", &json!({"items": []})).status, 400);

    let exported = exported(&server);
    for (file, names) in [("dashboard", &dashboard), ("rules", &rules)] {
        let missing: Vec<&String> = names
            .iter()
            .filter(|n| !exported.contains(*n))
            .filter(|n| backend == "sim" || !DEVICE_ONLY.iter().any(|p| n.starts_with(p)))
            .collect();
        assert!(
            missing.is_empty(),
            "the {file} names metrics the server does not export: {missing:?}"
        );
    }
}
