//! Client tools: make keys, sign, build batches, submit them and load a running server.

mod batch;
mod error;
mod fuzz;
mod hexarg;
mod http;
mod import;
mod keys;
pub mod load;
mod submit;

pub use batch::{generate_batch, off_curve_signature, BatchSpec, Corruption, GeneratedBatch};
pub use error::ClientError;
pub use fuzz::{fuzz, FuzzArgs, FuzzReport};
pub use http::Server;

/// The client subcommands of `tollgate`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Make a secret key; print it with its public key and proof of possession (JSON).
    Keygen(keys::KeygenArgs),
    /// Sign a message; print the signed item as the API carries it (JSON).
    Sign(keys::SignArgs),
    /// Write N signed items as a /v1/verify request, optionally with chosen bad items.
    GenBatch(batch::GenBatchArgs),
    /// Post a request file to a running server and print the verdict summary.
    Submit(submit::SubmitArgs),
    /// Load a running server with concurrent clients; report throughput and latency.
    Load(load::LoadArgs),
    /// Key registry tools.
    #[command(subcommand)]
    Keys(import::KeysCommand),
    /// Send malformed, truncated, oversized and mutated requests to a running server; check
    /// every answer against the API's contract, then that it still verifies correctly.
    Fuzz(fuzz::FuzzArgs),
}

impl Command {
    pub fn run(self) -> anyhow::Result<()> {
        match self {
            Command::Keygen(args) => keys::keygen(args),
            Command::Sign(args) => keys::sign(args),
            Command::GenBatch(args) => batch::run(args),
            Command::Submit(args) => submit::run(args),
            Command::Load(args) => load::run(args),
            Command::Keys(command) => command.run(),
            Command::Fuzz(args) => fuzz::run(args),
        }
    }
}
