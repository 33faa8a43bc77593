//! `tollgate submit`: post a request file and summarize the answer.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::{ClientError, Server};
use crate::api::wire::{Priority, VerifyResponse};

#[derive(Debug, clap::Args)]
pub struct SubmitArgs {
    /// The request body: a JSON file (e.g. written by `tollgate gen-batch`).
    file: PathBuf,
    /// Base URL of the server.
    #[arg(long, env = "TOLLGATE_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// Endpoint to post to. For /v1/verify the verdicts are summarized; other answers are printed.
    #[arg(long, default_value = "/v1/verify")]
    path: String,
    /// A `{"bad": [..]}` file from `gen-batch --bad-out`: fail unless exactly these items are invalid.
    #[arg(long)]
    expect_bad: Option<PathBuf>,
    /// Latency class to ask for (sets the body's "priority"; the file's own is kept when absent).
    #[arg(long, value_enum)]
    priority: Option<Priority>,
    /// Request timeout in seconds.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
}

#[derive(Deserialize)]
struct BadFile {
    bad: Vec<usize>,
}

/// The bad positions a verify answer reports, with their error codes, in item order.
pub fn invalid_items(response: &VerifyResponse) -> Vec<(usize, &str)> {
    response
        .results
        .iter()
        .enumerate()
        .filter(|(_, v)| !v.valid)
        .map(|(i, v)| (i, v.error.as_deref().unwrap_or("")))
        .collect()
}

pub fn run(args: SubmitArgs) -> anyhow::Result<()> {
    let mut body = read(&args.file)?;
    if let Some(priority) = args.priority {
        body = with_priority(&body, priority).map_err(|source| ClientError::Json {
            what: args.file.display().to_string(),
            source,
        })?;
    }
    let server = Server::new(&args.server, Duration::from_secs(args.timeout));
    let answer = server.post_ok(&args.path, &body)?;
    if args.path != "/v1/verify" {
        println!("{answer}");
        return Ok(());
    }
    let response: VerifyResponse =
        serde_json::from_str(&answer).map_err(|source| ClientError::Json {
            what: "the verify answer".into(),
            source,
        })?;
    println!(
        "{} items: {} valid, {} invalid",
        response.results.len(),
        response.valid,
        response.invalid
    );
    let invalid = invalid_items(&response);
    for (position, code) in &invalid {
        println!("  item {position}: {code}");
    }
    if let Some(path) = &args.expect_bad {
        let expected: BadFile =
            serde_json::from_str(&read(path)?).map_err(|source| ClientError::Json {
                what: path.display().to_string(),
                source,
            })?;
        let got: Vec<usize> = invalid.iter().map(|(p, _)| *p).collect();
        if got != expected.bad {
            return Err(ClientError::UnexpectedVerdicts {
                expected: expected.bad,
                flagged: got,
            }
            .into());
        }
        println!("flagged items match {}", path.display());
    }
    Ok(())
}

/// The JSON object `body` with its "priority" set (a non-object is left for the server to refuse).
fn with_priority(body: &str, priority: Priority) -> Result<String, serde_json::Error> {
    let mut value: serde_json::Value = serde_json::from_str(body)?;
    if let Some(object) = value.as_object_mut() {
        object.insert("priority".into(), serde_json::to_value(priority)?);
    }
    serde_json::to_string(&value)
}

fn read(path: &PathBuf) -> Result<String, ClientError> {
    std::fs::read_to_string(path).map_err(|source| ClientError::Io {
        path: path.display().to_string(),
        source,
    })
}
