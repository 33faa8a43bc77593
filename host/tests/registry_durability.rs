//! Durability of the embedded registry: kill -9 the server in the middle of a bulk import of
//! a 100,000-key file, after at least 20,000 keys were acknowledged and while a batch is in
//! flight; after a restart every acknowledged key is present and verifies by id, no row is
//! half-written (every key has exactly its registration event, no event lacks its key, batches
//! are all or nothing), the import client resumes over the whole file, skipping what is there,
//! and a further restart keeps all 100,000.

use crate::common;

use std::collections::HashSet;
use std::path::Path;
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
/// Acknowledged keys before the kill: a fifth of the file.
const KILL_AFTER: usize = 20_000;

fn key(i: usize) -> SecretKey {
    let mut ikm = [9u8; 32];
    ikm[..8].copy_from_slice(&(i as u64).to_le_bytes());
    SecretKey::from_ikm(&ikm).unwrap()
}

fn key_id(i: usize) -> String {
    format!("meter-{i:06}")
}

/// The import file's line for key `i`.
fn entry(i: usize) -> String {
    let sk = key(i);
    json!({
        "key_id": key_id(i),
        "public_key": to_hex(&sk.public_key(Variant::MinPk)),
        "proof_of_possession": to_hex(&sk.prove_possession(Variant::MinPk)),
    })
    .to_string()
}

/// All entries, made on every core (a proof of possession costs ~0.3 ms).
fn entries() -> Vec<String> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let per_thread = KEYS.div_ceil(threads);
    std::thread::scope(|scope| {
        let parts: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    (t * per_thread..((t + 1) * per_thread).min(KEYS))
                        .map(entry)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        parts
            .into_iter()
            .flat_map(|part| part.join().unwrap())
            .collect()
    })
}

/// (rows of `keys`, events without their key, keys without exactly one registration event),
/// read from the store file itself.
fn store_counts(data: &Path) -> (i64, i64, i64) {
    let url = format!("sqlite://{}", data.join("registry.sqlite3").display());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
        let rows = count(&mut db, "SELECT COUNT(*) FROM keys").await;
        let orphans = count(&mut db, "SELECT COUNT(*) FROM key_events e WHERE NOT EXISTS (SELECT 1 FROM keys k WHERE k.key_id = e.key_id)").await;
        let odd = count(&mut db, "SELECT COUNT(*) FROM keys k WHERE (SELECT COUNT(*) FROM key_events e WHERE e.key_id = k.key_id AND e.event = 'registered') <> 1").await;
        db.close().await.unwrap();
        (rows, orphans, odd)
    })
}

async fn count(db: &mut sqlx::SqliteConnection, sql: &str) -> i64 {
    sqlx::query(sql).fetch_one(db).await.unwrap().get(0)
}

/// Signatures by a sample of `keys` (at most 50), verified by key id: all must be valid.
fn verify_sample_by_id(server: &Server, keys: &[usize]) {
    let suite = Suite::default();
    let items: Vec<Value> = keys
        .iter()
        .step_by((keys.len() / 50).max(1))
        .map(|&i| json!({"key_id": key_id(i), "message": to_hex(b"reading"), "signature": to_hex(&key(i).sign(suite, b"reading"))}))
        .collect();
    let answer = server.post("/v1/verify", &json!({"items": items})).json();
    assert_eq!(answer["valid"], items.len(), "{answer}");
}

#[test]
fn kill_9_during_bulk_import_loses_nothing_acknowledged() {
    let started = Instant::now();
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
    let lines = entries();
    let file = dir.join("keys.jsonl");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    eprintln!("{KEYS} keys generated in {:?}", started.elapsed());
    let mut server = Server::start(&args);

    // The import, batch after batch, each posted as soon as the previous one is answered, so
    // that a batch is in flight when the kill comes.
    let mut acknowledged: HashSet<String> = HashSet::new();
    let mut sent = 0;
    let mut killed = false;
    std::thread::scope(|scope| {
        let (done, acks) = mpsc::channel::<Result<Vec<String>, String>>();
        let base = server.base.clone();
        let lines = &lines;
        scope.spawn(move || {
            let agent = ureq::AgentBuilder::new()
                .timeout(Duration::from_secs(60))
                .build();
            for chunk in lines.chunks(BATCH) {
                let answer = agent
                    .post(&format!("{base}/v1/keys/batch"))
                    .set("Authorization", &format!("Bearer {TOKEN}"))
                    .send_string(&format!("[{}]", chunk.join(",")))
                    .map_err(|e| e.to_string())
                    .and_then(|response| response.into_string().map_err(|e| e.to_string()))
                    .and_then(|body| {
                        serde_json::from_str::<Value>(&body).map_err(|e| e.to_string())
                    });
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
        });
        for ack in acks.iter() {
            sent += BATCH;
            let Ok(ids) = ack else { break };
            acknowledged.extend(ids);
            if !killed && acknowledged.len() >= KILL_AFTER {
                // The poster is already sending the next batch.
                std::thread::sleep(Duration::from_millis(50));
                server.kill9();
                killed = true;
            }
        }
    });
    assert!(killed, "the import finished before the kill");
    assert!(acknowledged.len() >= KILL_AFTER && acknowledged.len() < KEYS);
    eprintln!(
        "killed after {} acknowledged of {sent} sent, {:?} in",
        acknowledged.len(),
        started.elapsed()
    );

    // Nothing half-written: read the file directly.
    let (rows, orphans, keys_without_one_event) = store_counts(&data);
    assert_eq!((orphans, keys_without_one_event), (0, 0));
    assert!(rows as usize >= acknowledged.len() && rows as usize <= sent);
    assert_eq!(rows as usize % BATCH, 0, "batches are all or nothing");

    // Restart: every acknowledged key is there (re-registering answers "exists" without a
    // proof check) and verifies by id.
    let server = Server::start(&args);
    let acked: Vec<usize> = (0..KEYS)
        .filter(|&i| acknowledged.contains(&key_id(i)))
        .collect();
    assert_eq!(acked.len(), acknowledged.len());
    for chunk in acked.chunks(BATCH) {
        let body: Vec<&str> = chunk.iter().map(|&i| lines[i].as_str()).collect();
        let body = format!("[{}]", body.join(","));
        let answer = server.write("POST", "/v1/keys/batch", Some(&body), Some(TOKEN));
        assert_eq!(answer.json()["existing"], chunk.len(), "{}", answer.body);
    }
    verify_sample_by_id(&server, &acked);

    // The import client resumes over the whole file.
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
        KEYS as u64
    );
    assert_eq!(summary["existing"].as_u64().unwrap(), rows as u64);

    // A further restart (another kill -9) keeps all of them, whole.
    drop(server);
    let server = Server::start(&args);
    assert_eq!(store_counts(&data), (KEYS as i64, 0, 0));
    verify_sample_by_id(&server, &(0..KEYS).collect::<Vec<_>>());
    drop(server);
    eprintln!("done in {:?}", started.elapsed());
    let _ = std::fs::remove_dir_all(&dir);
}
