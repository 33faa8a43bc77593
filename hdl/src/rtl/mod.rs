//! The RTL generator: a list of designs, each a set of Verilog files under
//! `bitstreams/rtl/` recorded in `bitstreams/<design>/manifest.json`.
//!
//! To add a design, append a [`Design`] to [`designs`] whose [`RtlModule`]s each name an
//! output file, a Verilog top-module name and a function that builds the rust-hdl block and
//! returns [`emit`]`(top, block)`. `cargo run -p tollgate-hdl --bin gen-rtl` then writes the
//! files and the manifest; the `committed_rtl_is_generated` test fails until they are
//! committed.

pub mod manifest;

use rust_hdl::prelude::*;

use crate::field::add_sub::FpAddSub;
use crate::field::leaf::LeafMul;
use crate::field::mont_mul::FpMontMul;

/// Version of the port interface of the field-core modules (bump on any port change).
pub const FIELD_CORE_ABI_VERSION: u32 = 1;
/// Tag width of the standalone field-core RTL.
pub const FIELD_CORE_TAG_BITS: usize = 16;
/// FPGA part the designs are sized for (AWS F1's VU9P).
pub const TARGET_PART: &str = "xcvu9p-flgb2104-2-i";
/// Clock assumed by every performance figure.
pub const CLOCK_MHZ: u32 = 250;

/// One Verilog file of a design.
pub struct RtlModule {
    /// File name under `bitstreams/rtl/`.
    pub file: &'static str,
    /// Name of the top module in that file.
    pub top: &'static str,
    /// Builds the Verilog text.
    pub build: fn() -> String,
    /// Whether the text carries [`crate::top::DESIGN_HASH_LINE`], to be filled with the
    /// SHA-256 of the text as built (hash zero), which the manifest records as `design_hash`.
    pub design_hashed: bool,
}

/// A design: what `gen-rtl` writes and the manifest records.
pub struct Design {
    pub name: &'static str,
    pub abi_version: u32,
    pub target_part: &'static str,
    pub clock_mhz: u32,
    pub modules: Vec<RtlModule>,
}

/// Every design the generator knows about.
pub fn designs() -> Vec<Design> {
    vec![
        Design {
            name: "field_core",
            abi_version: FIELD_CORE_ABI_VERSION,
            target_part: TARGET_PART,
            clock_mhz: CLOCK_MHZ,
            modules: vec![
                RtlModule {
                    file: "leaf_mul.v",
                    top: "leaf_mul",
                    build: || emit("leaf_mul", LeafMul::default()),
                    design_hashed: false,
                },
                RtlModule {
                    file: "fp_mont_mul.v",
                    top: "fp_mont_mul",
                    build: || emit("fp_mont_mul", FpMontMul::<FIELD_CORE_TAG_BITS>::default()),
                    design_hashed: false,
                },
                RtlModule {
                    file: "fp_add_sub.v",
                    top: "fp_add_sub",
                    build: || emit("fp_add_sub", FpAddSub::<FIELD_CORE_TAG_BITS>::default()),
                    design_hashed: false,
                },
            ],
        },
        // The curve engine core (issue #4): see crate::engine.
        Design {
            name: "engine_core",
            abi_version: crate::engine::ENGINE_CORE_PORTS_VERSION,
            target_part: TARGET_PART,
            clock_mhz: CLOCK_MHZ,
            modules: vec![RtlModule {
                file: "engine_core.v",
                top: "engine_core",
                build: || emit("engine_core", crate::engine::EngineCore::default()),
                design_hashed: false,
            }],
        },
        // The accelerator (issues #4, #5): the ABI's register map around the engine.
        Design {
            name: tollgate_abi::DESIGN,
            abi_version: tollgate_abi::ABI_VERSION,
            target_part: TARGET_PART,
            clock_mhz: CLOCK_MHZ,
            modules: vec![RtlModule {
                file: "tollgate_top.v",
                top: tollgate_abi::TOP_MODULE,
                build: || emit(tollgate_abi::TOP_MODULE, crate::top::TollgateTop::default()),
                design_hashed: true,
            }],
        },
        // The whole-verification accelerator (issue #9): the same register map around the
        // verification engine.
        Design {
            name: tollgate_abi::VERIFY_DESIGN,
            abi_version: tollgate_abi::ABI_VERSION,
            target_part: TARGET_PART,
            clock_mhz: CLOCK_MHZ,
            modules: vec![RtlModule {
                file: "tollgate_top_verify.v",
                top: tollgate_abi::VERIFY_TOP_MODULE,
                build: || {
                    emit(
                        tollgate_abi::VERIFY_TOP_MODULE,
                        crate::top::TollgateTop::for_params(crate::top::TopParams::verification()),
                    )
                },
                design_hashed: true,
            }],
        },
    ]
}

/// `text` with its [`crate::top::DESIGN_HASH_LINE`] holding `hash` (word i of the identity
/// page = bytes 4i..4i+4 little-endian, so the 256-bit constant is word 7 first).
pub fn fill_design_hash(text: &str, hash: &[u8; 32]) -> String {
    let line = crate::top::DESIGN_HASH_LINE;
    assert_eq!(
        text.matches(line).count(),
        1,
        "exactly one design-hash line"
    );
    let words = tollgate_abi::design_hash_words(hash);
    let hex: String = words.iter().rev().map(|w| format!("{w:08x}")).collect();
    text.replace(line, &line.replace("256'h0", &format!("256'h{hex}")))
}

/// Verilog for a rust-hdl block as top module `top`; rust-hdl's module names
/// (`top`, `top$child$…`) are renamed under `top` so several files can share one netlist.
pub fn emit<U: Block>(top: &str, mut block: U) -> String {
    block.connect_all();
    let verilog = generate_verilog(&block);
    let mut out = String::with_capacity(verilog.len() + 64);
    out.push_str(
        "// Generated by `cargo run -p tollgate-hdl --bin gen-rtl` from rust-hdl; do not edit.\n",
    );
    for line in verilog.lines() {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        let renamed = if let Some(rest) = trimmed.strip_prefix("module top") {
            format!("module {top}{rest}")
        } else if let Some(rest) = trimmed.strip_prefix("endmodule // top") {
            format!("endmodule // {top}{rest}")
        } else if let Some(rest) = trimmed.strip_prefix("top$") {
            format!("{top}${rest}")
        } else {
            trimmed.to_string()
        };
        out.push_str(indent);
        out.push_str(renamed.trim_end());
        out.push('\n');
    }
    out
}
