//! The whole-verification core (`EngineParams::verification`: decoding, hash to G2, subgroup
//! check, cofactor clearing, the batch check's blinding (r·pk, Σ rᵢσᵢ) and the Miller loop on
//! `VERIFY_LANES` lanes, with the constant table and the computed flags) Verilated and run against the cycle-level model (bit for bit, and the same
//! issue cycles) and against blst: hash_to_G2 of the Ethereum suite's vectors and of random
//! messages under the three min_pk DSTs, with u = 0 (SWU's exceptional case) and
//! Q0 + Q1 = infinity; signature decoding of valid, off-curve, off-subgroup and x = 0
//! encodings with blst's verdicts; subgroup check and cofactor clearing with infinity; one
//! Miller-loop pair per lane, finished to arkworks' multi-pairing; r·pk and Σ rᵢσᵢ against
//! arkworks with the edge scalars, infinity, P + P and P − P in a lane's sum (Σ rᵢσᵢ by
//! the bucket method, joined on the host). Prints the cycle counts
//! bench/RESULTS.md quotes (`-- --nocapture engine_verify::`).
//!
//! The core's RTL is generated and verilated on first use (minutes of C++ once per target
//! directory; later runs load the stored model).

use std::sync::OnceLock;

use ark_bls12_381::{Bls12_381, Fq, Fq12, Fq2, Fr, G1Projective, G2Affine, G2Projective};
use ark_ec::pairing::{MillerLoopOutput, Pairing};
use ark_ec::{AffineRepr, CurveGroup, PrimeGroup};
use ark_ff::{BigInteger, One, PrimeField, Zero};
use ark_std::UniformRand;
use rand::{Rng, SeedableRng};
use tollgate_hdl::engine::harness::{CoreSim, Run, Word};
use tollgate_hdl::engine::{EngineParams, DRAIN_CYCLES};
use tollgate_microcode::compile::programs::ProgramKind;
use tollgate_microcode::curve::{g1_from_ark, g1_to_ark, g2_from_ark, g2_to_ark};
use tollgate_microcode::field::fp12_to_ark;
use tollgate_microcode::model::buckets::{self, BucketPlan, Step};
use tollgate_microcode::model::{
    fp12_from_words, g1_from_words, g1_words, g2_from_words, g2_words, miller_pair_words, Engine,
};
use tollgate_microcode::pairing::{G1Affine as PairG1, G2Affine as PairG2};
use tollgate_microcode::reference::{self, hash_to_field, vectors_dir, DSTS, VECTOR_DST};

fn params() -> &'static EngineParams {
    EngineParams::verification()
}

/// A fresh Verilated verification core (the model is built once per process).
fn core() -> CoreSim {
    static MODEL: OnceLock<&'static tollgate_verilator::ModelVTable> = OnceLock::new();
    let model = MODEL.get_or_init(|| {
        tollgate_hdl::sim::generated_engine_core("engine_core_verify", params())
            .unwrap_or_else(|e| panic!("verilating the verification core: {e}"))
    });
    CoreSim::with(params(), model)
}

fn lanes() -> usize {
    params().rom.config.lanes
}

/// Runs `kind` with one item per lane on the Verilated core and on the model; checks that the
/// outputs are bit for bit the same and that the core took the model's issue cycles plus its
/// fixed pipeline tail; returns each item's output words.
fn run_both(kind: ProgramKind, items: &[Vec<Fq>]) -> Vec<Vec<Fq>> {
    assert_eq!(items.len(), lanes(), "one item per lane");
    let words: Vec<Vec<Word>> = items
        .iter()
        .map(|i| i.iter().copied().map(Word::Fp).collect())
        .collect();
    let rtl: Run = core().run(kind, &words, 1);
    let (model, stats) = Engine::new(&params().rom)
        .run(kind, items.to_vec(), &vec![1; lanes()])
        .expect("the model runs the job");
    assert_eq!(
        (stats.hazards, stats.bank_violations),
        (0, 0),
        "{kind:?}: the schedule is unsafe on this core"
    );
    assert_eq!(
        rtl.outputs, model,
        "{kind:?}: Verilated core against the model"
    );
    let e = params().rom.entry(kind);
    let issue = ((e.prologue.len() + e.body.len() + e.epilogue.len()) * lanes()) as u64;
    eprintln!(
        "verify core {kind:?}: {} items, Verilator {} cycles, model {} cycles, issue {} \
         (body {} instructions = {} cycles per item per engine), multiplier {:.1}%",
        items.len(),
        rtl.cycles,
        stats.cycles,
        issue,
        e.body.len(),
        e.body.len(),
        100.0 * rtl.utilisation()
    );
    // Both issue one instruction per lane per cycle; the core adds its start cycle and the
    // drain of its pipeline (sequencer, ROM and operand stages, then the multiplier), the
    // model the flight of its last writes.
    assert!(
        stats.cycles >= issue && rtl.cycles > issue,
        "{kind:?}: fewer cycles than issue slots"
    );
    assert_eq!(
        rtl.cycles - issue,
        PIPELINE_TAIL,
        "{kind:?}: Verilated cycles beyond the issue slots"
    );
    model
}

/// Cycles the core needs beyond `instructions × K`: the start cycle and the drain after the
/// last issue (the issue stages overlap it).
const PIPELINE_TAIL: u64 = 1 + DRAIN_CYCLES as u64;

fn fp2_words(u: &Fq2) -> [Fq; 2] {
    [u.c0, u.c1]
}

/// The suite's hash_to_G2 messages (their expected points are checked against blst, which
/// the core is then checked against).
fn suite_messages() -> Vec<Vec<u8>> {
    let dir = vectors_dir().join("hash_to_G2");
    let mut msgs = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let text = std::fs::read_to_string(entry.expect("entry").path()).expect("readable");
        let v: serde_json::Value = serde_json::from_str(&text).expect("json");
        let msg = v["input"]["msg"].as_str().expect("msg").as_bytes().to_vec();
        let x = v["output"]["x"].as_str().expect("x");
        let (c0, c1) = x.split_once(',').expect("c0,c1");
        let fq = |h: &str| {
            Fq::from_be_bytes_mod_order(&hex::decode(h.trim_start_matches("0x")).expect("hex"))
        };
        let want_x = Fq2::new(fq(c0), fq(c1));
        let blst_point = reference::hash_to_g2(&msg, VECTOR_DST);
        assert_eq!(blst_point.x, want_x, "blst against the suite, {msg:?}");
        msgs.push(msg);
    }
    assert!(msgs.len() >= 4, "the suite has hash_to_G2 vectors");
    msgs
}

#[test]
fn verify_core_hashes_to_g2_like_the_model_and_blst() {
    // Items: the suite's vectors, the edge cases, random messages under every DST.
    let mut us: Vec<[Fq2; 2]> = Vec::new();
    let mut want: Vec<G2Affine> = Vec::new();
    for msg in suite_messages() {
        us.push(hash_to_field(&msg, VECTOR_DST));
        want.push(reference::hash_to_g2(&msg, VECTOR_DST));
    }
    // u = 0 is SWU's exceptional case (Z²u⁴ + Zu² = 0; 5 is not a square mod p, so no other u
    // is); map(−u) = −map(u), so (u, −u) sums to infinity before the cofactor clearing.
    let u = hash_to_field(b"edge", DSTS[2])[0];
    for pair in [
        [Fq2::zero(), u],
        [u, Fq2::zero()],
        [Fq2::zero(), Fq2::zero()],
        [u, -u],
    ] {
        want.push(reference::map_to_g2(&pair[0], Some(&pair[1])));
        us.push(pair);
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    while us.len() < lanes() {
        let dst = DSTS[us.len() % DSTS.len()];
        let msg: Vec<u8> = (0..rng.gen_range(0..200)).map(|_| rng.gen()).collect();
        us.push(hash_to_field(&msg, dst));
        want.push(reference::hash_to_g2(&msg, dst));
    }
    let items: Vec<Vec<Fq>> = us
        .iter()
        .map(|[u0, u1]| [fp2_words(u0), fp2_words(u1)].concat())
        .collect();
    let out = run_both(ProgramKind::HashToG2, &items);
    for (i, (words, want)) in out.iter().zip(&want).enumerate() {
        let ours = g2_to_ark(&g2_from_words(words)).into_affine();
        assert_eq!(ours, *want, "item {i}: u = {:?}", us[i]);
    }
}

/// The compressed encoding of x with the sign bit clear (flags: compressed, not infinity).
fn encoding_of_x(x: &Fq2) -> [u8; 96] {
    let mut out = [0u8; 96];
    out[..48].copy_from_slice(&x.c1.into_bigint().to_bytes_be());
    out[48..].copy_from_slice(&x.c0.into_bigint().to_bytes_be());
    out[0] |= 0x80;
    out
}

/// blst's verdict on a signature encoding: decodes, on the curve, in G2.
fn blst_accepts(bytes: &[u8; 96]) -> bool {
    blst::min_pk::Signature::sig_validate(bytes, true).is_ok()
}

#[test]
fn verify_core_decodes_signatures_with_blsts_verdicts() {
    let mut rng = ark_std::test_rng();
    let mut xs: Vec<Fq2> = vec![Fq2::zero(), G2Projective::generator().into_affine().x];
    // Valid signatures (points of G2), then arbitrary x: off the twist, or on it and (almost
    // always) outside G2.
    xs.extend((0..8).map(|_| G2Projective::rand(&mut rng).into_affine().x));
    let mut on_twist_off_g2 = 0;
    while on_twist_off_g2 < 6 {
        let x = Fq2::rand(&mut rng);
        if let Some(p) = G2Affine::get_point_from_x_unchecked(x, true) {
            if !p.is_in_correct_subgroup_assuming_on_curve() {
                on_twist_off_g2 += 1;
                xs.push(x);
            }
        }
    }
    while xs.len() < lanes() {
        xs.push(Fq2::rand(&mut rng));
    }
    let items: Vec<Vec<Fq>> = xs.iter().map(|x| fp2_words(x).to_vec()).collect();
    let out = run_both(ProgramKind::DecodeG2, &items);
    let zero = |w: &[Fq]| w.iter().all(Fq::is_zero);
    let (mut valid, mut off_curve, mut off_group) = (0, 0, 0);
    for (x, w) in xs.iter().zip(&out) {
        let bytes = encoding_of_x(x);
        let on_curve = zero(&w[2..4]);
        let ours = on_curve && zero(&w[4..6]);
        assert_eq!(ours, blst_accepts(&bytes), "x = {x}");
        if on_curve {
            // The root is one of the two blst decodes to (the host picks the sign).
            let y = Fq2::new(w[0], w[1]);
            let p = G2Affine::get_point_from_x_unchecked(*x, true).expect("on the twist");
            assert!(y == p.y || y == -p.y, "x = {x}");
        }
        valid += usize::from(ours);
        off_curve += usize::from(!on_curve);
        off_group += usize::from(on_curve && !ours);
    }
    assert!(
        valid >= 9 && off_curve >= 5 && off_group >= 6,
        "every verdict covered: {valid} valid, {off_curve} off the curve, {off_group} off G2"
    );
}

#[test]
fn verify_core_checks_subgroups_and_clears_cofactors_like_arkworks() {
    let mut rng = ark_std::test_rng();
    let mut points = vec![
        G2Affine::identity(),
        G2Projective::generator().into_affine(),
    ];
    while points.len() < lanes() {
        if points.len() % 2 == 0 {
            points.push(G2Projective::rand(&mut rng).into_affine());
        } else if let Some(p) = G2Affine::get_point_from_x_unchecked(Fq2::rand(&mut rng), true) {
            points.push(p);
        }
    }
    let items: Vec<Vec<Fq>> = points
        .iter()
        .map(|p| g2_words(&g2_from_ark(&(*p).into())))
        .collect();
    let residues = run_both(ProgramKind::SubgroupCheckG2, &items);
    let mut outside = 0;
    for (p, r) in points.iter().zip(&residues) {
        let in_g2 = p.is_in_correct_subgroup_assuming_on_curve();
        outside += usize::from(!in_g2);
        assert_eq!(r.iter().all(Fq::is_zero), in_g2, "{p}");
    }
    assert!(outside >= 10, "points outside G2 covered");
    let cleared = run_both(ProgramKind::ClearCofactorG2, &items);
    for (p, w) in points.iter().zip(&cleared) {
        let ours = g2_to_ark(&g2_from_words(w)).into_affine();
        assert_eq!(ours, p.clear_cofactor(), "{p}");
    }
}

#[test]
fn verify_core_miller_loop_finishes_to_the_multi_pairing() {
    let mut rng = ark_std::test_rng();
    let pairs: Vec<(G1Projective, G2Projective)> = (0..lanes())
        .map(|_| (G1Projective::rand(&mut rng), G2Projective::rand(&mut rng)))
        .collect();
    let items: Vec<Vec<Fq>> = pairs
        .iter()
        .map(|(p, q)| {
            let (px, py) = p.into_affine().xy().expect("not infinity");
            let (qx, qy) = q.into_affine().xy().expect("not infinity");
            miller_pair_words(
                &PairG1 { x: px, y: py },
                &PairG2 {
                    x: tollgate_microcode::field::fp2_from_ark(&qx),
                    y: tollgate_microcode::field::fp2_from_ark(&qy),
                },
            )
        })
        .collect();
    let lanes_out = run_both(ProgramKind::MillerLoop { pairs: 1 }, &items);
    let product = lanes_out
        .iter()
        .map(|w| fp12_to_ark(&fp12_from_words(w)))
        .fold(Fq12::one(), |acc, f| acc * f);
    let ours = Bls12_381::final_exponentiation(MillerLoopOutput(product))
        .expect("a Miller value is never 0");
    let (ps, qs): (Vec<_>, Vec<_>) = pairs.into_iter().unzip();
    assert_eq!(ours, Bls12_381::multi_pairing(ps, qs));
}

#[test]
fn verify_core_blinds_keys_and_sums_signatures_like_arkworks() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(17);
    let edge = [0u64, 1, 2, u64::MAX, 1 << 63];
    let scalars: Vec<u64> = (0..2 * lanes())
        .map(|i| edge.get(i).copied().unwrap_or_else(|| rng.gen()))
        .collect();
    // r·pk: one item per lane, infinity among them.
    let keys: Vec<G1Projective> = (0..lanes())
        .map(|i| match i {
            6 => G1Projective::zero(),
            _ => G1Projective::rand(&mut rng),
        })
        .collect();
    let inputs: Vec<Vec<Word>> = keys
        .iter()
        .zip(&scalars)
        .map(|(p, k)| {
            std::iter::once(Word::Scalar(*k))
                .chain(g1_words(&g1_from_ark(p)).into_iter().map(Word::Fp))
                .collect()
        })
        .collect();
    let run = core().run(ProgramKind::ScalarMulG1, &inputs, 1);
    for (lane, (p, k)) in keys.iter().zip(&scalars).enumerate() {
        assert_eq!(
            g1_to_ark(&g1_from_words(&run.outputs[lane])),
            *p * Fr::from(*k),
            "r·pk, lane {lane}"
        );
    }
    let issue = |kind: ProgramKind, rounds: usize| {
        let e = params().rom.entry(kind);
        ((e.prologue.len() + rounds * e.body.len() + e.epilogue.len()) * lanes()) as u64
    };
    assert_eq!(
        run.cycles,
        issue(ProgramKind::ScalarMulG1, 1) + PIPELINE_TAIL
    );
    eprintln!(
        "verify core ScalarMulG1: {} items, {} cycles",
        lanes(),
        run.cycles
    );

    // Σ rᵢσᵢ by the bucket method on the host's plan, with the edge scalars, infinity, an
    // item twice (S + P with S = P) and P beside −P: each lane's T and S against arkworks,
    // and the join against Σ rᵢσᵢ.
    let mut sigs: Vec<G2Projective> = (0..2 * lanes())
        .map(|_| G2Projective::rand(&mut rng))
        .collect();
    let mut scalars = scalars;
    sigs[0] = G2Projective::zero();
    sigs[lanes() + 1] = sigs[1];
    scalars[lanes() + 1] = scalars[1];
    sigs[lanes() + 2] = -sigs[2];
    scalars[lanes() + 2] = scalars[2];
    let plan = BucketPlan::fewest_rounds(&scalars, lanes()).expect("a width fits");
    let infinity = g2_words(&g2_from_ark(&G2Projective::zero()));
    let inputs: Vec<Vec<Word>> = (0..lanes())
        .map(|lane| {
            let steps = plan.lanes.get(lane).map_or(&[][..], |l| &l.steps[..]);
            (0..plan.rounds())
                .flat_map(|round| {
                    let step = steps.get(round).copied().unwrap_or(Step::Padding);
                    let point = match step {
                        Step::Item(i) => g2_words(&g2_from_ark(&sigs[i])),
                        Step::Boundary | Step::Padding => infinity.clone(),
                    };
                    std::iter::once(Word::Scalar(step.flag()))
                        .chain(point.into_iter().map(Word::Fp))
                })
                .collect()
        })
        .collect();
    let run = core().run(ProgramKind::BucketSumG2, &inputs, plan.rounds() as u32);
    let ark = |words: &[Fq]| g2_to_ark(&g2_from_words(words));
    for (lane, l) in plan.lanes.iter().enumerate() {
        let items = l.steps.iter().filter_map(|s| match s {
            Step::Item(i) => Some(sigs[*i]),
            _ => None,
        });
        let out = &run.outputs[lane];
        assert_eq!(
            ark(&out[6..]),
            items.sum::<G2Projective>(),
            "S, lane {lane}"
        );
    }
    let want: G2Projective = sigs
        .iter()
        .zip(&scalars)
        .map(|(p, k)| *p * Fr::from(*k))
        .sum();
    assert_eq!(buckets::combine(&plan, &run.outputs), want, "Σ rσ");
    assert_eq!(
        run.cycles,
        issue(ProgramKind::BucketSumG2, plan.rounds()) + PIPELINE_TAIL
    );
    eprintln!(
        "verify core BucketSumG2: {} items, window {}, {} runs, {} cycles",
        2 * lanes(),
        plan.window_bits,
        plan.rounds(),
        run.cycles
    );
}
