//! The Miller-loop program, compiled and executed on the cycle-level model, against the golden
//! model bit for bit (each lane's Fp12 value) and against arkworks' multi-pairing after the
//! final exponentiation the host does. Prints the program's size and cycles per pair
//! (`cargo test -p tollgate-microcode --release --test programs miller:: -- --nocapture`).

use std::sync::OnceLock;

use ark_bls12_381::{Bls12_381, Fq, Fq12, G1Projective, G2Projective};
use ark_ec::pairing::{MillerLoopOutput, Pairing};
use ark_ec::{AffineRepr, CurveGroup, PrimeGroup};
use ark_ff::{One, Zero};
use ark_std::UniformRand;
use tollgate_microcode::compile::programs::{ProgramKind, FP12_WORDS, MILLER_PAIR_WORDS};
use tollgate_microcode::compile::rom::Rom;
use tollgate_microcode::compile::EngineConfig;
use tollgate_microcode::field::{fp12_from_ark, fp12_to_ark, fp2_from_ark, Field, Fp2};
use tollgate_microcode::model::{
    fp12_from_words, fp12_words, miller_padding, miller_pair_words, Engine, Job,
};
use tollgate_microcode::pairing::{miller_product, G1Affine, G2Affine};

/// Pairs per body run the tests cover.
const PAIRS_PER_RUN: [u8; 2] = [1, 2];

fn rom() -> &'static Rom {
    static ROM: OnceLock<Rom> = OnceLock::new();
    ROM.get_or_init(|| {
        let kinds: Vec<ProgramKind> = PAIRS_PER_RUN
            .iter()
            .map(|&pairs| ProgramKind::MillerLoop { pairs })
            .collect();
        Rom::build_programs(EngineConfig::VERIFY, &kinds).expect("Miller loops compile")
    })
}

type Pair = (G1Affine<Fq>, G2Affine<Fq>);

fn pair(p: &G1Projective, q: &G2Projective) -> Pair {
    let (px, py) = p.into_affine().xy().expect("not infinity");
    let (qx, qy) = q.into_affine().xy().expect("not infinity");
    let q = G2Affine {
        x: fp2_from_ark(&qx),
        y: fp2_from_ark(&qy),
    };
    (G1Affine { x: px, y: py }, q)
}

fn from_words(w: &[Fq]) -> Pair {
    let p = G1Affine { x: w[0], y: w[1] };
    let q = G2Affine {
        x: Fp2::new(w[2], w[3]),
        y: Fp2::new(w[4], w[5]),
    };
    (p, q)
}

fn final_exp(f: Fq12) -> Fq12 {
    Bls12_381::final_exponentiation(MillerLoopOutput(f))
        .expect("a Miller value is never 0")
        .0
}

fn lane_value(w: &[Fq]) -> Fq12 {
    fp12_to_ark(&fp12_from_words(w))
}

#[test]
fn the_padding_pair_is_neutral_after_the_final_exponentiation() {
    let pad = from_words(&miller_padding());
    let f = fp12_to_ark(&miller_product(&[pad]));
    assert!(
        !f.is_zero() && f != Fq12::one(),
        "padding is not trivially 1"
    );
    assert_eq!(final_exp(f), Fq12::one());
}

#[test]
fn lane_values_match_the_golden_model_and_finish_to_the_multi_pairing() {
    let rom = rom();
    let lanes = rom.config.lanes;
    let mut rng = ark_std::test_rng();
    // More pairs than lanes so that lanes run several bodies, and a count that needs padding.
    let n = lanes + 3;
    let g = (G1Projective::generator(), G2Projective::generator());
    let mut ps: Vec<G1Projective> = (0..n).map(|_| G1Projective::rand(&mut rng)).collect();
    let mut qs: Vec<G2Projective> = (0..n).map(|_| G2Projective::rand(&mut rng)).collect();
    // Edge cases: the generators, a pair and its negation (they cancel), a repeated pair.
    (ps[0], qs[0]) = g;
    (ps[1], qs[1]) = (-ps[2], qs[2]);
    (ps[4], qs[4]) = (ps[3], qs[3]);
    let words: Vec<Vec<Fq>> = ps
        .iter()
        .zip(&qs)
        .map(|(p, q)| {
            let (p, q) = pair(p, q);
            miller_pair_words(&p, &q)
        })
        .collect();
    let expected = Bls12_381::multi_pairing(&ps, &qs).0;
    for m in PAIRS_PER_RUN {
        let out = crate::run_clean(
            rom,
            Job::MillerLoop {
                pairs_per_run: m,
                pairs: words.clone(),
            },
        );
        // Golden model per lane: body runs go round-robin, the last one padded.
        let mut runs: Vec<Vec<Pair>> = words
            .chunks(m as usize)
            .map(|c| c.iter().map(|w| from_words(w)).collect())
            .collect();
        let short = m as usize - runs.last().expect("runs").len();
        runs.last_mut()
            .expect("runs")
            .extend((0..short).map(|_| from_words(&miller_padding())));
        let active = runs.len().min(lanes);
        assert_eq!(out.points.len(), active, "one value per active lane");
        let mut product = Fq12::one();
        for (lane, value) in out.points.iter().enumerate() {
            assert_eq!(value.len(), FP12_WORDS);
            let one = fp12_from_ark(&Fq12::one());
            let golden = runs
                .iter()
                .skip(lane)
                .step_by(lanes)
                .fold(one, |f, run| f.mul(&miller_product(run)))
                .conjugate();
            assert_eq!(value, &fp12_words(&golden), "lane {lane}, m = {m}");
            product *= lane_value(value);
        }
        assert_eq!(final_exp(product), expected, "m = {m}");
        // A batch with one wrong pair does not finish to the same value.
        let mut bad = words.clone();
        bad[7][2] += <Fq as One>::one();
        let bad_out = Job::MillerLoop {
            pairs_per_run: m,
            pairs: bad,
        }
        .run(&mut Engine::new(rom))
        .expect("job runs");
        let bad_product = bad_out
            .points
            .iter()
            .fold(Fq12::one(), |f, v| f * lane_value(v));
        assert_ne!(final_exp(bad_product), expected);
    }
}

#[test]
fn program_size_registers_and_cycles_per_pair() {
    let rom = rom();
    for m in PAIRS_PER_RUN {
        let kind = ProgramKind::MillerLoop { pairs: m };
        let program = rom.program(kind);
        let body = &program.body;
        assert_eq!(body.loads, MILLER_PAIR_WORDS * m as usize);
        // One multiplier per engine and lanes issuing in turn: a body of L instructions costs
        // L engine cycles per lane, shared by its m pairs.
        let per_pair = body.instrs.len() as f64 / m as f64;
        eprintln!(
            "MillerLoop m={m}: body {} instructions, {} muls ({:.1}% multiplier busy), {} registers \
             {:?}, {per_pair:.0} engine cycles per pair, {:.0} pairs/s per engine at 250 MHz",
            body.instrs.len(),
            body.muls,
            100.0 * body.muls as f64 / body.instrs.len() as f64,
            body.registers,
            body.bank_use,
            250e6 / per_pair
        );
        // The multiplier is the bound; the step's dependence chains leave it idle about a fifth
        // of the time today (79% for m = 1, 83% for m = 2): guard against regressions.
        assert!(
            body.muls as f64 >= 0.78 * body.instrs.len() as f64,
            "m = {m}"
        );
    }
}
