use clap::{Parser, Subcommand};

/// Tollgate: batch verification of BLS12-381 signatures.
#[derive(Debug, Parser)]
#[command(name = "tollgate", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the verification service (HTTP API).
    // Boxed: the settings dwarf the client commands, and the enum is as large as its largest.
    Serve(Box<tollgate::config::ServeArgs>),
    #[command(flatten)]
    Client(tollgate::client::Command),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Serve(args) => {
            tollgate::logging::init();
            tollgate::http::serve(tollgate::config::Settings::resolve(&args)?)
        }
        Command::Client(command) => command.run(),
    }
}
