//! Durability of the embedded registry: kill -9 the server in the middle of a bulk import of
//! 100,000 keys; after a restart every acknowledged key is present and verifies by id, no row
//! is half-written (every key has exactly its registration event, no event lacks its key),
//! and the import client resumes, skipping what is already there.

use crate::common;

use std::collections::HashSet;
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{temp_dir, Server};
use serde_json::{json, Value};
use sqlx::{Connection, Row};
use tollgate::api::wire::to_hex;
use tollgate::signer::SecretKey;
use tollgate::suite::{Suite, Variant};

const TOKEN: &str = "durable-token";
const KEYS: usize = 100_000;
const BATCH: usize = 1000;

fn key(i: usize) -> SecretKey {
    let mut ikm = [9u8; 32];
    ikm[..8].copy_from_slice(&(i as u64).to_le_bytes());
    SecretKey::from_ikm(&ikm).unwrap()
}

fn entry(i: usize) -> Value {
    let sk = key(i);
    json!({
        "key_id": format!("meter-{i:06}"),
        "public_key": to_hex(&sk.public_key(Variant::MinPk)),
        "proof_of_possession": to_hex(&sk.prove_possession(Variant::MinPk)),
    })
}

#[test]
fn kill_9_during_bulk_import_loses_nothing_acknowledged() {
    let dir = temp_dir("durability");
    let tokens = dir.join("tokens");
    std::fs::write(&tokens, TOKEN).unwrap();
    let data = dir.join("data");
    let args = [
        "--data-dir",
        data.to_str().unwrap(),
        "--admin-token-file",
        tokens.to_str().unwrap(),
    ];
    let mut server = Server::start(&args);

    // Two generator threads make batches of the 100,000 keys ahead of the poster.
    let (batches, ready) = mpsc::sync_channel::<(usize, Vec<Value>)>(4);
    let generators: Vec<_> = (0..2)
        .map(|g| {
            let batches = batches.clone();
            std::thread::spawn(move || {
                for b in (g..KEYS / BATCH).step_by(2) {
                    let entries = (b * BATCH..(b + 1) * BATCH).map(entry).collect();
                    if batches.send((b, entries)).is_err() {
                        return;
                    }
                }
            })
        })
        .collect();
    drop(batches);

    let mut sent: Vec<Value> = Vec::new();
    let mut acknowledged: HashSet<String> = HashSet::new();
    let started = Instant::now();
    let (kill_after, mut killed) = (Duration::from_secs(6), false);
    let poster = std::thread::scope(|scope| {
        let (done, acks) = mpsc::channel::<Result<Vec<String>, String>>();
        let base = server.base.clone();
        let handle = scope.spawn(move || {
            let agent = ureq::AgentBuilder::new()
                .timeout(Duration::from_secs(60))
                .build();
            let mut posted = Vec::new();
            for (_, entries) in ready.iter() {
                posted.extend(entries.iter().cloned());
                let result = agent
                    .post(&format!("{base}/v1/keys/batch"))
                    .set("Authorization", &format!("Bearer {TOKEN}"))
                    .send_string(&Value::from(entries).to_string());
                let answer = match result {
                    Ok(response) => {
                        response
                            .into_string()
                            .map_err(|e| e.to_string())
                            .and_then(|body| {
                                serde_json::from_str::<Value>(&body).map_err(|e| e.to_string())
                            })
                    }
                    Err(e) => Err(e.to_string()),
                };
                let acked = answer.map(|a| {
                    a["results"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter(|r| r["status"].is_string())
                        .map(|r| r["key_id"].as_str().unwrap().to_string())
                        .collect()
                });
                let failed = acked.is_err();
                if done.send(acked).is_err() || failed {
                    break;
                }
            }
            posted
        });
        // Kill while batches are in flight, after at least a few were acknowledged.
        loop {
            match acks.recv_timeout(Duration::from_millis(50)) {
                Ok(Ok(ids)) => acknowledged.extend(ids),
                Ok(Err(_)) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            if !killed && started.elapsed() > kill_after && acknowledged.len() >= 2 * BATCH {
                server.kill9();
                killed = true;
            }
        }
        handle.join().unwrap()
    });
    sent.extend(poster);
    assert!(killed, "the import finished before the kill");
    for g in generators {
        g.join().unwrap();
    }
    assert!(acknowledged.len() < KEYS);
    eprintln!(
        "killed after {} acknowledged of {} sent",
        acknowledged.len(),
        sent.len()
    );

    // Nothing half-written: read the file directly.
    let url = format!("sqlite://{}", data.join("registry.sqlite3").display());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (rows, orphans, keys_without_one_event): (i64, i64, i64) = runtime.block_on(async {
        let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
        let count = |sql: &'static str| sqlx::query(sql);
        let rows = count("SELECT COUNT(*) FROM keys").fetch_one(&mut db).await.unwrap().get(0);
        let orphans = count("SELECT COUNT(*) FROM key_events e WHERE NOT EXISTS (SELECT 1 FROM keys k WHERE k.key_id = e.key_id)")
            .fetch_one(&mut db).await.unwrap().get(0);
        let odd = count("SELECT COUNT(*) FROM keys k WHERE (SELECT COUNT(*) FROM key_events e WHERE e.key_id = k.key_id AND e.event = 'registered') <> 1")
            .fetch_one(&mut db).await.unwrap().get(0);
        db.close().await.unwrap();
        (rows, orphans, odd)
    });
    assert_eq!((orphans, keys_without_one_event), (0, 0));
    assert!(rows as usize >= acknowledged.len() && rows as usize <= sent.len());
    assert_eq!(rows as usize % BATCH, 0, "batches are all or nothing");

    // Restart: every acknowledged key is there (re-registering answers "exists") and verifies.
    let server = Server::start(&args);
    let acked_entries: Vec<&Value> = sent
        .iter()
        .filter(|e| acknowledged.contains(e["key_id"].as_str().unwrap()))
        .collect();
    for chunk in acked_entries.chunks(BATCH) {
        let body = Value::from(chunk.iter().map(|e| (*e).clone()).collect::<Vec<_>>());
        let answer = server.write(
            "POST",
            "/v1/keys/batch",
            Some(&body.to_string()),
            Some(TOKEN),
        );
        assert_eq!(answer.json()["existing"], chunk.len(), "{}", answer.body);
    }
    let suite = Suite::default();
    let sample: Vec<usize> = acked_entries
        .iter()
        .step_by((acked_entries.len() / 50).max(1))
        .map(|e| e["key_id"].as_str().unwrap()[6..].parse().unwrap())
        .collect();
    let items: Vec<Value> = sample
        .iter()
        .map(|&i| json!({"key_id": format!("meter-{i:06}"), "message": to_hex(b"reading"), "signature": to_hex(&key(i).sign(suite, b"reading"))}))
        .collect();
    let answer = server.post("/v1/verify", &json!({"items": items})).json();
    assert_eq!(answer["valid"], sample.len(), "{answer}");

    // The import client resumes over everything that was sent.
    let file = dir.join("sent.jsonl");
    let lines: String = sent.iter().map(|e| format!("{e}\n")).collect();
    std::fs::write(&file, lines).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(["keys", "import"])
        .arg(&file)
        .args([
            "--server",
            &server.base,
            "--token-file",
            tokens.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["failed"], 0);
    assert_eq!(
        summary["created"].as_u64().unwrap() + summary["existing"].as_u64().unwrap(),
        sent.len() as u64
    );
    assert!(summary["existing"].as_u64().unwrap() >= acknowledged.len() as u64);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
