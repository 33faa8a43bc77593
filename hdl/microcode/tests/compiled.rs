//! The compiled ROM, executed by the cycle-level model, against arkworks: random points, long
//! streams and the edge cases (infinity anywhere, P + P, P + (−P), scalars 0, 1, 2^64−1).
//! Every run must also be free of register hazards.

use std::sync::OnceLock;

use ark_bls12_381::{Fr, G1Projective, G2Projective};
use ark_ec::PrimeGroup;
use ark_ff::{AdditiveGroup, Zero};
use ark_std::UniformRand;
use tollgate_microcode::compile::isa::Instr;
use tollgate_microcode::compile::programs::ProgramKind;
use tollgate_microcode::compile::rom::Rom;
use tollgate_microcode::compile::{CompileError, EngineConfig};
use tollgate_microcode::curve::{g1_from_ark, g1_to_ark, g2_from_ark, g2_to_ark};
use tollgate_microcode::model::{g1_from_words, g1_words, g2_from_words, g2_words, Job, JobResult};

fn rom() -> &'static Rom {
    static ROM: OnceLock<Rom> = OnceLock::new();
    ROM.get_or_init(|| Rom::build(EngineConfig::DEFAULT).expect("default config compiles"))
}

fn w1(p: &G1Projective) -> Vec<ark_bls12_381::Fq> {
    g1_words(&g1_from_ark(p))
}
fn w2(p: &G2Projective) -> Vec<ark_bls12_381::Fq> {
    g2_words(&g2_from_ark(p))
}
fn p1(w: &[ark_bls12_381::Fq]) -> G1Projective {
    g1_to_ark(&g1_from_words(w))
}
fn p2(w: &[ark_bls12_381::Fq]) -> G2Projective {
    g2_to_ark(&g2_from_words(w))
}

fn run(job: Job) -> JobResult {
    crate::run_clean(rom(), job)
}

/// Random points with the edge cases mixed in: infinity, repeats, negations.
fn g1_stream(n: usize) -> Vec<G1Projective> {
    let mut rng = ark_std::test_rng();
    let mut v: Vec<G1Projective> = (0..n).map(|_| G1Projective::rand(&mut rng)).collect();
    v[0] = G1Projective::zero();
    v[3] = v[2];
    v[5] = -v[4];
    v[n - 1] = G1Projective::zero();
    v
}

fn g2_stream(n: usize) -> Vec<G2Projective> {
    let mut rng = ark_std::test_rng();
    let mut v: Vec<G2Projective> = (0..n).map(|_| G2Projective::rand(&mut rng)).collect();
    v[0] = G2Projective::zero();
    v[3] = v[2];
    v[5] = -v[4];
    v[n - 1] = G2Projective::zero();
    v
}

#[test]
fn the_hardware_rom_reads_no_table_constant() {
    // The RTL core decodes only the constants 0 and 1; table operands belong to the
    // verification programs, which are not in the hardware ROM yet.
    use tollgate_microcode::compile::isa::Operand;
    use tollgate_microcode::trace::Const;
    let table = |op: &Operand| matches!(op, Operand::Const(Const::Table(_)));
    for instr in &rom().instrs {
        let mul = instr.mul.iter().flat_map(|m| [m.a, m.b]);
        let alu = instr.alu.iter().flatten().flat_map(|a| [a.a, a.b]);
        assert!(!mul.chain(alu).any(|op| table(&op)), "{instr:?}");
    }
}

#[test]
fn rom_words_decode_to_the_same_instructions() {
    let rom = rom();
    assert!(rom.word_bits() <= 128);
    for (instr, word) in rom.instrs.iter().zip(rom.words()) {
        assert_eq!(
            Instr::decode(word, rom.config.alu_slots).as_ref(),
            Some(instr)
        );
    }
}

#[test]
fn configurations_that_would_need_hazard_logic_are_refused() {
    let cfg = EngineConfig {
        lanes: 8,
        ..EngineConfig::DEFAULT
    };
    assert!(matches!(
        Rom::build(cfg),
        Err(CompileError::TooFewLanes {
            lanes: 8,
            latency: 40
        })
    ));
    let cfg = EngineConfig {
        bank_regs: [8, 4, 4, 4, 4],
        ..EngineConfig::DEFAULT
    };
    assert!(matches!(
        Rom::build(cfg),
        Err(CompileError::OutOfRegisters { .. })
    ));
    let cfg = EngineConfig {
        alu_slots: 2,
        ..EngineConfig::DEFAULT
    };
    assert_eq!(Rom::build(cfg).err(), Some(CompileError::BankWithoutUnit));
    let cfg = EngineConfig {
        alu_slots: 4,
        ..EngineConfig::DEFAULT
    };
    assert_eq!(Rom::build(cfg).err(), Some(CompileError::AluSlots(4)));
}

#[test]
fn g1_pairwise_add_and_double_edge_cases() {
    let s = g1_stream(12);
    let g = G1Projective::generator();
    let zero = G1Projective::zero();
    let mut pairs: Vec<(G1Projective, G1Projective)> =
        vec![(zero, zero), (zero, g), (g, zero), (g, g), (g, -g)];
    pairs.extend(s.windows(2).map(|w| (w[0], w[1])));
    let job = Job::AddPairs {
        g2: false,
        pairs: pairs.iter().map(|(a, b)| (w1(a), w1(b))).collect(),
    };
    let out = run(job);
    for ((a, b), got) in pairs.iter().zip(&out.points) {
        assert_eq!(p1(got), *a + *b);
    }
    let out = run(Job::DoubleEach {
        g2: false,
        points: s.iter().map(w1).collect(),
    });
    for (a, got) in s.iter().zip(&out.points) {
        assert_eq!(p1(got), AdditiveGroup::double(a));
    }
}

#[test]
fn g2_pairwise_add_and_double_edge_cases() {
    let s = g2_stream(8);
    let g = G2Projective::generator();
    let zero = G2Projective::zero();
    let mut pairs: Vec<(G2Projective, G2Projective)> =
        vec![(zero, zero), (zero, g), (g, zero), (g, g), (g, -g)];
    pairs.extend(s.windows(2).map(|w| (w[0], w[1])));
    let out = run(Job::AddPairs {
        g2: true,
        pairs: pairs.iter().map(|(a, b)| (w2(a), w2(b))).collect(),
    });
    for ((a, b), got) in pairs.iter().zip(&out.points) {
        assert_eq!(p2(got), *a + *b);
    }
    let out = run(Job::DoubleEach {
        g2: true,
        points: s.iter().map(w2).collect(),
    });
    for (a, got) in s.iter().zip(&out.points) {
        assert_eq!(p2(got), AdditiveGroup::double(a));
    }
}

#[test]
fn aggregation_of_long_streams_and_short_ones() {
    // Longer than the lane count (several body rounds, uneven lanes) and shorter (idle lanes).
    for n in [1, 7, 333] {
        let s = g1_stream(n.max(6));
        let s = &s[..n];
        let out = run(Job::Aggregate {
            g2: false,
            points: s.iter().map(w1).collect(),
        });
        assert_eq!(
            p1(&out.points[0]),
            s.iter().sum::<G1Projective>(),
            "G1 n = {n}"
        );
    }
    for n in [1, 101] {
        let s = g2_stream(n.max(6));
        let s = &s[..n];
        let out = run(Job::Aggregate {
            g2: true,
            points: s.iter().map(w2).collect(),
        });
        assert_eq!(
            p2(&out.points[0]),
            s.iter().sum::<G2Projective>(),
            "G2 n = {n}"
        );
    }
    // All infinity, and a sum that cancels to infinity.
    let g = G1Projective::generator();
    let out = run(Job::Aggregate {
        g2: false,
        points: vec![w1(&G1Projective::zero()); 5],
    });
    assert!(p1(&out.points[0]).is_zero());
    let out = run(Job::Aggregate {
        g2: false,
        points: vec![w1(&g), w1(&g), w1(&-g), w1(&-g)],
    });
    assert!(p1(&out.points[0]).is_zero());
}

const EDGE_SCALARS: [u64; 5] = [0, 1, 2, u64::MAX, 1 << 63];

#[test]
fn scalar_multiplication_g1_and_msm() {
    let mut rng = ark_std::test_rng();
    let s = g1_stream(50);
    let mut pairs: Vec<(u64, G1Projective)> = EDGE_SCALARS.iter().map(|&k| (k, s[1])).collect();
    pairs.push((u64::MAX, G1Projective::zero()));
    pairs.extend(s.iter().map(|p| (u64::rand(&mut rng), *p)));
    let words: Vec<(u64, Vec<_>)> = pairs.iter().map(|(k, p)| (*k, w1(p))).collect();
    let out = run(Job::ScalarMulEach {
        g2: false,
        pairs: words.clone(),
    });
    for ((k, p), got) in pairs.iter().zip(&out.points) {
        assert_eq!(p1(got), *p * Fr::from(*k), "k = {k}");
    }
    let out = run(Job::MultiScalar {
        g2: false,
        pairs: words,
    });
    let expect: G1Projective = pairs.iter().map(|(k, p)| *p * Fr::from(*k)).sum();
    assert_eq!(p1(&out.points[0]), expect);
}

#[test]
fn scalar_multiplication_g2_and_msm() {
    let mut rng = ark_std::test_rng();
    let s = g2_stream(8);
    let mut pairs: Vec<(u64, G2Projective)> = EDGE_SCALARS.iter().map(|&k| (k, s[1])).collect();
    pairs.push((7, G2Projective::zero()));
    pairs.extend(s.iter().map(|p| (u64::rand(&mut rng), *p)));
    let words: Vec<(u64, Vec<_>)> = pairs.iter().map(|(k, p)| (*k, w2(p))).collect();
    let out = run(Job::ScalarMulEach {
        g2: true,
        pairs: words.clone(),
    });
    for ((k, p), got) in pairs.iter().zip(&out.points) {
        assert_eq!(p2(got), *p * Fr::from(*k), "k = {k}");
    }
    let out = run(Job::MultiScalar {
        g2: true,
        pairs: words,
    });
    let expect: G2Projective = pairs.iter().map(|(k, p)| *p * Fr::from(*k)).sum();
    assert_eq!(p2(&out.points[0]), expect);
}

#[test]
fn steady_state_meets_the_cycle_targets() {
    let rom = rom();
    for kind in ProgramKind::ALL {
        let p = rom.program(kind);
        eprintln!(
            "{kind:?}: body {} instrs, {} muls, {} alu, {} regs {:?} (prologue {}, epilogue {})",
            p.body.instrs.len(),
            p.body.muls,
            p.body.alus,
            p.body.registers,
            [&p.prologue, &p.body, &p.epilogue]
                .iter()
                .fold([0; 5], |m, s| std::array::from_fn(
                    |b| m[b].max(s.bank_use[b])
                )),
            p.prologue.instrs.len(),
            p.epilogue.instrs.len()
        );
    }
    // One body run adds one point per accumulator; K lanes finish K runs in K·len cycles.
    let per_point =
        |kind| rom.program(kind).body.instrs.len() as f64 / rom.config.accumulators as f64;
    let (g1, g2) = (
        per_point(ProgramKind::AggregateG1),
        per_point(ProgramKind::AggregateG2),
    );
    assert!(g1 <= 14.0, "G1 add: {g1} cycles per engine");
    assert!(g2 <= 40.0, "G2 add: {g2} cycles per engine");
}
