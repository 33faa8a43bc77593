//! The microcode's integration tests, one module per program family, in one test binary. Run one
//! family with `cargo test -p tollgate-microcode --test programs <module>::`.

mod buckets;
mod compiled;
mod g2_endo;
mod golden;
mod hash_to_g2;
mod miller;
mod pairing;
