//! Write every design's Verilog into `bitstreams/rtl/` and its manifest into
//! `bitstreams/<design>/manifest.json` (or, with `--check`, verify they are current).

use std::path::PathBuf;

use clap::Parser;
use tollgate_hdl::rtl::{designs, manifest};

#[derive(Parser)]
#[command(about = "Generate the accelerator RTL and manifests")]
struct Args {
    /// The `bitstreams/` directory.
    #[arg(long, default_value_os_t = default_root())]
    out: PathBuf,
    /// Compare with what is on disk instead of writing.
    #[arg(long)]
    check: bool,
    /// Only these designs (default: all).
    #[arg(long)]
    design: Vec<String>,
}

fn default_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../bitstreams")
}

fn main() -> Result<(), manifest::RtlError> {
    tracing_subscriber::fmt().with_target(false).init();
    let args = Args::parse();
    for design in designs() {
        if !args.design.is_empty() && !args.design.iter().any(|d| d == design.name) {
            continue;
        }
        let generated = manifest::generate(&design);
        if args.check {
            generated.check(&args.out)?;
            tracing::info!(design = design.name, "up to date");
        } else {
            generated.write(&args.out)?;
            tracing::info!(
                design = design.name,
                files = generated.files.len(),
                "written"
            );
        }
    }
    Ok(())
}
