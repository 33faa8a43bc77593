//! Two `tollgate serve` replicas sharing one real PostgreSQL (started by this test): a key
//! registered on one verifies on the other; a revocation on one is refused by the other within
//! 1 s although the other had the key cached; racing registrations across replicas leave one
//! row and one event per id.

use crate::common;

use std::time::{Duration, Instant};

use common::ark_keys::ArkKey;
use common::postgres::Postgres;
use common::{temp_dir, Server};
use serde_json::{json, Value};
use tollgate::api::wire::to_hex;
use tollgate::suite::{Suite, Variant};

const TOKEN: &str = "replica-token";

fn registration(key: &ArkKey) -> String {
    json!({
        "public_key": to_hex(&key.public_key(Variant::MinPk)),
        "proof_of_possession": to_hex(&key.prove_possession(Variant::MinPk)),
    })
    .to_string()
}

fn verify_by_id(server: &Server, id: &str, key: &ArkKey) -> Value {
    let item = json!({"key_id": id, "message": to_hex(b"kWh 12"), "signature": to_hex(&key.sign(Suite::default(), b"kWh 12"))});
    server.post("/v1/verify", &json!({"items": [item]})).json()["results"][0].clone()
}

#[test]
fn replicas_share_registrations_and_revocations() {
    let dir = temp_dir("postgres");
    let pg = Postgres::start(&dir);
    let tokens = dir.join("tokens");
    std::fs::write(&tokens, TOKEN).unwrap();
    let url = pg.url();
    let args = [
        "--registry-url",
        url.as_str(),
        "--admin-token-file",
        tokens.to_str().unwrap(),
    ];
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| Server::start(&args));
        let b = s.spawn(|| Server::start(&args));
        (a.join().unwrap(), b.join().unwrap())
    });

    let charger = ArkKey::from_seed("charger-42");
    let put = a.write(
        "PUT",
        "/v1/keys/charger-42",
        Some(&registration(&charger)),
        Some(TOKEN),
    );
    assert_eq!(put.status, 201, "{}", put.body);
    assert_eq!(
        verify_by_id(&b, "charger-42", &charger),
        json!({"valid": true})
    );
    assert_eq!(
        verify_by_id(&b, "charger-42", &charger),
        json!({"valid": true}),
        "cached now"
    );

    let revoked = a.write("DELETE", "/v1/keys/charger-42", None, Some(TOKEN));
    assert_eq!(revoked.status, 200);
    let at = Instant::now();
    loop {
        let verdict = verify_by_id(&b, "charger-42", &charger);
        if verdict == json!({"valid": false, "error": "revoked_key"}) {
            break;
        }
        assert_eq!(verdict, json!({"valid": true}));
        assert!(
            at.elapsed() < Duration::from_secs(1),
            "replica b still accepts after 1 s"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    eprintln!(
        "revocation seen by the other replica after {:?}",
        at.elapsed()
    );
    assert_eq!(b.get("/v1/keys/charger-42").json()["revoked"], true);

    // Racing registrations of the same ids on both replicas.
    let keys: Vec<ArkKey> = (0..4)
        .map(|i| ArkKey::from_seed(&format!("race-{i}")))
        .collect();
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let mut handles = Vec::new();
        for key in &keys {
            for server in [&a, &b, &a, &b] {
                let body = registration(key);
                handles.push(s.spawn(move || {
                    server
                        .write("PUT", "/v1/keys/race", Some(&body), Some(TOKEN))
                        .status
                }));
            }
        }
        for (i, key) in keys.iter().enumerate() {
            for server in [&a, &b] {
                let body = registration(key);
                handles.push(s.spawn(move || {
                    server
                        .write(
                            "PUT",
                            &format!("/v1/keys/own-{i}"),
                            Some(&body),
                            Some(TOKEN),
                        )
                        .status
                }));
            }
        }
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        statuses[..16].iter().filter(|&&s| s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(statuses[..16].iter().all(|s| [200, 201, 409].contains(s)));
    assert_eq!(
        statuses[16..].iter().filter(|&&s| s == 201).count(),
        4,
        "{statuses:?}"
    );
    for id in ["race", "own-0", "own-1", "own-2", "own-3"] {
        let record = b.get(&format!("/v1/keys/{id}")).json();
        assert_eq!(record["events"].as_array().unwrap().len(), 1, "{record}");
    }
    drop((a, b));
    drop(pg);
    let _ = std::fs::remove_dir_all(&dir);
}
