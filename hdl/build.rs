//! Verilate the committed RTL for this crate's tests (built once per OUT_DIR; cargo reruns
//! this only when a listed file changes). To simulate another design, add its file and top
//! module to MODELS.

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
        if !path.exists() {
            // First run of the generator: nothing to verilate yet.
            println!("cargo:warning={} missing; run gen-rtl", path.display());
            continue;
        }
        if let Err(e) = tollgate_verilator::VerilatorBuild::new(top).file(&path).build() {
            panic!("verilating {top}: {e}");
        }
    }
}
