//! Verilate the committed RTL into the models of `tollgate_hdl::sim` (built once per OUT_DIR;
//! cargo reruns this only when a listed file changes). To simulate another design, add its
//! file and top module to MODELS and an `include_model!` line to src/sim.rs. The RTL must
//! exist (it is committed; gen-rtl rewrites it in place).

use std::path::Path;

/// (file under bitstreams/rtl/, top module, whether it holds a microcode ROM)
const MODELS: &[(&str, &str, bool)] = &[
    ("leaf_mul.v", "leaf_mul", false),
    ("fp_mont_mul.v", "fp_mont_mul", false),
    ("fp_add_sub.v", "fp_add_sub", false),
    ("engine_core.v", "engine_core", true),
];

fn main() {
    let rtl = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bitstreams/rtl");
    println!("cargo:rerun-if-changed=build.rs");
    for (file, top, rom) in MODELS {
        let path = rtl.join(file);
        println!("cargo:rerun-if-changed={}", path.display());
        let mut build = tollgate_verilator::VerilatorBuild::new(top).file(&path);
        if *rom {
            // The ROM is one `initial` block, run once: split the C++ functions and compile
            // that code unoptimised (g++ -O1 takes many minutes over it); the per-cycle code
            // stays at -O2. As the drivers' top levels.
            build = build
                .arg("--output-split-cfuncs")
                .arg("1000")
                .cold_unoptimised();
        }
        if let Err(e) = build.build() {
            panic!("verilating {top}: {e}");
        }
    }
}
