//! Σ kᵢσᵢ by the bucket method (`BucketSumG2` with the host's `BucketPlan`) on the cycle-level
//! model, against arkworks: random items, scalars 0, 1, 2, 2^64−1, 2^63, equal points with
//! equal and different scalars, P and −P, infinity; widths 2, 4, 6, 8 and the one the
//! host picks. Then the window choice and cycles per item beside `MultiScalarG2`
//! (`cargo test -p tollgate-microcode --test programs buckets:: -- --nocapture`).

use std::sync::OnceLock;
use std::time::Instant;

use ark_bls12_381::{Fr, G2Projective};
use ark_ff::Zero;
use ark_std::UniformRand;
use tollgate_microcode::compile::programs::ProgramKind;
use tollgate_microcode::compile::rom::Rom;
use tollgate_microcode::compile::EngineConfig;
use tollgate_microcode::curve::{g2_from_ark, g2_to_ark};
use tollgate_microcode::model::buckets::{self, BucketPlan, Step};
use tollgate_microcode::model::{g2_from_words, g2_words, Job, JobResult};

/// The verification core's configuration (the programs it would join), with the program the
/// bucket method replaces for comparison.
fn rom() -> &'static Rom {
    static ROM: OnceLock<Rom> = OnceLock::new();
    ROM.get_or_init(|| {
        Rom::build_programs(
            EngineConfig::VERIFY,
            &[ProgramKind::BucketSumG2, ProgramKind::MultiScalarG2],
        )
        .expect("compiles")
    })
}

fn run(plan: BucketPlan, items: &[(u64, G2Projective)]) -> JobResult {
    let points = items
        .iter()
        .map(|(_, p)| g2_words(&g2_from_ark(p)))
        .collect();
    crate::run_clean(rom(), Job::BucketSumG2 { plan, points })
}

fn expected(items: &[(u64, G2Projective)]) -> G2Projective {
    items.iter().map(|(k, p)| *p * Fr::from(*k)).sum()
}

fn sum_of(out: &JobResult) -> G2Projective {
    g2_to_ark(&g2_from_words(&out.points[0]))
}

fn scalars(items: &[(u64, G2Projective)]) -> Vec<u64> {
    items.iter().map(|(k, _)| *k).collect()
}

fn random_items(n: usize, rng: &mut impl rand::Rng) -> Vec<(u64, G2Projective)> {
    (0..n)
        .map(|_| (rng.gen(), G2Projective::rand(rng)))
        .collect()
}

/// Edge cases first, then random items.
fn edge_items() -> Vec<(u64, G2Projective)> {
    let mut rng = ark_std::test_rng();
    let p = G2Projective::rand(&mut rng);
    let q = G2Projective::rand(&mut rng);
    let mut items = vec![
        (0, p),
        (1, p),
        (2, q),
        (u64::MAX, q),
        (1 << 63, p),
        // Equal points with equal scalars meet in every bucket (S + P with S = P).
        (0x0123_4567_89ab_cdef, q),
        (0x0123_4567_89ab_cdef, q),
        // P and −P in the same buckets cancel (S + P = infinity mid-stream).
        (u64::MAX, -p),
        (7, G2Projective::zero()),
        (u64::MAX, G2Projective::zero()),
    ];
    items.extend(random_items(40, &mut rng));
    items
}

#[test]
fn bucket_sum_matches_arkworks_for_several_windows() {
    let items = edge_items();
    let k = rom().config.lanes;
    let chosen = BucketPlan::fewest_rounds(&scalars(&items), k).expect("a width fits");
    for plan in [2, 4, 6, 8]
        .map(|c| BucketPlan::new(&scalars(&items), c, k).expect("fits the lanes"))
        .into_iter()
        .chain([chosen])
    {
        let c = plan.window_bits;
        assert_eq!(sum_of(&run(plan, &items)), expected(&items), "window {c}");
    }
}

#[test]
fn bucket_sum_of_zero_scalars_and_of_one_item() {
    let mut rng = ark_std::test_rng();
    let k = rom().config.lanes;
    let zeros: Vec<_> = (0..5).map(|_| (0, G2Projective::rand(&mut rng))).collect();
    let plan = BucketPlan::new(&scalars(&zeros), 4, k).expect("fits");
    assert_eq!(plan.rounds(), 1, "all digits 0: padding only");
    assert!(sum_of(&run(plan, &zeros)).is_zero());
    let one = vec![(u64::MAX, G2Projective::rand(&mut rng))];
    let plan = BucketPlan::fewest_rounds(&scalars(&one), k).expect("fits");
    assert_eq!(sum_of(&run(plan, &one)), expected(&one));
}

#[test]
fn bucket_plan_streams_each_nonzero_digit_once() {
    let mut rng = ark_std::test_rng();
    let items = random_items(300, &mut rng);
    let k = rom().config.lanes;
    for c in 1..=16 {
        let Some(plan) = BucketPlan::new(&scalars(&items), c, k) else {
            assert!(64_u32.div_ceil(c) as usize > k, "width {c} must fit");
            continue;
        };
        assert_eq!(
            BucketPlan::rounds_for(&scalars(&items), c, k),
            Some(plan.rounds()),
            "counted and laid-out runs, width {c}"
        );
        let windows = 64_u32.div_ceil(c);
        for w in 0..windows {
            let mut seen: Vec<usize> = plan
                .lanes
                .iter()
                .filter(|l| l.window == w)
                .flat_map(|l| &l.steps)
                .filter_map(|s| match s {
                    Step::Item(i) => Some(*i),
                    _ => None,
                })
                .collect();
            seen.sort_unstable();
            let want: Vec<usize> = (0..items.len())
                .filter(|&i| (items[i].0 >> (w * c)) & ((1 << c) - 1) != 0)
                .collect();
            assert_eq!(seen, want, "window {w} of width {c}");
        }
    }
}

/// Cycles per item: the model's count for one batch, the same count from the plan's rounds
/// (body instructions × K per run) for larger batches, beside `MultiScalarG2`.
#[test]
fn bucket_cycles_per_item_beside_multi_scalar() {
    let rom = rom();
    let k = rom.config.lanes;
    let body = |kind| rom.program(kind).body.instrs.len();
    let (bucket_body, msm_body) = (
        body(ProgramKind::BucketSumG2),
        body(ProgramKind::MultiScalarG2),
    );
    let p = rom.program(ProgramKind::BucketSumG2);
    eprintln!(
        "BucketSumG2 body: {} instrs, {} muls, {} alu, {} registers (MultiScalarG2 body {msm_body}), K = {k}",
        p.body.instrs.len(),
        p.body.muls,
        p.body.alus,
        p.body.registers
    );
    let mut rng = ark_std::test_rng();
    let measured = random_items(256, &mut rng);
    let plan = BucketPlan::fewest_rounds(&scalars(&measured), k).expect("fits");
    let (c, rounds) = (plan.window_bits, plan.rounds());
    let out = run(plan, &measured);
    assert_eq!(sum_of(&out), expected(&measured));
    // The model counts every issue slot: prologue, rounds × body, epilogue, K lanes each,
    // and the drain of the last results.
    let slots = (p.prologue.instrs.len() + rounds * bucket_body + p.epilogue.instrs.len()) * k;
    let drain = out.stats.cycles - slots as u64;
    assert!(drain < 100, "drain {drain}");
    eprintln!(
        "n = 256 on the model: window {c}, {rounds} runs, {} cycles = {:.0} per item (MultiScalarG2 {msm_body} per item in steady state)",
        out.stats.cycles,
        out.stats.cycles as f64 / 256.0
    );
    for n in [64_usize, 256, 1024, 4096] {
        let s: Vec<u64> = (0..n).map(|_| rand::Rng::gen(&mut rng)).collect();
        // The verification core's 29 lanes (tollgate-hdl's MIN_LANES) and the model's 40: the
        // body is the same, the lanes per window differ.
        for lanes in [29, k] {
            let per_item = |runs: usize| (runs * bucket_body * lanes) as f64 / n as f64;
            let widths: Vec<String> = (1..=16)
                .filter_map(|c| Some((c, BucketPlan::rounds_for(&s, c, lanes)?)))
                .map(|(c, runs)| format!("{c}:{:.0}", per_item(runs)))
                .collect();
            let best = BucketPlan::fewest_rounds(&s, lanes).expect("fits");
            let msm = per_item(n.div_ceil(lanes)) / bucket_body as f64 * msm_body as f64;
            eprintln!(
                "n = {n}, K = {lanes}: best window {} ({} runs): {:.0} cycles per item, MultiScalarG2 {msm:.0} ({:.2}x); per width {}",
                best.window_bits,
                best.rounds(),
                per_item(best.rounds()),
                msm / per_item(best.rounds()),
                widths.join(" ")
            );
            assert!(
                per_item(best.rounds()) < msm,
                "the bucket method must beat one multiplication per item"
            );
        }
        let best = BucketPlan::fewest_rounds(&s, k).expect("fits");
        // The host's share per batch: choosing the width (every plan built) and joining the
        // lane sums (arkworks here; blst would be faster). Medians of 21, wall clock.
        let lane_sums: Vec<Vec<_>> = best
            .lanes
            .iter()
            .map(|_| g2_words(&g2_from_ark(&G2Projective::rand(&mut rng))))
            .collect();
        let median_us = |f: &dyn Fn()| {
            let mut t: Vec<f64> = (0..21)
                .map(|_| {
                    let start = Instant::now();
                    f();
                    start.elapsed().as_secs_f64() * 1e6
                })
                .collect();
            t.sort_by(f64::total_cmp);
            t[10]
        };
        let plan_us = median_us(&|| {
            let _ = std::hint::black_box(BucketPlan::fewest_rounds(&s, k));
        });
        let join_us = median_us(&|| {
            let _ = std::hint::black_box(buckets::combine(&best, &lane_sums));
        });
        eprintln!(
            "    host per batch: plan {plan_us:.0} µs ({:.2} µs per item), join {join_us:.0} µs ({:.2} µs per item)",
            plan_us / n as f64,
            join_us / n as f64
        );
    }
}
