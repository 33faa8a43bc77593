//! Hash to G2 compiled and run on the cycle-level model, against blst (the independent
//! reference) and the golden model: the Ethereum suite's hash_to_G2 vectors, random messages
//! under the three min_pk DSTs, and the map's edge cases (u = 0, the exceptional case of SWU;
//! g(x1) square and not square); the host's share of the work (`--nocapture`). The programs'
//! cycles per item and ROM words are reported with the other G2 programs' in g2_endo.rs. The
//! host's part, hash_to_field (expand_message_xmd with SHA-256, reduction mod p), is blst's
//! here.

use std::sync::OnceLock;

use ark_bls12_381::{Fq, Fq2, G2Affine};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{Field as _, PrimeField, Zero};
use ark_std::UniformRand;
use rand::{Rng, SeedableRng};
use tollgate_microcode::compile::programs::ProgramKind;
use tollgate_microcode::compile::rom::Rom;
use tollgate_microcode::compile::EngineConfig;
use tollgate_microcode::curve::{g2_to_ark, hash_to_g2, map_to_g2, SSWU_Z};
use tollgate_microcode::field::fp2_from_ark;
use tollgate_microcode::model::{g2_from_words, g2_words, Job};
use tollgate_microcode::reference::{self, hash_to_field, vectors_dir, DSTS, VECTOR_DST};

const KINDS: [ProgramKind; 2] = [ProgramKind::MapToG2, ProgramKind::HashToG2];

fn rom() -> &'static Rom {
    static ROM: OnceLock<Rom> = OnceLock::new();
    ROM.get_or_init(|| Rom::build_programs(EngineConfig::VERIFY, &KINDS).expect("compiles"))
}

/// Runs `kind` on the model over items of Fp2 values; returns each item's output words.
fn run(kind: ProgramKind, items: &[Vec<Fq2>]) -> Vec<Vec<Fq>> {
    let items = items
        .iter()
        .map(|us| us.iter().flat_map(|u| [u.c0, u.c1]).collect())
        .collect();
    crate::run_clean(rom(), Job::Each { kind, items }).points
}

fn affine(words: &[Fq]) -> G2Affine {
    g2_to_ark(&g2_from_words(words)).into_affine()
}

/// The golden model (the same generic code evaluated on arkworks' Fq) as stream words.
fn golden_hash(u0: &Fq2, u1: &Fq2) -> Vec<Fq> {
    g2_words(&hash_to_g2(&fp2_from_ark(u0), &fp2_from_ark(u1)))
}

/// Checks the model's hash of each (u0, u1) bit for bit against the golden model and, as a
/// point, against `expected`.
fn check_hashes(us: &[[Fq2; 2]], expected: &[G2Affine]) {
    let items: Vec<Vec<Fq2>> = us.iter().map(|u| u.to_vec()).collect();
    let out = run(ProgramKind::HashToG2, &items);
    for ((u, words), want) in us.iter().zip(&out).zip(expected) {
        assert_eq!(words, &golden_hash(&u[0], &u[1]), "u = {u:?}");
        let ours = affine(words);
        assert!(ours.is_in_correct_subgroup_assuming_on_curve() && ours.is_on_curve());
        assert_eq!(&ours, want, "u = {u:?}");
    }
}

fn fq2_from_hex_pair(s: &str) -> Fq2 {
    let parse = |h: &str| {
        let bytes = hex::decode(h.trim_start_matches("0x")).expect("hex");
        Fq::from_be_bytes_mod_order(&bytes)
    };
    let (c0, c1) = s.split_once(',').expect("c0,c1");
    Fq2::new(parse(c0), parse(c1))
}

#[test]
fn ethereum_hash_to_g2_vectors_match_on_the_model() {
    let dir = vectors_dir().join("hash_to_G2");
    let mut cases = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let text = std::fs::read_to_string(entry.expect("entry").path()).expect("readable");
        let v: serde_json::Value = serde_json::from_str(&text).expect("json");
        let msg = v["input"]["msg"].as_str().expect("msg").to_owned();
        let out = &v["output"];
        let want = G2Affine::new(
            fq2_from_hex_pair(out["x"].as_str().expect("x")),
            fq2_from_hex_pair(out["y"].as_str().expect("y")),
        );
        assert_eq!(
            reference::hash_to_g2(msg.as_bytes(), VECTOR_DST),
            want,
            "blst, {msg}"
        );
        cases.push((hash_to_field(msg.as_bytes(), VECTOR_DST), want));
    }
    assert!(cases.len() >= 4, "the suite has hash_to_G2 vectors");
    let (us, want): (Vec<_>, Vec<_>) = cases.into_iter().unzip();
    check_hashes(&us, &want);
}

#[test]
fn random_messages_under_every_dst_match_blst() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    let (mut us, mut want) = (Vec::new(), Vec::new());
    // 45 items: more than one per lane.
    for i in 0..45 {
        let dst = DSTS[i % DSTS.len()];
        let len = rng.gen_range(0..200);
        let msg: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        us.push(hash_to_field(&msg, dst));
        want.push(reference::hash_to_g2(&msg, dst));
    }
    check_hashes(&us, &want);
}

/// Whether g(x1) of simplified SWU is a square for u, computed with arkworks' Fq2 from the
/// RFC's definition (x1 = −B/A · (1 + 1/(Z²u⁴ + Zu²))).
fn gx1_is_square(u: &Fq2) -> bool {
    let a = Fq2::new(Fq::zero(), Fq::from(240u64));
    let b = Fq2::new(Fq::from(1012u64), Fq::from(1012u64));
    let z = Fq2::new(Fq::from(SSWU_Z.0), Fq::from(SSWU_Z.1));
    let t = z.square() * u.square().square() + z * u.square();
    let x1 = -b / a * (Fq2::ONE + t.inverse().expect("u ≠ 0"));
    (x1.square() * x1 + a * x1 + b).legendre().is_qr()
}

#[test]
fn map_edge_cases_match_blst() {
    let mut rng = ark_std::test_rng();
    let zero = Fq2::zero();
    // u = 0: the exceptional case (Z²u⁴ + Zu² = 0), alone and in both positions of a hash.
    let mut singles = vec![zero];
    let (mut square, mut non_square) = (0, 0);
    while square < 10 || non_square < 10 {
        let u = Fq2::rand(&mut rng);
        if gx1_is_square(&u) {
            square += 1;
        } else {
            non_square += 1;
        }
        singles.push(u);
    }
    let items: Vec<Vec<Fq2>> = singles.iter().map(|u| vec![*u]).collect();
    let out = run(ProgramKind::MapToG2, &items);
    for (u, words) in singles.iter().zip(&out) {
        assert_eq!(words, &g2_words(&map_to_g2(&fp2_from_ark(u))), "u = {u}");
        let point = affine(words);
        assert!(point.is_on_curve(), "u = {u}");
        assert_eq!(
            point.clear_cofactor(),
            reference::map_to_g2(u, None),
            "u = {u}"
        );
    }

    // map(−u) = −map(u) (x depends on u², y takes u's sign): their sum is infinity.
    let u = singles[1];
    let pairs = [[zero, u], [u, zero], [zero, zero], [u, u], [u, -u]];
    let want: Vec<G2Affine> = pairs
        .iter()
        .map(|[a, b]| reference::map_to_g2(a, Some(b)))
        .collect();
    assert!(want[4].is_zero());
    check_hashes(&pairs, &want);
}

/// The host's share if it does hash_to_field (expand_message_xmd with SHA-256 and the
/// reduction) and the engine the rest, against the whole hash on the CPU: medians of blst's
/// own functions (built at opt-level 3), 32-byte messages.
#[test]
fn host_share_of_hash_to_g2() {
    use std::time::Instant;
    let median = |f: &dyn Fn(&[u8])| {
        let mut times: Vec<f64> = (0..9)
            .map(|round| {
                let start = Instant::now();
                for i in 0..200u32 {
                    let msg = [(round * 1000 + i).to_le_bytes(), [7; 4]].concat();
                    f(&msg.repeat(4));
                }
                start.elapsed().as_secs_f64() / 200.0
            })
            .collect();
        times.sort_by(f64::total_cmp);
        times[times.len() / 2]
    };
    let field = median(&|m| {
        std::hint::black_box(hash_to_field(m, DSTS[0]));
    });
    let whole = median(&|m| {
        let _ = std::hint::black_box(reference::hash_to_g2(m, DSTS[0]));
    });
    eprintln!(
        "hash_to_field {:.2} µs, whole hash_to_G2 {:.1} µs per message (CPU, blst): the host \
         keeps {:.1} % of the work",
        field * 1e6,
        whole * 1e6,
        100.0 * field / whole
    );
    // A loose bound (the machine is shared): the split only pays if the host's part is small.
    assert!(field < 0.25 * whole, "{field} vs {whole}");
}
