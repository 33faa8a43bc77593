//! The microcode's integration tests, one module per program family, in one test binary. Run one
//! family with `cargo test -p tollgate-microcode --test programs <module>::`.

use tollgate_microcode::compile::rom::Rom;
use tollgate_microcode::model::{Engine, Job, JobResult};

mod buckets;
mod compiled;
mod g2_endo;
mod golden;
mod hash_to_g2;
mod miller;
mod pairing;

/// Runs `job` on a fresh model engine of `rom` and checks the ROM ran cleanly: a read of a
/// register whose write is still in flight, or a write outside the unit's bank, is a compiler
/// bug.
fn run_clean(rom: &Rom, job: Job) -> JobResult {
    let out = job.run(&mut Engine::new(rom)).expect("job runs");
    let faults = (out.stats.hazards, out.stats.bank_violations);
    assert_eq!(faults, (0, 0), "hazards, bank violations");
    out
}
