//! The curve engine core under Verilator against arkworks: the microcode ROM compiled by
//! tollgate-microcode, executed by the generated RTL (sequencer, banked register file, h1's
//! Montgomery multiplier and add/sub units), on random points and the edge cases (infinity in
//! any position, P + P, P + (−P), scalars 0, 1, 2^64−1), with long aggregation streams.
//! Results are compared after normalising to affine. Also measures the steady-state cycle
//! counts and multiplier utilisation that bench/RESULTS.md quotes.

use ark_bls12_381::{Fq, Fr, G1Projective, G2Projective};
use ark_ff::{AdditiveGroup, Zero};
use ark_std::UniformRand;
use tollgate_hdl::engine::harness::{CoreSim as Core, Word};
use tollgate_hdl::engine::EngineParams;
use tollgate_microcode::compile::programs::ProgramKind;
use tollgate_microcode::curve::{g1_from_ark, g1_to_ark, g2_from_ark, g2_to_ark};
use tollgate_microcode::model::{g1_from_words, g1_words, g2_from_words, g2_words};

const LANES: usize = 40;

fn fp_words(v: Vec<Fq>) -> Vec<Word> {
    v.into_iter().map(Word::Fp).collect()
}

/// Random points with infinity, a repeat and a negation mixed in.
fn g1_points(n: usize, seed: u64) -> Vec<G1Projective> {
    let mut rng = ark_std::test_rng();
    for _ in 0..seed {
        let _ = G1Projective::rand(&mut rng);
    }
    let mut v: Vec<G1Projective> = (0..n).map(|_| G1Projective::rand(&mut rng)).collect();
    v[0] = G1Projective::zero();
    v[3] = v[2];
    v[5] = -v[4];
    v
}

fn g2_points(n: usize) -> Vec<G2Projective> {
    let mut rng = ark_std::test_rng();
    let mut v: Vec<G2Projective> = (0..n).map(|_| G2Projective::rand(&mut rng)).collect();
    v[0] = G2Projective::zero();
    v[3] = v[2];
    v[5] = -v[4];
    v
}

#[test]
fn engine_g1_and_g2_pairwise_add_and_double() {
    let mut core = Core::new();
    let s = g1_points(2 * LANES, 0);
    let g = G1Projective::rand(&mut ark_std::test_rng());
    let zero = G1Projective::zero();
    let mut pairs: Vec<(G1Projective, G1Projective)> =
        vec![(zero, zero), (zero, g), (g, zero), (g, g), (g, -g)];
    pairs.extend((0..LANES - pairs.len()).map(|i| (s[2 * i], s[2 * i + 1])));
    let inputs: Vec<Vec<Word>> = pairs
        .iter()
        .map(|(a, b)| fp_words([g1_words(&g1_from_ark(a)), g1_words(&g1_from_ark(b))].concat()))
        .collect();
    let run = core.run(ProgramKind::AddG1, &inputs, 1);
    for (lane, (a, b)) in pairs.iter().enumerate() {
        assert_eq!(
            g1_to_ark(&g1_from_words(&run.outputs[lane])),
            *a + *b,
            "G1 add lane {lane}"
        );
    }
    let inputs: Vec<Vec<Word>> = s[..LANES]
        .iter()
        .map(|p| fp_words(g1_words(&g1_from_ark(p))))
        .collect();
    let run = core.run(ProgramKind::DoubleG1, &inputs, 1);
    for (lane, p) in s[..LANES].iter().enumerate() {
        assert_eq!(
            g1_to_ark(&g1_from_words(&run.outputs[lane])),
            p.double(),
            "G1 double lane {lane}"
        );
    }

    let s = g2_points(2 * LANES);
    let g = G2Projective::rand(&mut ark_std::test_rng());
    let zero = G2Projective::zero();
    let mut pairs: Vec<(G2Projective, G2Projective)> =
        vec![(zero, zero), (zero, g), (g, zero), (g, g), (g, -g)];
    pairs.extend((0..LANES - pairs.len()).map(|i| (s[2 * i], s[2 * i + 1])));
    let inputs: Vec<Vec<Word>> = pairs
        .iter()
        .map(|(a, b)| fp_words([g2_words(&g2_from_ark(a)), g2_words(&g2_from_ark(b))].concat()))
        .collect();
    let run = core.run(ProgramKind::AddG2, &inputs, 1);
    for (lane, (a, b)) in pairs.iter().enumerate() {
        assert_eq!(
            g2_to_ark(&g2_from_words(&run.outputs[lane])),
            *a + *b,
            "G2 add lane {lane}"
        );
    }
}

#[test]
fn engine_aggregates_long_streams() {
    let mut core = Core::new();
    let params = EngineParams::standard();
    let acc = params.rom.config.accumulators;
    // G1: 20 body runs per lane, 3 points each: 2400 points.
    let rounds = 20;
    let pts = g1_points(LANES * acc * rounds, 1);
    let lane_points = |lane: usize| -> Vec<G1Projective> {
        (0..rounds)
            .flat_map(|r| (0..acc).map(move |u| (r * LANES + lane) * acc + u))
            .map(|i| pts[i])
            .collect()
    };
    let inputs: Vec<Vec<Word>> = (0..LANES)
        .map(|j| {
            lane_points(j)
                .iter()
                .flat_map(|p| fp_words(g1_words(&g1_from_ark(p))))
                .collect()
        })
        .collect();
    let run = core.run(ProgramKind::AggregateG1, &inputs, rounds as u32);
    let mut total = G1Projective::zero();
    for lane in 0..LANES {
        let got = g1_to_ark(&g1_from_words(&run.outputs[lane]));
        assert_eq!(
            got,
            lane_points(lane).iter().sum::<G1Projective>(),
            "G1 partial of lane {lane}"
        );
        total += got;
    }
    assert_eq!(total, pts.iter().sum::<G1Projective>());
    let e = params.rom.entry(ProgramKind::AggregateG1);
    let steady = (e.body.len() * LANES * rounds) as f64;
    eprintln!(
        "verilator AggregateG1: {} points, {} cycles ({:.2}/point; body {:.2}/point), multiplier {:.1}% of the job",
        pts.len(),
        run.cycles,
        run.cycles as f64 / pts.len() as f64,
        steady / pts.len() as f64,
        100.0 * run.mul_issues as f64 / run.cycles as f64
    );

    // G2: 2 body runs per lane.
    let rounds = 2;
    let pts = g2_points(LANES * acc * rounds);
    let lane_points = |lane: usize| -> Vec<G2Projective> {
        (0..rounds)
            .flat_map(|r| (0..acc).map(move |u| (r * LANES + lane) * acc + u))
            .map(|i| pts[i])
            .collect()
    };
    let inputs: Vec<Vec<Word>> = (0..LANES)
        .map(|j| {
            lane_points(j)
                .iter()
                .flat_map(|p| fp_words(g2_words(&g2_from_ark(p))))
                .collect()
        })
        .collect();
    let run = core.run(ProgramKind::AggregateG2, &inputs, rounds as u32);
    for lane in 0..LANES {
        let got = g2_to_ark(&g2_from_words(&run.outputs[lane]));
        assert_eq!(
            got,
            lane_points(lane).iter().sum::<G2Projective>(),
            "G2 partial of lane {lane}"
        );
    }
    eprintln!(
        "verilator AggregateG2: {} points, {} cycles, multiplier {:.1}% of the job",
        pts.len(),
        run.cycles,
        100.0 * run.mul_issues as f64 / run.cycles as f64
    );
}

#[test]
fn engine_scalar_multiplication_and_sum() {
    let mut core = Core::new();
    let mut rng = ark_std::test_rng();
    let s = g1_points(LANES, 2);
    let edge = [0u64, 1, 2, u64::MAX, 1 << 63];
    let pairs: Vec<(u64, G1Projective)> = (0..LANES)
        .map(|i| {
            (
                edge.get(i).copied().unwrap_or_else(|| u64::rand(&mut rng)),
                if i == 6 {
                    G1Projective::zero()
                } else {
                    s[(i + 1) % LANES]
                },
            )
        })
        .collect();
    let inputs: Vec<Vec<Word>> = pairs
        .iter()
        .map(|(k, p)| {
            std::iter::once(Word::Scalar(*k))
                .chain(fp_words(g1_words(&g1_from_ark(p))))
                .collect()
        })
        .collect();
    let run = core.run(ProgramKind::ScalarMulG1, &inputs, 1);
    for (lane, (k, p)) in pairs.iter().enumerate() {
        assert_eq!(
            g1_to_ark(&g1_from_words(&run.outputs[lane])),
            *p * Fr::from(*k),
            "G1 k = {k}"
        );
    }
    eprintln!(
        "verilator ScalarMulG1: {} scalar multiplications in {} cycles, multiplier {:.1}%",
        LANES,
        run.cycles,
        100.0 * run.mul_issues as f64 / run.cycles as f64
    );

    // Σ kP over G2, two items per lane: edge scalars on the first round.
    let pts = g2_points(2 * LANES);
    let ks: Vec<u64> = (0..2 * LANES)
        .map(|i| edge.get(i).copied().unwrap_or_else(|| u64::rand(&mut rng)))
        .collect();
    let item = |r: usize, lane: usize| r * LANES + lane;
    let inputs: Vec<Vec<Word>> = (0..LANES)
        .map(|j| {
            (0..2)
                .flat_map(|r| {
                    let i = item(r, j);
                    std::iter::once(Word::Scalar(ks[i]))
                        .chain(fp_words(g2_words(&g2_from_ark(&pts[i]))))
                })
                .collect()
        })
        .collect();
    let run = core.run(ProgramKind::MultiScalarG2, &inputs, 2);
    for lane in 0..LANES {
        let expect: G2Projective = (0..2)
            .map(|r| pts[item(r, lane)] * Fr::from(ks[item(r, lane)]))
            .sum();
        assert_eq!(
            g2_to_ark(&g2_from_words(&run.outputs[lane])),
            expect,
            "G2 Σ kP lane {lane}"
        );
    }
    eprintln!(
        "verilator MultiScalarG2: {} items in {} cycles, multiplier {:.1}%",
        2 * LANES,
        run.cycles,
        100.0 * run.mul_issues as f64 / run.cycles as f64
    );
}
