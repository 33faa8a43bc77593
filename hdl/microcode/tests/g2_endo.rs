//! G2 signature decoding, subgroup check and cofactor clearing compiled and run on the cycle-level model, against
//! arkworks: valid G2 points, points on the twist outside the subgroup, the generator; then the
//! size and cycles per item of these programs and of hash to G2's (checked in hash_to_g2.rs)
//! (`cargo test -p tollgate-microcode --test programs g2_endo:: -- --nocapture`).

use std::sync::OnceLock;

use ark_bls12_381::{Fq, Fq2, G2Affine, G2Projective};
use ark_ec::{AffineRepr, CurveGroup, PrimeGroup};
use ark_ff::Zero;
use ark_std::UniformRand;
use tollgate_microcode::compile::programs::ProgramKind;
use tollgate_microcode::compile::rom::Rom;
use tollgate_microcode::compile::EngineConfig;
use tollgate_microcode::curve::{g2_from_ark, g2_to_ark};
use tollgate_microcode::model::{g2_from_words, g2_words, Job, JobResult};

const KINDS: [ProgramKind; 5] = [
    ProgramKind::SubgroupCheckG2,
    ProgramKind::ClearCofactorG2,
    ProgramKind::DecodeG2,
    ProgramKind::MapToG2,
    ProgramKind::HashToG2,
];

fn rom() -> &'static Rom {
    static ROM: OnceLock<Rom> = OnceLock::new();
    ROM.get_or_init(|| Rom::build_programs(EngineConfig::VERIFY, &KINDS).expect("compiles"))
}

fn run(kind: ProgramKind, points: &[G2Affine]) -> JobResult {
    let items = points
        .iter()
        .map(|p| g2_words(&g2_from_ark(&(*p).into())))
        .collect();
    crate::run_clean(rom(), Job::Each { kind, items })
}

/// Points of the twist, half of them in G2: more than one item per lane.
fn mixed_points() -> Vec<G2Affine> {
    let mut rng = ark_std::test_rng();
    let mut points = vec![G2Projective::generator().into_affine()];
    while points.len() < 60 {
        if points.len() % 2 == 0 {
            points.push(G2Projective::rand(&mut rng).into_affine());
        } else if let Some(p) = G2Affine::get_point_from_x_unchecked(Fq2::rand(&mut rng), true) {
            points.push(p);
        }
    }
    points
}

#[test]
fn subgroup_check_gives_arkworks_verdicts() {
    let points = mixed_points();
    let out = run(ProgramKind::SubgroupCheckG2, &points);
    let mut outside = 0;
    for (p, residue) in points.iter().zip(&out.points) {
        let valid = p.is_in_correct_subgroup_assuming_on_curve();
        outside += usize::from(!valid);
        assert_eq!(residue.len(), 2);
        assert_eq!(residue.iter().all(Fq::is_zero), valid, "{p}");
    }
    assert!(outside >= 20, "the test needs points outside G2");
}

#[test]
fn cofactor_clearing_matches_arkworks() {
    let points = mixed_points();
    let out = run(ProgramKind::ClearCofactorG2, &points);
    for (p, words) in points.iter().zip(&out.points) {
        let ours = g2_to_ark(&g2_from_words(words)).into_affine();
        assert_eq!(ours, p.clear_cofactor(), "{p}");
    }
}

#[test]
fn decoding_gives_arkworks_points_and_verdicts() {
    let mut rng = ark_std::test_rng();
    // Valid signatures' x, then arbitrary x (off the twist, or on it and mostly off G2).
    let mut xs: Vec<Fq2> = (0..20)
        .map(|_| G2Projective::rand(&mut rng).into_affine().x)
        .collect();
    xs.extend((0..40).map(|_| Fq2::rand(&mut rng)));
    let items = xs.iter().map(|x| vec![x.c0, x.c1]).collect();
    let out = crate::run_clean(
        rom(),
        Job::Each {
            kind: ProgramKind::DecodeG2,
            items,
        },
    );
    let zero = |w: &[Fq]| w.iter().all(Fq::is_zero);
    let (mut off_curve, mut off_subgroup) = (0, 0);
    for (x, w) in xs.iter().zip(&out.points) {
        assert_eq!(w.len(), 6);
        match G2Affine::get_point_from_x_unchecked(*x, true) {
            None => {
                off_curve += 1;
                assert!(!zero(&w[2..4]), "x = {x}");
            }
            Some(p) => {
                assert!(zero(&w[2..4]), "x = {x}");
                let y = Fq2::new(w[0], w[1]);
                assert!(y == p.y || y == -p.y, "x = {x}");
                let in_g2 = p.is_in_correct_subgroup_assuming_on_curve();
                off_subgroup += usize::from(!in_g2);
                assert_eq!(zero(&w[4..6]), in_g2, "x = {x}");
            }
        }
    }
    assert!(
        off_curve > 5 && off_subgroup > 5,
        "both failure kinds covered"
    );
}

#[test]
fn program_size_and_cycles_per_item() {
    for kind in KINDS {
        let body = &rom().program(kind).body;
        eprintln!(
            "{kind:?}: body {} instructions = engine cycles per item, {} muls ({:.1}% multiplier \
             busy), {} registers {:?}",
            body.instrs.len(),
            body.muls,
            100.0 * body.muls as f64 / body.instrs.len() as f64,
            body.registers,
            body.bank_use
        );
        assert!(
            body.muls as f64 >= 0.75 * body.instrs.len() as f64,
            "{kind:?}"
        );
    }
}

#[test]
fn rom_words_with_table_constants_and_flags_decode_to_the_same_instructions() {
    use tollgate_microcode::compile::isa::{AluKind, Instr, Operand};
    use tollgate_microcode::trace::{Const, FlagTest};
    let rom = rom();
    let sets = |test| {
        rom.instrs
            .iter()
            .flat_map(|i| i.alu.iter().flatten())
            .filter(|op| matches!(op.kind, AluKind::SetFlag { test: t, .. } if t == test))
            .count()
    };
    assert!(
        sets(FlagTest::IsZero) > 0 && sets(FlagTest::ImageLsb) > 0,
        "decoding and hash to G2 compute both kinds of flags"
    );
    let reads_table = |op: &Operand| matches!(op, Operand::Const(Const::Table(_)));
    let uses = rom
        .instrs
        .iter()
        .filter(|i| {
            i.mul
                .is_some_and(|m| reads_table(&m.a) || reads_table(&m.b))
        })
        .count();
    assert!(uses > 0, "ψ reads the constant table");
    for (instr, word) in rom.instrs.iter().zip(rom.words()) {
        assert_eq!(
            Instr::decode(word, rom.config.alu_slots).as_ref(),
            Some(instr)
        );
    }
}
