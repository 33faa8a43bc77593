//! `tollgate keys import`: bulk registration from a JSON-lines file, in batches, with a
//! progress bar. Resumable by running it again: the server answers ids that already hold the
//! same key with `exists` without checking their proofs again, so a rerun skips them cheaply.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::{ClientError, Server};
use crate::api::wire::{KeyBatchResponse, KeyRegistration};

/// `tollgate keys …`
#[derive(Debug, clap::Subcommand)]
pub enum KeysCommand {
    /// Register the keys of a JSON-lines file ({"key_id", "public_key", "proof_of_possession",
    /// "variant"?} per line) with POST /v1/keys/batch.
    Import(ImportArgs),
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// JSON lines, one registration per line.
    file: PathBuf,
    /// Base URL of the server.
    #[arg(long, env = "TOLLGATE_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// File holding the admin bearer token (first non-empty line).
    #[arg(long, env = "TOLLGATE_TOKEN_FILE")]
    token_file: PathBuf,
    /// Keys per request (at most the server's max_items).
    #[arg(long, default_value_t = 1000)]
    batch: usize,
    /// Requests in flight at once: with one, the server idles while each answer travels
    /// and its store commits; a few keep its cores busy.
    #[arg(long, default_value_t = 4)]
    parallel: usize,
    /// Request timeout in seconds.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
}

impl KeysCommand {
    pub fn run(self) -> anyhow::Result<()> {
        match self {
            KeysCommand::Import(args) => import(args),
        }
    }
}

fn read_token(path: &PathBuf) -> Result<String, ClientError> {
    let text = std::fs::read_to_string(path).map_err(|source| ClientError::Io {
        path: path.display().to_string(),
        source,
    })?;
    text.lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_string)
        .ok_or_else(|| ClientError::Usage(format!("{} holds no token", path.display())))
}

fn read_entries(path: &PathBuf) -> Result<Vec<KeyRegistration>, ClientError> {
    let io = |source| ClientError::Io {
        path: path.display().to_string(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut entries = Vec::new();
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(io)?;
        if line.trim().is_empty() {
            continue;
        }
        entries.push(
            serde_json::from_str(&line).map_err(|source| ClientError::Json {
                what: format!("{} line {}", path.display(), n + 1),
                source,
            })?,
        );
    }
    Ok(entries)
}

/// Keys the server answered, over all batches.
#[derive(Default)]
struct Tally {
    created: usize,
    existing: usize,
    failed: usize,
}

fn import(args: ImportArgs) -> anyhow::Result<()> {
    if args.batch == 0 || args.parallel == 0 {
        return Err(ClientError::Usage("--batch and --parallel must be at least 1".into()).into());
    }
    let token = read_token(&args.token_file)?;
    let entries = read_entries(&args.file)?;
    let server = Server::new(&args.server, Duration::from_secs(args.timeout));
    let bar = ProgressBar::new(entries.len() as u64);
    bar.set_style(ProgressStyle::with_template(
        "{bar:40} {pos}/{len} keys, {per_sec}, eta {eta} {msg}",
    )?);
    let chunks: Vec<&[KeyRegistration]> = entries.chunks(args.batch).collect();
    let next = AtomicUsize::new(0);
    let tally = Mutex::new(Tally::default());
    // Each sender takes the next batch until none is left or one fails; the server's answers
    // are independent per key, so their order does not matter and a rerun resumes.
    let send = || -> anyhow::Result<()> {
        while let Some(chunk) = chunks.get(next.fetch_add(1, Ordering::Relaxed)) {
            let body = serde_json::to_string(chunk)?;
            let answer = server.post_ok_authorized("/v1/keys/batch", &body, &token)?;
            let response: KeyBatchResponse =
                serde_json::from_str(&answer).map_err(|source| ClientError::Json {
                    what: "the batch answer".into(),
                    source,
                })?;
            for result in response.results.iter().filter(|r| r.error.is_some()) {
                bar.suspend(|| {
                    eprintln!(
                        "{}: {}",
                        result.key_id,
                        result.error.as_deref().unwrap_or_default()
                    )
                });
            }
            let mut tally = tally.lock().expect("tally");
            tally.created += response.created;
            tally.existing += response.existing;
            tally.failed += response.failed;
            bar.set_message(format!(
                "({} new, {} already there, {} refused)",
                tally.created, tally.existing, tally.failed
            ));
            bar.inc(chunk.len() as u64);
        }
        Ok(())
    };
    std::thread::scope(|scope| {
        let senders: Vec<_> = (0..args.parallel.min(chunks.len()))
            .map(|_| scope.spawn(send))
            .collect();
        senders
            .into_iter()
            .try_for_each(|s| s.join().expect("import sender"))
    })?;
    bar.finish();
    let tally = tally.into_inner().expect("tally");
    println!(
        "{}",
        serde_json::json!({"created": tally.created, "existing": tally.existing, "failed": tally.failed})
    );
    if tally.failed > 0 {
        return Err(ClientError::Usage(format!("{} keys were refused", tally.failed)).into());
    }
    Ok(())
}
