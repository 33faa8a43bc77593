//! The served OpenAPI document matches the handlers: every documented operation answers
//! with a documented status and the documented required fields; configuration layering
//! (file, environment, command line) reaches /v1/info; /metrics exports every metric.

use crate::common;

use common::{key, signed_item, Server};
use serde_json::{json, Value};
use tollgate::api::wire::to_hex;
use tollgate::suite::Suite;

/// Follows a `$ref` into the document's components.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            &doc["components"]["schemas"][reference.trim_start_matches("#/components/schemas/")]
        }
        None => schema,
    }
}

/// Checks `value` against the subset of JSON Schema the document uses.
fn conforms(doc: &Value, schema: &Value, value: &Value, at: &str) {
    let schema = resolve(doc, schema);
    if let Some(kind) = schema["type"].as_str() {
        let ok = match kind {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_u64() || value.is_i64(),
            "boolean" => value.is_boolean(),
            other => panic!("schema type {other} not handled"),
        };
        assert!(ok, "{at}: {value} is not {kind}");
    }
    if let Some(allowed) = schema["enum"].as_array() {
        assert!(allowed.contains(value), "{at}: {value} not in {allowed:?}");
    }
    for required in schema["required"].as_array().into_iter().flatten() {
        assert!(
            value.get(required.as_str().unwrap()).is_some(),
            "{at}: missing {required}"
        );
    }
    if let (Some(properties), Some(object)) = (schema["properties"].as_object(), value.as_object())
    {
        for (name, field) in object {
            let property = properties
                .get(name)
                .unwrap_or_else(|| panic!("{at}: undocumented field {name}"));
            conforms(doc, property, field, &format!("{at}.{name}"));
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, element) in array.iter().enumerate() {
            conforms(doc, items, element, &format!("{at}[{i}]"));
        }
    }
}

/// A valid example request for each POST operation.
fn example(path: &str) -> Value {
    let suite = Suite::default();
    let (a, b) = (key(21), key(22));
    let item = signed_item(suite, &a, b"toll 1");
    let pks = json!([
        to_hex(&a.public_key(suite.variant)),
        to_hex(&b.public_key(suite.variant))
    ]);
    let sig_a = to_hex(&a.sign(suite, b"m"));
    match path {
        "/v1/verify" => json!({"items": [item, signed_item(suite, &b, b"toll 2")]}),
        "/v1/aggregate" => json!({"signatures": [item["signature"], sig_a]}),
        "/v1/aggregate-verify" => {
            json!({"public_keys": [pks[0]], "messages": [to_hex(b"m")], "signature": sig_a})
        }
        "/v1/fast-aggregate-verify" => {
            json!({"public_keys": [pks[0]], "message": to_hex(b"m"), "signature": sig_a})
        }
        "/v1/keys/batch" => json!([key_registration(23, Some("example-batch"))]),
        "/v1/keys/{key_id}" => key_registration(24, None),
        other => panic!("no example for {other}"),
    }
}

/// A registration of the key of `seed` (blst-made: this test checks shapes, not crypto).
fn key_registration(seed: u64, key_id: Option<&str>) -> Value {
    let variant = Suite::default().variant;
    let mut body = json!({
        "public_key": to_hex(&key(seed).public_key(variant)),
        "proof_of_possession": to_hex(&key(seed).prove_possession(variant)),
    });
    if let Some(id) = key_id {
        body["key_id"] = json!(id);
    }
    body
}

const TOKEN: &str = "surface-token";

#[test]
fn openapi_document_matches_the_handlers() {
    let dir = common::temp_dir("surface");
    let tokens = dir.join("tokens");
    std::fs::write(&tokens, TOKEN).unwrap();
    let server = Server::start(&["--admin-token-file", tokens.to_str().unwrap()]);
    // Keys for the GET and DELETE examples of /v1/keys/{key_id}; PUT registers a new one.
    for (seed, id) in [(25, "example-get"), (26, "example-delete")] {
        let body = key_registration(seed, None).to_string();
        let put = server.write("PUT", &format!("/v1/keys/{id}"), Some(&body), Some(TOKEN));
        assert_eq!(put.status, 201, "{}", put.body);
    }
    let doc = server.get("/openapi.json").json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    let served: Vec<String> = tollgate::http::ROUTES
        .iter()
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    let mut documented = Vec::new();
    for (path, operations) in paths {
        for (method, operation) in operations.as_object().unwrap() {
            documented.push(format!("{method} {path}"));
            let concrete = path.replace("{key_id}", &format!("example-{method}"));
            let response = match method.as_str() {
                "get" => server.get(&concrete),
                "post" if path.starts_with("/v1/keys") => {
                    let body = example(path).to_string();
                    server.write("POST", &concrete, Some(&body), Some(TOKEN))
                }
                "post" => server.post(path, &example(path)),
                "put" => {
                    let body = example(path).to_string();
                    server.write("PUT", &concrete, Some(&body), Some(TOKEN))
                }
                "delete" => server.write("DELETE", &concrete, None, Some(TOKEN)),
                other => panic!("method {other}"),
            };
            let spec = &operation["responses"][response.status.to_string()];
            assert!(
                spec.is_object(),
                "{method} {path}: status {} undocumented: {}",
                response.status,
                response.body
            );
            let expected = if method == "put" { 201 } else { 200 };
            assert_eq!(
                response.status, expected,
                "{method} {path}: {}",
                response.body
            );
            let (content_type, media) = spec["content"].as_object().unwrap().iter().next().unwrap();
            assert!(
                response.content_type.starts_with(content_type.as_str()),
                "{method} {path}: {}",
                response.content_type
            );
            if content_type == "application/json" {
                conforms(
                    &doc,
                    &media["schema"],
                    &response.json(),
                    &format!("{method} {path}"),
                );
            }
            // A method the path does not document is refused, as documented nowhere else.
            let other = if path.starts_with("/v1/keys") {
                server.write("PATCH", &concrete, Some("{}"), Some(TOKEN))
            } else if method == "get" {
                server.post_raw(path, "{}")
            } else {
                server.get(path)
            };
            assert_eq!(other.status, 405, "{path}");
        }
    }
    documented.sort();
    let mut served_sorted = served.clone();
    served_sorted.sort();
    assert_eq!(documented, served_sorted);
    // The example verify answer is all valid.
    let verdicts = server.post("/v1/verify", &example("/v1/verify")).json();
    assert_eq!(verdicts["valid"], 2);
    // Error bodies conform to the Error schema.
    let error = server.post_raw("/v1/verify", "{");
    conforms(
        &doc,
        &json!({"$ref": "#/components/schemas/Error"}),
        &error.json(),
        "error",
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn settings_from_file_env_and_command_line() {
    let dir = std::env::temp_dir().join(format!("tollgate-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("tollgate.toml");
    std::fs::write(
        &file,
        "max_items = 7\nmax_batch_size = 3\nqueue_capacity = 50\nvariant = \"min_sig\"\n",
    )
    .unwrap();
    let server = Server::start_with_env(
        &["--config", file.to_str().unwrap(), "--queue-capacity", "99"],
        &[("TOLLGATE_MAX_BATCH_SIZE", "5"), ("TOLLGATE_SCHEME", "aug")],
    );
    let info = server.get("/v1/info").json();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(info["limits"]["max_items"], 7, "file: {info}");
    assert_eq!(
        info["limits"]["max_batch_size"], 5,
        "environment over file: {info}"
    );
    assert_eq!(
        info["limits"]["queue_capacity"], 99,
        "command line over file: {info}"
    );
    assert_eq!(info["default_variant"], "min_sig");
    assert_eq!(info["default_scheme"], "aug");
    assert_eq!(info["backend"], "cpu");
    // The defaults apply: an AUG/min_sig item verifies without naming its suite.
    let suite = Suite::new(
        tollgate::suite::Scheme::Aug,
        tollgate::suite::Variant::MinSig,
    );
    let r = server.post(
        "/v1/verify",
        &json!({"items": [signed_item(suite, &key(5), b"x")]}),
    );
    assert_eq!(r.json()["valid"], 1, "{}", r.body);
}

#[test]
fn metrics_export_every_series() {
    let server = Server::start(&[]);
    let suite = Suite::default();
    let mut tampered = signed_item(suite, &key(1), b"a");
    tampered["message"] = json!("0x00");
    let r = server.post("/v1/verify", &json!({"items": [signed_item(suite, &key(1), b"a"), tampered, signed_item(suite, &key(2), b"b")]}));
    assert_eq!(r.json()["invalid"], 1);
    server.post_raw("/v1/verify", "nope");
    let metrics = server.get("/metrics").body;
    for name in [
        "tollgate_http_request_duration_seconds_bucket{endpoint=\"/v1/verify\",status=\"200\"",
        "tollgate_queue_wait_seconds_count",
        "tollgate_engine_batch_size_count",
        "tollgate_batch_verify_duration_seconds_count{backend=\"cpu\"}",
        "tollgate_signatures_verified_total{backend=\"cpu\",result=\"valid\"} 2",
        "tollgate_signatures_verified_total{backend=\"cpu\",result=\"invalid\"} 1",
        "tollgate_queue_depth",
        "tollgate_rejections_total{reason=\"malformed_json\"} 1",
        "tollgate_bisections_total",
        "tollgate_key_cache_lookups_total",
        "tollgate_build_info{version=",
    ] {
        assert!(metrics.contains(name), "missing {name} in\n{metrics}");
    }
    let bisections: f64 = metrics
        .lines()
        .find(|l| l.starts_with("tollgate_bisections_total "))
        .and_then(|l| l.split(' ').nth(1))
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        bisections >= 1.0,
        "a batch with a bad item must have been split"
    );
}
