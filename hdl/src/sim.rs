//! Verilated models of the committed field-core and engine-core RTL, built by this crate's build.rs through
//! `tollgate-verilator` and linked into anything that depends on this crate (tests, bench,
//! the drivers' simulated device): `Model::new(&sim::FP_MONT_MUL)`.

tollgate_verilator::include_model!("leaf_mul");
tollgate_verilator::include_model!("fp_mont_mul");
tollgate_verilator::include_model!("fp_add_sub");
tollgate_verilator::include_model!("engine_core");
