//! Write the Verilog of an engine core that is not committed RTL: the whole-verification core,
//! or the standard core with the ISA extensions it does not use (to measure their cost with
//! yosys, see bench/RESULTS.md "Whole verification (microcode)").

use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use tollgate_hdl::engine::{EngineCore, EngineParams, Extensions};
use tollgate_microcode::compile::EngineConfig;

#[derive(Clone, Copy, ValueEnum)]
enum Core {
    /// The top level's core (`EngineParams::standard`).
    Standard,
    /// The whole-verification core (`EngineParams::verification`).
    Verify,
}

#[derive(Clone, Copy, ValueEnum)]
enum Features {
    /// Those the ROM uses (what the core is built with).
    Used,
    /// Constant table and computed flags, used or not.
    All,
}

#[derive(Parser)]
#[command(about = "Generate an engine core's Verilog for other parameters")]
struct Args {
    /// Which core.
    #[arg(long, value_enum, default_value = "verify")]
    core: Core,
    /// Which ISA extensions it implements.
    #[arg(long, value_enum, default_value = "used")]
    extensions: Features,
    /// Name of the top module.
    #[arg(long)]
    top: String,
    /// Output file.
    #[arg(long)]
    out: PathBuf,
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let params: &'static EngineParams = match (args.core, args.extensions) {
        (Core::Standard, Features::Used) => EngineParams::standard(),
        // Its ROM uses both extensions.
        (Core::Verify, _) => EngineParams::verification(),
        (Core::Standard, Features::All) => {
            let mut p = EngineParams::new(EngineConfig::DEFAULT)
                .expect("the default configuration fits the core");
            p.extensions = Extensions::ALL;
            Box::leak(Box::new(p))
        }
    };
    std::fs::write(
        &args.out,
        tollgate_hdl::rtl::emit(&args.top, EngineCore::for_params(params)),
    )
}
