//! Curve engine figures: cycle counts of the compiled microcode on the cycle-level engine model
//! (tollgate-microcode), projected to operations/s on a VU9P-class part, beside blst on this
//! CPU measured in the same run. Prints the markdown for bench/RESULTS.md "## Curve engine".
//!
//! `cargo run --release -p tollgate-bench --bin curve_engine`

use std::time::Instant;

use ark_bls12_381::{G1Projective, G2Projective};
use ark_ec::PrimeGroup;
use ark_std::UniformRand;
use clap::Parser;
use tollgate_microcode::compile::programs::ProgramKind;
use tollgate_microcode::compile::rom::Rom;
use tollgate_microcode::compile::EngineConfig;
use tollgate_microcode::curve::{g1_from_ark, g1_to_ark, g2_from_ark, g2_to_ark};
use tollgate_microcode::model::{g1_from_words, g1_words, g2_from_words, g2_words, Engine, Job, Stats};

/// DSP48E2 slices of a VU9P.
const PART_DSPS: usize = 6840;
/// Leaf multipliers (DSPs) of one field multiplier (tollgate-hdl `MONT_MUL_LEAVES`, h1's core).
const ENGINE_DSPS: usize = 875;
/// Assumed clock (tollgate-hdl `CLOCK_MHZ`).
const CLOCK_HZ: f64 = 250e6;

#[derive(Parser)]
struct Args {
    /// Points in the long aggregation runs on the model.
    #[arg(long, default_value_t = 1 << 14)]
    points: usize,
    /// Scalar multiplications in the model runs.
    #[arg(long, default_value_t = 200)]
    scalars: usize,
    /// Repetitions of each blst measurement (the median is reported).
    #[arg(long, default_value_t = 15)]
    reps: usize,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    v[v.len() / 2]
}

/// Median seconds per call of `f` over `reps` batches of `inner` calls.
fn time_per_op(reps: usize, inner: usize, mut f: impl FnMut()) -> f64 {
    let samples = (0..reps)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..inner {
                f();
            }
            t.elapsed().as_secs_f64() / inner as f64
        })
        .collect();
    median(samples)
}

struct Blst {
    g1_add: f64,
    g2_add: f64,
    g1_mul64: f64,
    g2_mul64: f64,
}

fn measure_blst(reps: usize) -> Blst {
    // SAFETY (all blocks below): blst's C functions on valid, initialised blst structs owned
    // by this frame; the scalar buffer outlives the call and holds 64 bits as stated.
    let (g1, g2) = unsafe { (*blst::blst_p1_generator(), *blst::blst_p2_generator()) };
    let (mut acc1, mut acc2) = (g1, g2);
    let g1_add = time_per_op(reps, 20_000, || unsafe {
        blst::blst_p1_add_or_double(&mut acc1, &acc1, &g1);
    });
    let g2_add = time_per_op(reps, 5_000, || unsafe {
        blst::blst_p2_add_or_double(&mut acc2, &acc2, &g2);
    });
    let scalar = 0xF3A5_0C1D_9B2E_7746u64.to_le_bytes();
    let g1_mul64 = time_per_op(reps, 500, || unsafe {
        blst::blst_p1_mult(&mut acc1, &acc1, scalar.as_ptr(), 64);
    });
    let g2_mul64 = time_per_op(reps, 200, || unsafe {
        blst::blst_p2_mult(&mut acc2, &acc2, scalar.as_ptr(), 64);
    });
    Blst { g1_add, g2_add, g1_mul64, g2_mul64 }
}

/// Runs a job on a fresh engine and checks the result against arkworks.
fn run_checked(rom: &Rom, job: Job, check: impl Fn(&[Vec<ark_bls12_381::Fq>]) -> bool) -> Stats {
    let mut engine = Engine::new(rom);
    let result = job.run(&mut engine).expect("model job runs");
    assert!(check(&result.points), "model result differs from arkworks");
    assert_eq!(result.stats.hazards, 0);
    result.stats
}

fn main() {
    let args = Args::parse();
    let cfg = EngineConfig::DEFAULT;
    let rom = Rom::build(cfg).expect("microcode compiles");
    let mut rng = ark_std::test_rng();
    let engines = PART_DSPS / ENGINE_DSPS;

    // Long aggregation streams: P, P + G, P + 2G, …
    let g1s: Vec<G1Projective> = std::iter::successors(Some(G1Projective::rand(&mut rng)), |p| {
        Some(*p + G1Projective::generator())
    })
    .take(args.points)
    .collect();
    let g2n = args.points / 4;
    let g2s: Vec<G2Projective> = std::iter::successors(Some(G2Projective::rand(&mut rng)), |p| {
        Some(*p + G2Projective::generator())
    })
    .take(g2n)
    .collect();
    let agg1 = run_checked(&rom, Job::Aggregate { g2: false, points: g1s.iter().map(|p| g1_words(&g1_from_ark(p))).collect() }, |r| {
        g1_to_ark(&g1_from_words(&r[0])) == g1s.iter().sum::<G1Projective>()
    });
    let agg2 = run_checked(&rom, Job::Aggregate { g2: true, points: g2s.iter().map(|p| g2_words(&g2_from_ark(p))).collect() }, |r| {
        g2_to_ark(&g2_from_words(&r[0])) == g2s.iter().sum::<G2Projective>()
    });
    let pairs1: Vec<(u64, G1Projective)> =
        (0..args.scalars).map(|i| (u64::rand(&mut rng) | 1 << 63, g1s[i % g1s.len()])).collect();
    let pairs2: Vec<(u64, G2Projective)> =
        (0..args.scalars).map(|i| (u64::rand(&mut rng) | 1 << 63, g2s[i % g2s.len()])).collect();
    let msm1 = run_checked(&rom, Job::MultiScalar { g2: false, pairs: pairs1.iter().map(|(k, p)| (*k, g1_words(&g1_from_ark(p)))).collect() }, |r| {
        g1_to_ark(&g1_from_words(&r[0])) == pairs1.iter().map(|(k, p)| *p * ark_bls12_381::Fr::from(*k)).sum::<G1Projective>()
    });
    let msm2 = run_checked(&rom, Job::MultiScalar { g2: true, pairs: pairs2.iter().map(|(k, p)| (*k, g2_words(&g2_from_ark(p)))).collect() }, |r| {
        g2_to_ark(&g2_from_words(&r[0])) == pairs2.iter().map(|(k, p)| *p * ark_bls12_381::Fr::from(*k)).sum::<G2Projective>()
    });
    let blst = measure_blst(args.reps);

    let body = |kind| rom.program(kind).body.instrs.len() as f64;
    let acc = cfg.accumulators as f64;
    println!("Engine: K = {} lanes, {} add/sub units, window {} registers, multiplier latency {} (h1's core: 31 + register file), {} accumulators per lane in aggregation; ROM {} words × {} bits.",
        cfg.lanes, cfg.alu_slots, cfg.window(), cfg.mul_latency, cfg.accumulators, rom.instrs.len(), rom.word_bits());
    println!("Projection: {} MHz × {} engines (DSP-bound: {} DSP48E2 / {} per multiplier).\n", CLOCK_HZ / 1e6, engines, PART_DSPS, ENGINE_DSPS);
    println!("| operation | cycles/op per engine (steady state) | multiplier use | projected ops/s ({engines} engines) | blst on this CPU, ops/s (1 core) | ratio |");
    println!("|---|---|---|---|---|---|");
    let row = |name: &str, cycles: f64, util: f64, cpu_s: f64| {
        let proj = CLOCK_HZ / cycles * engines as f64;
        let cpu = 1.0 / cpu_s;
        println!("| {name} | {cycles:.1} | {:.1}% | {:.3e} | {:.3e} | {:.1}× |", util * 100.0, proj, cpu, proj / cpu);
    };
    let steady_util = |kind: ProgramKind| rom.program(kind).body.muls as f64 / body(kind);
    row("G1 add (aggregation)", body(ProgramKind::AggregateG1) / acc, steady_util(ProgramKind::AggregateG1), blst.g1_add);
    row("G2 add (aggregation)", body(ProgramKind::AggregateG2) / acc, steady_util(ProgramKind::AggregateG2), blst.g2_add);
    row("G1 64-bit scalar mul", body(ProgramKind::ScalarMulG1), steady_util(ProgramKind::ScalarMulG1), blst.g1_mul64);
    row("G2 64-bit scalar mul", body(ProgramKind::ScalarMulG2), steady_util(ProgramKind::ScalarMulG2), blst.g2_mul64);
    println!("\nWhole jobs on the model (fill, drain, epilogue and the pairwise combining rounds included):\n");
    println!("| job | items | cycles | cycles/item | multiplier use |");
    println!("|---|---|---|---|---|");
    let job = |name: &str, n: usize, s: Stats| {
        println!("| {name} | {n} | {} | {:.1} | {:.1}% |", s.cycles, s.cycles as f64 / n as f64, s.mul_utilisation() * 100.0);
    };
    job("aggregate G1", g1s.len(), agg1);
    job("aggregate G2", g2s.len(), agg2);
    job("Σ kᵢPᵢ G1 (64-bit kᵢ)", pairs1.len(), msm1);
    job("Σ kᵢPᵢ G2 (64-bit kᵢ)", pairs2.len(), msm2);
    println!("\nLatency of one 64-bit scalar multiplication in a lane: {} cycles (G1), {} cycles (G2) = body × K.",
        body(ProgramKind::ScalarMulG1) as usize * cfg.lanes, body(ProgramKind::ScalarMulG2) as usize * cfg.lanes);
}
