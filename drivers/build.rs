//! With the `sim` feature, verilates the accelerator's generated top level for the `sim`
//! backend. Until the generator has written it (the first run of a fresh design), the crate
//! builds without the model and `sim::SimTransport::open` reports that the RTL is missing.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(tollgate_sim_rtl)");
    println!("cargo:rerun-if-changed=build.rs");
    #[cfg(feature = "sim")]
    verilate();
}

#[cfg(feature = "sim")]
fn verilate() {
    use std::path::Path;

    let top = tollgate_abi::TOP_MODULE;
    let rtl = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../bitstreams/rtl/{top}.v"));
    println!("cargo:rerun-if-changed={}", rtl.display());
    if !rtl.exists() {
        println!(
            "cargo:warning={} missing: sim backend unavailable; run gen-rtl",
            rtl.display()
        );
        return;
    }
    if let Err(error) = tollgate_verilator::VerilatorBuild::new(top)
        .file(&rtl)
        .build()
    {
        panic!("verilating {top}: {error}");
    }
    println!("cargo:rustc-cfg=tollgate_sim_rtl");
}
