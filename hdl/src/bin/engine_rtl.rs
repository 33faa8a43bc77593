//! Write the Verilog of an engine core that is not committed RTL: the whole-verification core,
//! or the standard core with the ISA extensions it does not use (to measure their cost with
//! yosys, see bench/RESULTS.md "Whole verification (microcode)").

use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use tollgate_hdl::engine::{EngineCore, EngineParams, Extensions};
use tollgate_microcode::compile::BANKS;

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
    /// Banks to declare as UltraRAM (`ram_style = "ultra"`), e.g. `0,1,2`, for synthesis.
    #[arg(long, value_delimiter = ',')]
    ultra_ram_banks: Vec<usize>,
    /// Name of the top module.
    #[arg(long)]
    top: String,
    /// Output file.
    #[arg(long)]
    out: PathBuf,
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let mut params: EngineParams = match args.core {
        Core::Standard => EngineParams::standard().clone(),
        Core::Verify => EngineParams::verification().clone(),
    };
    // The verification ROM uses both extensions already.
    if let Features::All = args.extensions {
        params.extensions = Extensions::ALL;
    }
    for bank in args.ultra_ram_banks {
        *params.ultra_ram_banks.get_mut(bank).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("no bank {bank}: the core has {BANKS}"),
            )
        })? = true;
    }
    let params: &'static EngineParams = Box::leak(Box::new(params));
    std::fs::write(
        &args.out,
        tollgate_hdl::rtl::emit(&args.top, EngineCore::for_params(params)),
    )
}
