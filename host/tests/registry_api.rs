//! The key registry over HTTP on a real server with the embedded store: every endpoint, with
//! keys, signatures and proofs of possession made by arkworks (independent of the server's
//! blst), the rogue-key attack, authorization, concurrency, restart, and the import client.

use crate::common;

use std::path::Path;
use std::process::Command;

use ark_bls12_381::{Fr, G1Affine, G1Projective};
use ark_ec::PrimeGroup;
use ark_serialize::CanonicalDeserialize;
use common::ark_keys::{g1_bytes, g2_multiple, ArkKey};
use common::{temp_dir, Server};
use serde_json::{json, Value};
use tollgate::api::wire::to_hex;
use tollgate::suite::{Scheme, Suite, Variant};

const TOKEN: &str = "s3cret-admin-token";

fn token_file(dir: &Path) -> String {
    let path = dir.join("tokens");
    std::fs::write(&path, format!("# admins\n{TOKEN}\n")).unwrap();
    path.display().to_string()
}

fn registration(key: &ArkKey, variant: Variant) -> Value {
    let variant_name = serde_json::to_value(variant).unwrap();
    json!({
        "public_key": to_hex(&key.public_key(variant)),
        "proof_of_possession": to_hex(&key.prove_possession(variant)),
        "variant": variant_name,
    })
}

fn put(server: &Server, id: &str, body: &Value) -> common::Response {
    server.write(
        "PUT",
        &format!("/v1/keys/{id}"),
        Some(&body.to_string()),
        Some(TOKEN),
    )
}

fn verify(server: &Server, body: Value) -> Value {
    let response = server.post("/v1/verify", &body);
    assert_eq!(response.status, 200, "{}", response.body);
    response.json()
}

fn codes(answer: &Value) -> Vec<Option<String>> {
    answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["error"].as_str().map(str::to_string))
        .collect()
}

struct Fixture {
    server: Server,
    dir: std::path::PathBuf,
}

fn start(dir: &Path, extra: &[&str]) -> Server {
    let tokens = token_file(dir);
    let data = dir.join("data").display().to_string();
    let mut args = vec!["--data-dir", &data, "--admin-token-file", &tokens];
    args.extend_from_slice(extra);
    Server::start(&args)
}

fn fixture(extra: &[&str]) -> Fixture {
    let dir = temp_dir("registry");
    Fixture {
        server: start(&dir, extra),
        dir,
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn register_read_verify_by_id_and_revoke() {
    let f = fixture(&["--require-registered-keys"]);
    let s = &f.server;
    let meter = ArkKey::from_seed("meter-0001");
    let id = "did:example:meter-0001";

    let created = put(s, id, &registration(&meter, Variant::MinPk));
    assert_eq!(created.status, 201, "{}", created.body);
    let record = created.json();
    assert_eq!(record["key_id"], id);
    assert_eq!(
        record["public_key"],
        to_hex(&meter.public_key(Variant::MinPk))
    );
    assert_eq!(record["revoked"], false);
    assert_eq!(record["events"][0]["event"], "registered");
    // Idempotent: the same key again is 200, another key under the id is 409.
    assert_eq!(
        put(s, id, &registration(&meter, Variant::MinPk)).status,
        200
    );
    let other = ArkKey::from_seed("someone else");
    let taken = put(s, id, &registration(&other, Variant::MinPk));
    assert_eq!(
        (taken.status, taken.error_code()),
        (409, "key_id_taken".into())
    );

    let got = s.get(&format!("/v1/keys/{id}"));
    assert_eq!(got.status, 200);
    assert_eq!(got.json()["registered_at"], record["registered_at"]);
    let unknown = s.get("/v1/keys/nobody");
    assert_eq!(
        (unknown.status, unknown.error_code()),
        (404, "unknown_key".into())
    );

    // A min_sig key beside it.
    let sensor = ArkKey::from_seed("sensor-7");
    assert_eq!(
        put(s, "sensor-7", &registration(&sensor, Variant::MinSig)).status,
        201
    );

    // /v1/verify by id, for every scheme, mixed with raw keys; signatures made by arkworks.
    for scheme in [Scheme::Pop, Scheme::Basic, Scheme::Aug] {
        let suite = Suite::new(scheme, Variant::MinPk);
        let (scheme_name, _) = common::names(suite);
        let answer = verify(
            s,
            json!({"scheme": scheme_name, "items": [
                {"key_id": id, "message": to_hex(b"toll 1"), "signature": to_hex(&meter.sign(suite, b"toll 1"))},
                {"key_id": id, "message": to_hex(b"toll 2"), "signature": to_hex(&meter.sign(suite, b"toll 1"))},
                {"public_key": to_hex(&other.public_key(Variant::MinPk)), "message": to_hex(b"x"), "signature": to_hex(&other.sign(suite, b"x"))},
                {"key_id": "nobody", "message": to_hex(b"x"), "signature": to_hex(&other.sign(suite, b"x"))},
                {"key_id": "sensor-7", "message": to_hex(b"x"), "signature": to_hex(&meter.sign(suite, b"x"))},
                {"key_id": "bad id", "message": to_hex(b"x"), "signature": to_hex(&meter.sign(suite, b"x"))},
            ]}),
        );
        assert_eq!(
            codes(&answer),
            vec![
                None,
                Some("invalid_signature".into()),
                None,
                Some("unknown_key".into()),
                Some("key_variant_mismatch".into()),
                Some("invalid_key_id".into()),
            ],
            "{scheme:?}"
        );
    }
    let suite = Suite::new(Scheme::Pop, Variant::MinSig);
    let answer = verify(
        s,
        json!({"variant": "min_sig", "items": [{"key_id": "sensor-7", "message": "0x01", "signature": to_hex(&sensor.sign(suite, &[1]))}]}),
    );
    assert_eq!(answer["valid"], 1, "{answer}");
    // Both or neither of public_key and key_id: a malformed request.
    let both = s.post(
        "/v1/verify",
        &json!({"items": [{"key_id": id, "public_key": to_hex(&meter.public_key(Variant::MinPk)), "message": "0x", "signature": "0x"}]}),
    );
    assert_eq!(
        (both.status, both.error_code()),
        (400, "invalid_request".into())
    );

    // Aggregate endpoints by key_ids.
    let pop = Suite::new(Scheme::Pop, Variant::MinPk);
    let gate = ArkKey::from_seed("gate-3");
    assert_eq!(
        put(s, "gate-3", &registration(&gate, Variant::MinPk)).status,
        201
    );
    let sum = |a: &[u8], b: &[u8]| {
        use ark_bls12_381::G2Affine;
        let a = G2Affine::deserialize_compressed(a).unwrap();
        let b = G2Affine::deserialize_compressed(b).unwrap();
        common::ark_keys::g2_bytes(a + b)
    };
    let agg = sum(&meter.sign(pop, b"same"), &gate.sign(pop, b"same"));
    let fast = s.post(
        "/v1/fast-aggregate-verify",
        &json!({"key_ids": [id, "gate-3"], "message": to_hex(b"same"), "signature": to_hex(&agg)}),
    );
    assert_eq!(fast.json(), json!({"valid": true}), "{}", fast.body);
    let raw = s.post(
        "/v1/fast-aggregate-verify",
        &json!({"public_keys": [to_hex(&meter.public_key(Variant::MinPk))], "message": to_hex(b"same"), "signature": to_hex(&meter.sign(pop, b"same"))}),
    );
    assert_eq!(
        (raw.status, raw.error_code()),
        (400, "registration_required".into())
    );
    let agg2 = sum(&meter.sign(pop, b"m1"), &gate.sign(pop, b"m2"));
    let aggregate = s.post(
        "/v1/aggregate-verify",
        &json!({"key_ids": [id, "gate-3"], "messages": [to_hex(b"m1"), to_hex(b"m2")], "signature": to_hex(&agg2)}),
    );
    assert_eq!(
        aggregate.json(),
        json!({"valid": true}),
        "{}",
        aggregate.body
    );
    let swapped = s.post(
        "/v1/aggregate-verify",
        &json!({"key_ids": ["gate-3", id], "messages": [to_hex(b"m1"), to_hex(b"m2")], "signature": to_hex(&agg2)}),
    );
    assert_eq!(swapped.json()["valid"], false);

    // Revocation: final, audited, refused by verification, and the id is never reused.
    let revoked = s.write("DELETE", &format!("/v1/keys/{id}"), None, Some(TOKEN));
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    let record = revoked.json();
    assert_eq!(record["revoked"], true);
    assert!(record["revoked_at"].is_string());
    let events: Vec<&str> = record["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["registered", "revoked"]);
    let answer = verify(
        s,
        json!({"items": [{"key_id": id, "message": to_hex(b"toll 1"), "signature": to_hex(&meter.sign(pop, b"toll 1"))}]}),
    );
    assert_eq!(codes(&answer), vec![Some("revoked_key".into())]);
    let fast = s.post(
        "/v1/fast-aggregate-verify",
        &json!({"key_ids": [id, "gate-3"], "message": to_hex(b"same"), "signature": to_hex(&agg)}),
    );
    assert_eq!(fast.json(), json!({"valid": false, "error": "revoked_key"}));
    assert_eq!(
        put(s, id, &registration(&meter, Variant::MinPk)).status,
        409
    );
    assert_eq!(
        s.write("DELETE", &format!("/v1/keys/{id}"), None, Some(TOKEN))
            .status,
        200
    );
    let gone = s.write("DELETE", "/v1/keys/nobody", None, Some(TOKEN));
    assert_eq!(
        (gone.status, gone.error_code()),
        (404, "unknown_key".into())
    );
}

#[test]
fn bad_registrations_get_precise_codes() {
    let f = fixture(&[]);
    let s = &f.server;
    let key = ArkKey::from_seed("k");
    let good = registration(&key, Variant::MinPk);
    let with = |field: &str, value: Value| {
        let mut body = good.clone();
        body[field] = value;
        body
    };
    let other = ArkKey::from_seed("other");
    let mut infinity = vec![0u8; 48];
    infinity[0] = 0xc0;
    let cases = [
        (
            "ok-id",
            with(
                "proof_of_possession",
                json!(to_hex(&other.prove_possession(Variant::MinPk))),
            ),
            400,
            "invalid_proof_of_possession",
        ),
        (
            "ok-id",
            with(
                "proof_of_possession",
                json!(to_hex(
                    &key.sign(Suite::default(), &key.public_key(Variant::MinPk))
                )),
            ),
            400,
            "invalid_proof_of_possession",
        ),
        (
            "ok-id",
            with("public_key", json!(to_hex(&infinity))),
            400,
            "infinity_public_key",
        ),
        (
            "ok-id",
            with("public_key", json!("0x1234")),
            400,
            "bad_length",
        ),
        (
            "ok-id",
            with("proof_of_possession", json!("nothex")),
            400,
            "malformed_hex",
        ),
        (
            "ok-id",
            with("variant", json!("min_xx")),
            400,
            "unknown_variant",
        ),
        (
            "ok-id",
            with("key_id", json!("another-id")),
            400,
            "invalid_request",
        ),
        (&*"x".repeat(129), good.clone(), 400, "invalid_key_id"),
        ("a%20b", good.clone(), 400, "invalid_key_id"),
    ];
    for (id, body, status, code) in cases {
        let answer = put(s, id, &body);
        assert_eq!(
            (answer.status, answer.error_code()),
            (status, code.to_string()),
            "{id} {body}"
        );
    }
    assert_eq!(s.get("/v1/keys/ok-id").status, 404, "nothing was written");
    // Authorization: none, wrong, or the wrong scheme get 401; reads stay open.
    for token in [None, Some("wrong"), Some("s3cret-admin-toke")] {
        let answer = s.write("PUT", "/v1/keys/ok-id", Some(&good.to_string()), token);
        assert_eq!(
            (answer.status, answer.error_code()),
            (401, "unauthorized".into())
        );
    }
    let answer = s.write("DELETE", "/v1/keys/ok-id", None, None);
    assert_eq!(answer.status, 401);
    // Without a token file, writes are refused rather than open.
    let open = Server::start(&[]);
    let answer = open.write(
        "PUT",
        "/v1/keys/ok-id",
        Some(&good.to_string()),
        Some(TOKEN),
    );
    assert_eq!(
        (answer.status, answer.error_code()),
        (403, "writes_disabled".into())
    );
    assert_eq!(open.get("/v1/keys/ok-id").status, 404);
}

#[test]
fn rogue_key_cannot_be_registered_so_the_attack_by_ids_fails() {
    let f = fixture(&[]);
    let s = &f.server;
    let pop = Suite::new(Scheme::Pop, Variant::MinPk);
    let victim = ArkKey::from_seed("victim");
    assert_eq!(
        put(s, "victim", &registration(&victim, Variant::MinPk)).status,
        201
    );
    // The attacker picks a, publishes pk_r = a·g1 − pk_v, and signs a·H(m): with raw keys the
    // sum pk_v + pk_r = a·g1 makes the aggregate "valid" although the victim signed nothing.
    let a = Fr::from(123456789u64);
    let pk_v = G1Affine::deserialize_compressed(&*victim.public_key(Variant::MinPk)).unwrap();
    let rogue = g1_bytes(G1Projective::generator() * a - pk_v);
    let message = b"pay 1000 to attacker";
    let forged_signature = g2_multiple(message, pop.dst(), a);
    let raw = s.post(
        "/v1/fast-aggregate-verify",
        &json!({"public_keys": [to_hex(&victim.public_key(Variant::MinPk)), to_hex(&rogue)], "message": to_hex(message), "signature": to_hex(&forged_signature)}),
    );
    assert_eq!(
        raw.json()["valid"],
        true,
        "the attack works on unregistered raw keys"
    );
    // Every proof the attacker can make for pk_r is refused.
    let forgeries = [
        g2_multiple(&rogue, pop.pop_dst(), a),
        victim.prove_possession(Variant::MinPk),
        g2_multiple(&rogue, pop.dst(), a),
    ];
    for forged in forgeries {
        let answer = put(
            s,
            "rogue",
            &json!({"public_key": to_hex(&rogue), "proof_of_possession": to_hex(&forged)}),
        );
        assert_eq!(
            (answer.status, answer.error_code()),
            (400, "invalid_proof_of_possession".into())
        );
    }
    // By ids the attack has nothing to name.
    let by_ids = s.post(
        "/v1/fast-aggregate-verify",
        &json!({"key_ids": ["victim", "rogue"], "message": to_hex(message), "signature": to_hex(&forged_signature)}),
    );
    assert_eq!(
        by_ids.json(),
        json!({"valid": false, "error": "unknown_key"})
    );
    let victim_only = s.post(
        "/v1/fast-aggregate-verify",
        &json!({"key_ids": ["victim"], "message": to_hex(message), "signature": to_hex(&forged_signature)}),
    );
    assert_eq!(
        victim_only.json(),
        json!({"valid": false, "error": "invalid_signature"})
    );
}

#[test]
fn batch_import_restart_and_the_import_client() {
    let dir = temp_dir("registry-batch");
    let mut s = start(&dir, &[]);
    let keys: Vec<ArkKey> = (0..12)
        .map(|i| ArkKey::from_seed(&format!("dev-{i}")))
        .collect();
    let entry = |i: usize| {
        let mut e = registration(&keys[i], Variant::MinPk);
        e["key_id"] = json!(format!("dev-{i}"));
        e
    };
    // A JSON array with one forged proof and one bad id among good entries.
    let mut entries: Vec<Value> = (0..6).map(entry).collect();
    entries[3]["proof_of_possession"] = json!(to_hex(&keys[4].prove_possession(Variant::MinPk)));
    entries.push(json!({"key_id": "bad/id", "public_key": entries[0]["public_key"], "proof_of_possession": entries[0]["proof_of_possession"]}));
    let answer = s.write(
        "POST",
        "/v1/keys/batch",
        Some(&Value::from(entries.clone()).to_string()),
        Some(TOKEN),
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    let answer = answer.json();
    let outcome: Vec<String> = answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["status"]
                .as_str()
                .or(r["error"].as_str())
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        outcome,
        [
            "created",
            "created",
            "created",
            "invalid_proof_of_possession",
            "created",
            "created",
            "invalid_key_id"
        ]
    );
    assert_eq!(
        (answer["created"].clone(), answer["failed"].clone()),
        (json!(5), json!(2))
    );
    // JSON lines; already registered entries come back as "exists".
    let lines: String = (4..8).map(|i| format!("{}\n", entry(i))).collect();
    let answer = s
        .write("POST", "/v1/keys/batch", Some(&lines), Some(TOKEN))
        .json();
    assert_eq!(
        (answer["created"].clone(), answer["existing"].clone()),
        (json!(2), json!(2)),
        "{answer}"
    );

    // Restart on the same directory: everything is still there.
    s.sigterm();
    let _ = s.child.wait();
    let s = start(&dir, &[]);
    for i in [0, 1, 2, 4, 5, 6, 7] {
        assert_eq!(s.get(&format!("/v1/keys/dev-{i}")).status, 200, "dev-{i}");
    }
    assert_eq!(s.get("/v1/keys/dev-3").status, 404);

    // The import client: registers the rest, and a rerun skips everything.
    let file = dir.join("keys.jsonl");
    let all: String = (0..12).map(|i| format!("{}\n", entry(i))).collect();
    std::fs::write(&file, all).unwrap();
    let import = || {
        let out = Command::new(env!("CARGO_BIN_EXE_tollgate"))
            .args(["keys", "import"])
            .arg(&file)
            .args([
                "--server",
                &s.base,
                "--token-file",
                &token_file(&dir),
                "--batch",
                "5",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    assert_eq!(import(), json!({"created": 5, "existing": 7, "failed": 0}));
    assert_eq!(import(), json!({"created": 0, "existing": 12, "failed": 0}));
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn parallel_registrations_lose_and_duplicate_nothing() {
    let f = fixture(&[]);
    let s = &f.server;
    let contenders: Vec<ArkKey> = (0..4)
        .map(|i| ArkKey::from_seed(&format!("c{i}")))
        .collect();
    let singles: Vec<ArkKey> = (0..8)
        .map(|i| ArkKey::from_seed(&format!("s{i}")))
        .collect();
    let bodies_same: Vec<Value> = contenders
        .iter()
        .map(|k| registration(k, Variant::MinPk))
        .collect();
    let bodies_single: Vec<Value> = singles
        .iter()
        .map(|k| registration(k, Variant::MinPk))
        .collect();
    let statuses: Vec<(String, u16, usize)> = std::thread::scope(|scope| {
        let mut handles = Vec::new();
        // Every contender registers under "shared" twice; each single key under its own id.
        for _round in 0..2 {
            for (i, body) in bodies_same.iter().enumerate() {
                handles.push(
                    scope.spawn(move || ("shared".to_string(), put(s, "shared", body).status, i)),
                );
            }
        }
        for (i, body) in bodies_single.iter().enumerate() {
            let id = format!("single-{i}");
            handles.push(scope.spawn(move || (id.clone(), put(s, &id, body).status, i)));
        }
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let shared: Vec<&(String, u16, usize)> =
        statuses.iter().filter(|(id, ..)| id == "shared").collect();
    let winners: Vec<usize> = shared
        .iter()
        .filter(|(_, st, _)| *st == 201)
        .map(|(.., i)| *i)
        .collect();
    assert_eq!(winners.len(), 1, "{statuses:?}");
    let winner = winners[0];
    for (_, status, i) in &shared {
        let expected = if *i == winner { [200, 201] } else { [409, 409] };
        assert!(expected.contains(status), "{statuses:?}");
    }
    let record = s.get("/v1/keys/shared").json();
    assert_eq!(
        record["public_key"],
        to_hex(&contenders[winner].public_key(Variant::MinPk))
    );
    assert_eq!(record["events"].as_array().unwrap().len(), 1);
    for (i, single) in singles.iter().enumerate() {
        let record = s.get(&format!("/v1/keys/single-{i}")).json();
        assert_eq!(
            record["public_key"],
            to_hex(&single.public_key(Variant::MinPk))
        );
        assert_eq!(record["events"].as_array().unwrap().len(), 1, "{record}");
    }
}
