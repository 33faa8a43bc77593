//! Curve engine figures: cycle counts of the generated engine core under Verilator, projected
//! to operations/s on a VU9P-class part, beside blst on this CPU measured in the same run.
//! Prints the markdown for bench/RESULTS.md "## Curve engine".
//!
//! `cargo run --release -p tollgate-bench --bin curve_engine`

use std::time::Instant;

use ark_bls12_381::{Fr, G1Projective, G2Projective};
use ark_std::UniformRand;
use clap::Parser;
use tollgate_hdl::engine::harness::{CoreSim, Run, Word};
use tollgate_hdl::engine::EngineParams;
use tollgate_microcode::compile::programs::ProgramKind;
use tollgate_microcode::curve::{g1_from_ark, g1_to_ark, g2_from_ark, g2_to_ark};
use tollgate_microcode::model::{g1_from_words, g1_words, g2_from_words, g2_words};

/// Assumed clock (tollgate-hdl `CLOCK_MHZ`).
const CLOCK_HZ: f64 = 250e6;

#[derive(Parser)]
struct Args {
    /// Body runs per lane of the two aggregation runs (G2 uses at most 4 more than the first).
    #[arg(long, value_parser = parse_pair, default_value = "2,12")]
    rounds: (usize, usize),
    /// Engines per part in the projection.
    #[arg(long, default_value_t = 4)]
    engines: usize,
    /// What bounds the engine count (printed with the projection).
    #[arg(
        long,
        default_value = "block-RAM-bound: 2,160 RAMB36 / 529 per engine in yosys; the DSPs alone would allow 7 (bitstreams/reports/README.md)"
    )]
    engines_basis: String,
    /// Repetitions of each blst measurement (the median is reported).
    #[arg(long, default_value_t = 15)]
    reps: usize,
}

fn parse_pair(s: &str) -> Result<(usize, usize), String> {
    let (a, b) = s
        .split_once(',')
        .ok_or("expected two numbers: small,large")?;
    let pair = (
        a.trim().parse().map_err(|e| format!("{e}"))?,
        b.trim().parse().map_err(|e| format!("{e}"))?,
    );
    if pair.0 == 0 || pair.1 <= pair.0 {
        return Err("need 0 < small < large".into());
    }
    Ok(pair)
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
    Blst {
        g1_add,
        g2_add,
        g1_mul64,
        g2_mul64,
    }
}

/// A job's items as per-lane word lists: item i goes to lane i mod K, in order.
fn deal(items: Vec<Vec<Word>>, lanes: usize) -> Vec<Vec<Word>> {
    let mut inputs = vec![Vec::new(); lanes];
    for (i, item) in items.into_iter().enumerate() {
        inputs[i % lanes].extend(item);
    }
    inputs
}

fn fp(words: Vec<ark_bls12_381::Fq>) -> Vec<Word> {
    words.into_iter().map(Word::Fp).collect()
}

/// Two runs of one program on the Verilated core, `small` and `large` rounds.
struct Measured {
    /// Items of the larger run.
    items: usize,
    large: Run,
    /// Cycles per item from the difference of the two runs (fill and drain cancel).
    steady_cycles: f64,
    /// Multiplier use over that difference.
    steady_util: f64,
}

/// Runs `kind` with `rounds.0` and `rounds.1` body runs per lane on items from `item(i)`
/// (`per_run` items per lane per body run), checking the larger run with `check`.
fn measure(
    core: &mut CoreSim,
    kind: ProgramKind,
    rounds: (usize, usize),
    per_run: usize,
    item: impl Fn(usize) -> Vec<Word>,
    check: impl Fn(&Run, usize) -> bool,
) -> Measured {
    let lanes = EngineParams::standard().rom.config.lanes;
    let mut run = |r: usize| {
        let n = r * lanes * per_run;
        // Lane j's body run t takes items (t·K + j)·per_run … + per_run.
        let runs: Vec<Vec<Word>> = (0..r * lanes)
            .map(|u| (0..per_run).flat_map(|s| item(u * per_run + s)).collect())
            .collect();
        (n, core.run(kind, &deal(runs, lanes), r as u32))
    };
    let (n0, small) = run(rounds.0);
    let (n1, large) = run(rounds.1);
    assert!(
        check(&large, n1),
        "{kind:?}: Verilator result differs from arkworks"
    );
    let dn = (n1 - n0) as f64;
    Measured {
        items: n1,
        steady_cycles: (large.cycles - small.cycles) as f64 / dn,
        steady_util: (large.mul_issues - small.mul_issues) as f64
            / (large.cycles - small.cycles) as f64,
        large,
    }
}

fn main() {
    let args = Args::parse();
    let params = EngineParams::standard();
    let (rom, cfg) = (&params.rom, params.rom.config);
    let lanes = cfg.lanes;
    let acc = cfg.accumulators;
    let mut rng = ark_std::test_rng();
    let mut core = CoreSim::new();

    let n1 = args.rounds.1 * lanes * acc;
    let g1s: Vec<G1Projective> = (0..n1).map(|_| G1Projective::rand(&mut rng)).collect();
    let g2s: Vec<G2Projective> = (0..n1).map(|_| G2Projective::rand(&mut rng)).collect();
    let ks: Vec<u64> = (0..2 * lanes)
        .map(|_| u64::rand(&mut rng) | 1 << 63)
        .collect();
    // Lane j's partial sums add up to the sum of the items it was dealt.
    let total1 = |run: &Run| {
        run.outputs
            .iter()
            .map(|o| g1_to_ark(&g1_from_words(o)))
            .sum::<G1Projective>()
    };
    let total2 = |run: &Run| {
        run.outputs
            .iter()
            .map(|o| g2_to_ark(&g2_from_words(o)))
            .sum::<G2Projective>()
    };
    // Item i of a per-item job is lane i mod K's output number i / K.
    let nth = |run: &Run, i: usize, words: usize| {
        run.outputs[i % lanes][(i / lanes) * words..(i / lanes + 1) * words].to_vec()
    };
    let scalar_item = |k: u64, point: Vec<ark_bls12_381::Fq>| {
        std::iter::once(Word::Scalar(k))
            .chain(fp(point))
            .collect::<Vec<_>>()
    };

    let agg1 = measure(
        &mut core,
        ProgramKind::AggregateG1,
        args.rounds,
        acc,
        |i| fp(g1_words(&g1_from_ark(&g1s[i]))),
        |r, n| total1(r) == g1s[..n].iter().sum::<G1Projective>(),
    );
    let r2 = (args.rounds.0, args.rounds.1.min(args.rounds.0 + 4));
    let agg2 = measure(
        &mut core,
        ProgramKind::AggregateG2,
        r2,
        acc,
        |i| fp(g2_words(&g2_from_ark(&g2s[i]))),
        |r, n| total2(r) == g2s[..n].iter().sum::<G2Projective>(),
    );
    let mul1 = measure(
        &mut core,
        ProgramKind::ScalarMulG1,
        (1, 2),
        1,
        |i| scalar_item(ks[i], g1_words(&g1_from_ark(&g1s[i]))),
        |r, n| (0..n).all(|i| g1_to_ark(&g1_from_words(&nth(r, i, 3))) == g1s[i] * Fr::from(ks[i])),
    );
    let mul2 = measure(
        &mut core,
        ProgramKind::ScalarMulG2,
        (1, 2),
        1,
        |i| scalar_item(ks[i], g2_words(&g2_from_ark(&g2s[i]))),
        |r, n| (0..n).all(|i| g2_to_ark(&g2_from_words(&nth(r, i, 6))) == g2s[i] * Fr::from(ks[i])),
    );
    let blst = measure_blst(args.reps);

    println!("Engine: K = {} lanes, {} add/sub units, window {} registers, {} accumulators per lane in aggregation; ROM {} words × {} bits.",
        cfg.lanes, cfg.alu_slots, cfg.window(), cfg.accumulators, rom.instrs.len(), rom.word_bits());
    println!("Verilator, `bitstreams/rtl/engine_core.v`; every result checked against arkworks. Steady state = difference of two runs ({} vs {} body runs per lane for aggregation, 1 vs 2 for scalar multiplication), so fill, drain and epilogue cancel.", args.rounds.0, args.rounds.1);
    println!(
        "Projection: {} MHz × {} engines per VU9P ({}).\n",
        CLOCK_HZ / 1e6,
        args.engines,
        args.engines_basis
    );
    println!("| operation | cycles/op per engine (steady state) | multiplier use (steady) | larger run: items, cycles, multiplier use | projected ops/s ({} engines) | blst on this CPU, ops/s (1 core) | ratio |", args.engines);
    println!("|---|---|---|---|---|---|---|");
    let row = |name: &str, m: &Measured, per_op: f64, cpu_s: f64| {
        let cycles = m.steady_cycles / per_op;
        let proj = CLOCK_HZ / cycles * args.engines as f64;
        let cpu = 1.0 / cpu_s;
        println!(
            "| {name} | {cycles:.2} | {:.1}% | {}, {}, {:.1}% | {:.3e} | {:.3e} | {:.0}× |",
            m.steady_util * 100.0,
            m.items,
            m.large.cycles,
            m.large.utilisation() * 100.0,
            proj,
            cpu,
            proj / cpu
        );
    };
    row("G1 add (aggregation)", &agg1, 1.0, blst.g1_add);
    row("G2 add (aggregation)", &agg2, 1.0, blst.g2_add);
    row("G1 64-bit scalar mul", &mul1, 1.0, blst.g1_mul64);
    row("G2 64-bit scalar mul", &mul2, 1.0, blst.g2_mul64);
    println!("\nLatency of one 64-bit scalar multiplication in a lane (body × K): {} cycles (G1), {} cycles (G2).",
        rom.entry(ProgramKind::ScalarMulG1).body.len() * lanes, rom.entry(ProgramKind::ScalarMulG2).body.len() * lanes);
}
