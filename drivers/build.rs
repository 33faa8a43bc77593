//! With the `sim` feature, verilates the accelerator's generated top levels (every design of
//! `tollgate_abi`: the standard one and the whole-verification one) for the `sim` backend.
//! Until the generator has written them (the first run of a fresh design), the crate builds
//! without the models and `sim::SimTransport::open` reports that the RTL is missing.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(tollgate_sim_rtl)");
    println!("cargo:rerun-if-changed=build.rs");
    #[cfg(feature = "sim")]
    verilate();
}

#[cfg(feature = "sim")]
fn verilate() {
    use std::path::Path;

    let tops = [tollgate_abi::TOP_MODULE, tollgate_abi::VERIFY_TOP_MODULE];
    let rtl = |top: &str| {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../bitstreams/rtl/{top}.v"))
    };
    for top in tops {
        println!("cargo:rerun-if-changed={}", rtl(top).display());
    }
    if let Some(missing) = tops.iter().map(|t| rtl(t)).find(|path| !path.exists()) {
        println!(
            "cargo:warning={} missing: sim backend unavailable; run gen-rtl",
            missing.display()
        );
        return;
    }
    for top in tops {
        // Each ROM is one `initial` block: split the C++ functions and leave that run-once
        // code unoptimised, or g++ -O1 takes many minutes over it (the simulation's per-cycle
        // code stays at -O2).
        let build = tollgate_verilator::VerilatorBuild::new(top)
            .file(rtl(top))
            .arg("--output-split-cfuncs")
            .arg("1000")
            .cold_unoptimised();
        if let Err(error) = build.build() {
            panic!("verilating {top}: {error}");
        }
    }
    println!("cargo:rustc-cfg=tollgate_sim_rtl");
}
