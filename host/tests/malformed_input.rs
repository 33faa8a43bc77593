//! Malformed input of every kind: the right code at the right level, never a panic, and the
//! server still answers afterwards.

use crate::common;

use common::{key, signed_item, vectors_dir, Server};
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use serde_json::{json, Value};
use tollgate::api::wire::to_hex;
use tollgate::suite::{Scheme, Suite, Variant};

fn vector(dir: &str, file: &str, field: &str) -> Value {
    let text = std::fs::read_to_string(vectors_dir().join(dir).join(file)).expect("vector file");
    serde_json::from_str::<Value>(&text).unwrap()["input"][field].clone()
}

fn start() -> Server {
    Server::start(&["--max-items", "8", "--max-body-bytes", "65536"])
}

#[test]
fn request_level_errors() {
    let server = start();
    let item = signed_item(Suite::default(), &key(1), b"hello");
    let cases: Vec<(&str, String, u16, &str)> = vec![
        ("/v1/verify", "not json".into(), 400, "malformed_json"),
        ("/v1/verify", "{".into(), 400, "malformed_json"),
        ("/v1/verify", "".into(), 400, "malformed_json"),
        ("/v1/verify", "[]".into(), 400, "invalid_request"),
        ("/v1/verify", "{}".into(), 400, "invalid_request"),
        ("/v1/verify", json!({"items": 5}).to_string(), 400, "invalid_request"),
        ("/v1/verify", json!({"items": [{"public_key": 1, "message": "0x", "signature": "0x"}]}).to_string(), 400, "invalid_request"),
        ("/v1/verify", json!({"items": [{"message": "0x", "signature": "0x"}]}).to_string(), 400, "invalid_request"),
        ("/v1/verify", json!({"scheme": "nul", "items": [item]}).to_string(), 400, "unknown_scheme"),
        ("/v1/verify", json!({"scheme": 3, "items": [item]}).to_string(), 400, "invalid_request"),
        ("/v1/verify", json!({"variant": "min_ps", "items": [item]}).to_string(), 400, "unknown_variant"),
        ("/v1/verify", json!({"items": []}).to_string(), 400, "empty_batch"),
        ("/v1/verify", json!({"items": vec![item.clone(); 9]}).to_string(), 400, "batch_too_large"),
        ("/v1/verify", format!("{}{}", "[".repeat(35_000), "]".repeat(35_000)), 413, "body_too_large"),
        ("/v1/verify", format!("{}{}", "[".repeat(20_000), "]".repeat(20_000)), 400, "malformed_json"),
        ("/v1/aggregate", json!({}).to_string(), 400, "invalid_request"),
        ("/v1/aggregate", json!({"signatures": [item["signature"]], "public_keys": [item["public_key"]]}).to_string(), 400, "invalid_request"),
        ("/v1/aggregate", json!({"signatures": []}).to_string(), 400, "empty_batch"),
        ("/v1/aggregate", json!({"signatures": ["0x00"]}).to_string(), 400, "bad_length"),
        ("/v1/aggregate", json!({"public_keys": ["00"]}).to_string(), 400, "malformed_hex"),
        ("/v1/aggregate-verify", json!({"public_keys": [item["public_key"]], "messages": [], "signature": item["signature"]}).to_string(), 400, "length_mismatch"),
        ("/v1/aggregate-verify", json!({"public_keys": [], "messages": [], "signature": item["signature"]}).to_string(), 400, "empty_batch"),
        ("/v1/fast-aggregate-verify", json!({"scheme": "basic", "public_keys": [item["public_key"]], "message": "0x", "signature": item["signature"]}).to_string(), 400, "unsupported_scheme"),
        ("/v1/fast-aggregate-verify", json!({"scheme": "nope", "public_keys": [item["public_key"]], "message": "0x", "signature": item["signature"]}).to_string(), 400, "unknown_scheme"),
    ];
    for (path, body, status, code) in cases {
        let r = server.post_raw(path, &body);
        let shown: String = body.chars().take(80).collect();
        assert_eq!(
            (r.status, r.error_code().as_str()),
            (status, code),
            "{path} {shown}: {}",
            r.body
        );
        assert!(r.json()["detail"].is_string());
    }
    let r = server.get("/nope");
    assert_eq!((r.status, r.error_code().as_str()), (404, "not_found"));
    let r = server.get("/v1/verify");
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (405, "method_not_allowed")
    );
    assert_eq!(server.get("/healthz").status, 200);
}

#[test]
fn item_level_codes() {
    let server = start();
    let suite = Suite::default();
    let good = signed_item(suite, &key(2), b"pay 5");
    let with = |field: &str, value: Value| {
        let mut item = good.clone();
        item[field] = value;
        item
    };
    let mut infinity_pk = vec![0u8; 48];
    infinity_pk[0] = 0xc0;
    let mut infinity_sig = vec![0u8; 96];
    infinity_sig[0] = 0xc0;
    let sig_hex = good["signature"].as_str().unwrap().to_string();
    let cases = vec![
        (good.clone(), None),
        (
            with(
                "public_key",
                json!(good["public_key"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("0x")),
            ),
            Some("malformed_hex"),
        ),
        (
            with("signature", json!(&sig_hex[..sig_hex.len() - 1])),
            Some("malformed_hex"),
        ),
        (with("message", json!("0xzz")), Some("malformed_hex")),
        (with("public_key", json!("0x00")), Some("bad_length")),
        (
            with("signature", json!(format!("0x00{}", &sig_hex[4..]))),
            Some("bad_encoding_flags"),
        ),
        (
            with(
                "public_key",
                vector(
                    "deserialization_G1",
                    "deserialization_fails_x_equal_to_modulus.json",
                    "pubkey",
                ),
            ),
            Some("coordinate_out_of_range"),
        ),
        (
            with(
                "public_key",
                vector(
                    "deserialization_G1",
                    "deserialization_fails_not_in_curve.json",
                    "pubkey",
                ),
            ),
            Some("not_on_curve"),
        ),
        (
            with(
                "public_key",
                vector(
                    "deserialization_G1",
                    "deserialization_fails_not_in_G1.json",
                    "pubkey",
                ),
            ),
            Some("not_in_subgroup"),
        ),
        (
            with(
                "signature",
                vector(
                    "deserialization_G2",
                    "deserialization_fails_not_in_G2.json",
                    "signature",
                ),
            ),
            Some("not_in_subgroup"),
        ),
        (
            with("public_key", json!(to_hex(&infinity_pk))),
            Some("infinity_public_key"),
        ),
    ];
    // At most 8 items per request here: two requests.
    for chunk in [&cases[..6], &cases[6..]] {
        let items: Vec<Value> = chunk.iter().map(|(item, _)| item.clone()).collect();
        let r = server.post("/v1/verify", &json!({"items": items}));
        assert_eq!(r.status, 200, "{}", r.body);
        let body = r.json();
        for (i, (_, code)) in chunk.iter().enumerate() {
            assert_eq!(
                body["results"][i]["valid"],
                json!(code.is_none()),
                "item {i}: {}",
                body["results"][i]
            );
            assert_eq!(body["results"][i]["error"].as_str(), *code, "item {i}");
        }
    }
    // The identity signature decodes (it is in the subgroup) and then fails verification.
    let r = server.post(
        "/v1/verify",
        &json!({"items": [with("signature", json!(to_hex(&infinity_sig)))]}),
    );
    assert_eq!(
        r.json()["results"][0],
        json!({"valid": false, "error": "invalid_signature"})
    );
}

#[test]
fn aggregate_verify_codes_and_basic_duplicates() {
    let server = start();
    let basic = Suite::new(Scheme::Basic, Variant::MinPk);
    let (a, b) = (key(10), key(11));
    let aggregate = |sigs: Vec<Vec<u8>>| -> Value {
        let r = server.post(
            "/v1/aggregate",
            &json!({"signatures": sigs.iter().map(|s| to_hex(s)).collect::<Vec<_>>()}),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()["signature"].clone()
    };
    let pks = json!([
        to_hex(&a.public_key(Variant::MinPk)),
        to_hex(&b.public_key(Variant::MinPk))
    ]);
    // Distinct messages: valid.
    let sig = aggregate(vec![a.sign(basic, b"m1"), b.sign(basic, b"m2")]);
    let r = server.post("/v1/aggregate-verify", &json!({"scheme": "basic", "public_keys": pks, "messages": [to_hex(b"m1"), to_hex(b"m2")], "signature": sig}));
    assert_eq!(r.json(), json!({"valid": true}), "{}", r.body);
    // The same message twice: BASIC refuses it even though the pairing equation holds.
    let sig = aggregate(vec![a.sign(basic, b"same"), b.sign(basic, b"same")]);
    let body = json!({"scheme": "basic", "public_keys": pks, "messages": [to_hex(b"same"), to_hex(b"same")], "signature": sig});
    let r = server.post("/v1/aggregate-verify", &body);
    assert_eq!(
        r.json(),
        json!({"valid": false, "error": "duplicate_message"}),
        "{}",
        r.body
    );
    // Item codes travel in the verdict: a bad key, a bad signature.
    let mut bad_key = body.clone();
    bad_key["public_keys"][1] = json!("0x1234");
    assert_eq!(
        server.post("/v1/aggregate-verify", &bad_key).json(),
        json!({"valid": false, "error": "bad_length"})
    );
    let mut bad_sig = body.clone();
    bad_sig["signature"] = json!("0x");
    assert_eq!(
        server.post("/v1/aggregate-verify", &bad_sig).json(),
        json!({"valid": false, "error": "bad_length"})
    );
    // Fast aggregate verify: POP, same message.
    let pop = Suite::new(Scheme::Pop, Variant::MinPk);
    let sig = aggregate(vec![a.sign(pop, b"block"), b.sign(pop, b"block")]);
    let r = server.post(
        "/v1/fast-aggregate-verify",
        &json!({"public_keys": pks, "message": to_hex(b"block"), "signature": sig}),
    );
    assert_eq!(r.json(), json!({"valid": true}), "{}", r.body);
    let r = server.post(
        "/v1/fast-aggregate-verify",
        &json!({"public_keys": pks, "message": to_hex(b"other"), "signature": sig}),
    );
    assert_eq!(
        r.json(),
        json!({"valid": false, "error": "invalid_signature"}),
        "{}",
        r.body
    );
}

#[test]
fn random_garbage_never_breaks_the_server() {
    let server = start();
    let seed = rand::thread_rng().next_u64();
    eprintln!("garbage seed {seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let valid = json!({"scheme": "aug", "variant": "min_sig", "items": [signed_item(Suite::new(Scheme::Aug, Variant::MinSig), &key(3), b"x")]}).to_string();
    for round in 0..300 {
        let mut body = valid.clone().into_bytes();
        match round % 4 {
            0 => {
                let i = rng.gen_range(0..body.len());
                body[i] = rng.gen();
            }
            1 => body.truncate(rng.gen_range(0..body.len())),
            2 => {
                let i = rng.gen_range(0..body.len());
                body.insert(i, b"{}[]\",:0x\\"[rng.gen_range(0..10)]);
            }
            _ => {
                body = vec![0u8; rng.gen_range(0..512)];
                rng.fill_bytes(&mut body);
            }
        }
        let text = String::from_utf8_lossy(&body).into_owned();
        let path = [
            "/v1/verify",
            "/v1/aggregate",
            "/v1/aggregate-verify",
            "/v1/fast-aggregate-verify",
        ][rng.gen_range(0..4)];
        let r = server.post_raw(path, &text);
        assert!(
            r.status == 200 || r.status == 400,
            "round {round} seed {seed}: {} {}",
            r.status,
            r.body
        );
        r.json();
    }
    assert_eq!(server.get("/healthz").status, 200);
}
