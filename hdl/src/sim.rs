//! Verilated models of the committed field-core and engine-core RTL, built by this crate's build.rs through
//! `tollgate-verilator` and linked into anything that depends on this crate (tests, bench,
//! the drivers' simulated device): `Model::new(&sim::FP_MONT_MUL)`; and models of engine
//! cores generated at run time for other parameters ([`generated_engine_core`]).

use std::path::PathBuf;

use tollgate_verilator::{ModelVTable, VerilatorBuild};

use crate::engine::{EngineCore, EngineParams};

tollgate_verilator::include_model!("leaf_mul");
tollgate_verilator::include_model!("fp_mont_mul");
tollgate_verilator::include_model!("fp_add_sub");
tollgate_verilator::include_model!("engine_core");

/// A Verilated engine core generated for `params` as module `top`: RTL that is not committed
/// (the whole-verification core, for instance), so no build script sees it. It is written,
/// verilated and loaded on first use; the model store of the target directory the running
/// executable lives in makes later runs (and other test binaries) load it without building.
pub fn generated_engine_core(
    top: &str,
    params: &'static EngineParams,
) -> Result<&'static ModelVTable, tollgate_verilator::Error> {
    let dir = model_dir().join(top);
    std::fs::create_dir_all(&dir).map_err(|e| tollgate_verilator::Error::Io {
        path: dir.clone(),
        source: e,
    })?;
    let rtl = dir.join(format!("{top}.v"));
    let text = crate::rtl::emit(top, EngineCore::for_params(params));
    std::fs::write(&rtl, text).map_err(|e| tollgate_verilator::Error::Io {
        path: rtl.clone(),
        source: e,
    })?;
    // Split the C++ functions: the ROM's `initial` block alone would be one function of
    // 10⁵ statements, which g++ compiles superlinearly (minutes at -O1).
    VerilatorBuild::new(top)
        .file(&rtl)
        .arg("--output-split-cfuncs")
        .arg("1000")
        .out_dir(&dir)
        .load()
}

/// `<target>/verilator-runtime` of the cargo target directory holding the running executable
/// (cargo marks its root with CACHEDIR.TAG), else the system's temporary directory.
fn model_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            exe.ancestors()
                .find(|dir| dir.join("CACHEDIR.TAG").is_file())
                .map(|target| target.join("verilator-runtime"))
        })
        .unwrap_or_else(|| std::env::temp_dir().join("tollgate-verilator-runtime"))
}
