//! Verilate the committed RTL into the models of `tollgate_hdl::sim` (built once per OUT_DIR;
//! cargo reruns this only when a listed file changes). To simulate another design, add its
//! file and top module to MODELS and an `include_model!` line to src/sim.rs. The RTL must
//! exist (it is committed; gen-rtl rewrites it in place).

use std::path::Path;

/// (file under bitstreams/rtl/, top module)
const MODELS: &[(&str, &str)] = &[
    ("leaf_mul.v", "leaf_mul"),
    ("fp_mont_mul.v", "fp_mont_mul"),
    ("fp_add_sub.v", "fp_add_sub"),
    ("engine_core.v", "engine_core"),
];

fn main() {
    let rtl = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bitstreams/rtl");
    println!("cargo:rerun-if-changed=build.rs");
    for (file, top) in MODELS {
        let path = rtl.join(file);
        println!("cargo:rerun-if-changed={}", path.display());
        if let Err(e) = tollgate_verilator::VerilatorBuild::new(top)
            .file(&path)
            .build()
        {
            panic!("verilating {top}: {e}");
        }
    }
}
