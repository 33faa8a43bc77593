//! Client tools: make keys, sign, build batches, submit them and load a running server.

/// The client subcommands of `tollgate`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {}

impl Command {
    pub fn run(self) -> anyhow::Result<()> {
        match self {}
    }
}
