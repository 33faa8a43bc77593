//! Field-core figures for bench/RESULTS.md "## Field core": the Verilated Montgomery
//! multiplier's latency, throughput and simulation speed, the projected Fp multiplications/s
//! at the assumed clock, and blst's `blst_fp_mul` on this CPU in the same run.
//!
//! `cargo run -p tollgate-hdl --bin field-core-bench` (the dev profile builds blst and every
//! other dependency at opt-level 3, and the Verilated model is compiled with -O2 either way).

use std::time::Instant;

use ark_bls12_381::Fq;
use ark_ff::UniformRand;
use ark_std::rand::{rngs::StdRng, SeedableRng};
use clap::Parser;
use tollgate_hdl::field::mont_mul::{MONT_MUL_LATENCY, MONT_MUL_LEAVES};
use tollgate_hdl::rtl::CLOCK_MHZ;
use tollgate_hdl::sim::FP_MONT_MUL;
use tollgate_verilator::Model;

#[derive(Parser)]
#[command(about = "Field-core benchmark: Verilator cycles vs blst_fp_mul")]
struct Args {
    /// Operand pairs streamed through the Verilated multiplier per batch.
    #[arg(long, default_value_t = 20_000)]
    sim_ops: usize,
    /// blst multiplications per batch.
    #[arg(long, default_value_t = 2_000_000)]
    cpu_ops: usize,
    /// Batches (medians are reported).
    #[arg(long, default_value_t = 7)]
    batches: usize,
    /// DSP48E2 slices of the target part (VU9P: 6840).
    #[arg(long, default_value_t = 6840)]
    part_dsps: usize,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn words(f: &Fq) -> Vec<u32> {
    f.0 .0
        .iter()
        .flat_map(|l| [*l as u32, (*l >> 32) as u32])
        .take(12)
        .collect()
}

fn blst_fp(f: &Fq) -> blst::blst_fp {
    // blst and arkworks both keep Fp in Montgomery form with R = 2^384.
    blst::blst_fp { l: f.0 .0 }
}

/// One batch through the Verilated multiplier: first result's latency, results per cycle
/// once the pipe is full, simulated cycles per second. Every result is checked against blst.
fn sim_batch(ops: &[(Fq, Fq)]) -> (u64, f64, f64) {
    let mut m = Model::new(&FP_MONT_MUL);
    let p = |n: &str| m.port(n).expect("fp_mont_mul port");
    let (clock, in_valid, a, b, out_valid, result) = (
        p("clock"),
        p("in_valid"),
        p("a"),
        p("b"),
        p("out_valid"),
        p("result"),
    );
    let mut first = None;
    let mut done = 0usize;
    let mut full_from = 0u64;
    let start = Instant::now();
    let mut issued = 0;
    while done < ops.len() {
        if issued < ops.len() {
            m.set(a, &words(&ops[issued].0));
            m.set(b, &words(&ops[issued].1));
            m.set_u64(in_valid, 1);
            issued += 1;
        } else {
            m.set_u64(in_valid, 0);
        }
        m.tick(clock);
        if m.get_u64(out_valid) == 1 {
            let (x, y) = (blst_fp(&ops[done].0), blst_fp(&ops[done].1));
            let mut r = blst::blst_fp::default();
            // SAFETY: blst_fp_mul reads two initialised blst_fp and writes the third.
            unsafe { blst::blst_fp_mul(&mut r, &x, &y) };
            let expect: Vec<u32> =
                r.l.iter()
                    .flat_map(|l| [*l as u32, (*l >> 32) as u32])
                    .take(12)
                    .collect();
            assert_eq!(m.get(result), expect, "product {done} differs from blst");
            if first.is_none() {
                first = Some(m.cycles());
                full_from = m.cycles();
            }
            done += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let steady = (done - 1) as f64 / (m.cycles() - full_from) as f64;
    (first.unwrap_or(0), steady, m.cycles() as f64 / secs)
}

/// Nanoseconds per blst_fp_mul: a dependent chain (latency) and four independent chains
/// (throughput).
fn cpu_batch(n: usize, seed: &[Fq; 4]) -> (f64, f64) {
    let y = blst_fp(&seed[0]);
    let mut x = blst_fp(&seed[1]);
    let start = Instant::now();
    for _ in 0..n {
        let prev = x;
        // SAFETY: in and out are valid blst_fp values.
        unsafe { blst::blst_fp_mul(&mut x, &prev, &y) };
    }
    let dep = start.elapsed().as_secs_f64() * 1e9 / n as f64;
    std::hint::black_box(x);
    let mut xs = [
        blst_fp(&seed[0]),
        blst_fp(&seed[1]),
        blst_fp(&seed[2]),
        blst_fp(&seed[3]),
    ];
    let start = Instant::now();
    for _ in 0..n / 4 {
        for v in xs.iter_mut() {
            let prev = *v;
            // SAFETY: as above.
            unsafe { blst::blst_fp_mul(v, &prev, &y) };
        }
    }
    let ind = start.elapsed().as_secs_f64() * 1e9 / (n / 4 * 4) as f64;
    std::hint::black_box(xs);
    (dep, ind)
}

fn main() {
    let args = Args::parse();
    let mut rng = StdRng::seed_from_u64(381);
    let ops: Vec<(Fq, Fq)> = (0..args.sim_ops)
        .map(|_| (Fq::rand(&mut rng), Fq::rand(&mut rng)))
        .collect();
    let seed = [0; 4].map(|_| Fq::rand(&mut rng));
    let mut lat = vec![];
    let mut thr = vec![];
    let mut cps = vec![];
    let mut dep = vec![];
    let mut ind = vec![];
    for _ in 0..args.batches {
        let (l, t, c) = sim_batch(&ops);
        lat.push(l as f64);
        thr.push(t);
        cps.push(c);
        let (d, i) = cpu_batch(args.cpu_ops, &seed);
        dep.push(d);
        ind.push(i);
    }
    let latency = median(lat);
    let per_cycle = median(thr);
    let clock = CLOCK_MHZ as f64 * 1e6;
    let per_mult = per_cycle * clock;
    let mults = args.part_dsps / MONT_MUL_LEAVES;
    let cpu_ind = 1e9 / median(ind);
    let cpu_dep = 1e9 / median(dep);
    println!(
        "fp_mont_mul (Verilator 5.006), {} products x {} batches, all checked against blst_fp_mul",
        args.sim_ops, args.batches
    );
    println!("latency (measured) = {latency} cycles (MONT_MUL_LATENCY = {MONT_MUL_LATENCY})");
    println!("throughput (measured, pipe full) = {per_cycle:.4} products/cycle");
    println!("Verilator speed = {:.0} cycles/s", median(cps));
    println!("clock assumed = {CLOCK_MHZ} MHz; DSP48E2 per multiplier = {MONT_MUL_LEAVES}");
    println!();
    println!("| figure | Fp mult/s | vs blst (1 core, independent) |");
    println!("|---|---|---|");
    println!(
        "| 1 multiplier @ {CLOCK_MHZ} MHz (projected) | {per_mult:.3e} | {:.1}x |",
        per_mult / cpu_ind
    );
    println!(
        "| {mults} multipliers ({} DSP48E2 / {MONT_MUL_LEAVES}) @ {CLOCK_MHZ} MHz (projected) | {:.3e} | {:.1}x |",
        args.part_dsps,
        per_mult * mults as f64,
        per_mult * mults as f64 / cpu_ind
    );
    println!("| blst_fp_mul, 4 independent chains (measured) | {cpu_ind:.3e} | 1.0x |");
    println!(
        "| blst_fp_mul, dependent chain (measured) | {cpu_dep:.3e} | {:.2}x |",
        cpu_dep / cpu_ind
    );
}
