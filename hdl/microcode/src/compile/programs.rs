//! The engine's programs, each traced from the generic formulas in [`crate::curve`] and
//! [`crate::pairing`].
//!
//! A program is three straight-line segments: a prologue run once per job, a body run once per
//! stream item, an epilogue run once at the end. State that survives between segments (an
//! accumulator) lives in pinned registers 0..state_slots.

use super::{compile_segment, CompileError, EngineConfig, Segment};
use crate::curve::{
    add, bucket_step, clear_cofactor, decode_g2, double, map_to_g2, scalar_mul, subgroup_residue,
    sum_and_clear_cofactor, Curve, Point, G1, G2,
};
use crate::field::{Field, Fp12, Fp2, Fp6};
use crate::pairing::{miller_product, G1Affine, G2Affine};
use crate::trace::{Traced, TracedBit, Tracer};

/// Which computation a program performs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProgramKind {
    /// Per item: P, Q → P + Q (G1). Also the combining round of aggregations.
    AddG1,
    /// Per item: P, Q → P + Q (G2).
    AddG2,
    /// Per item: P → 2P (G1).
    DoubleG1,
    /// Per item: P → 2P (G2).
    DoubleG2,
    /// Items P → one partial sum per lane (G1).
    AggregateG1,
    /// Items P → one partial sum per lane (G2).
    AggregateG2,
    /// Per item: k, P → kP (G1).
    ScalarMulG1,
    /// Per item: k, P → kP (G2).
    ScalarMulG2,
    /// Items (k, P) → one partial Σ kP per lane (G1).
    MultiScalarG1,
    /// Items (k, P) → one partial Σ kP per lane (G2).
    MultiScalarG2,
    /// Steps (flag, P) of the sorted bucket method ([`crate::curve::bucket_step`]; the host
    /// orders them, see [`crate::model::buckets`]) → one Σ b·B_b per lane (G2), the lane's
    /// share of one window of Σ kᵢPᵢ, then the lane's S (the sum of its items). In the
    /// verification core's ROM.
    BucketSumG2,
    /// Items of `pairs` (P, Q) pairs → one Miller product per lane (Fp12, conjugated for
    /// x < 0); each body run shares its accumulator's squarings across its pairs. Not in the
    /// hardware ROM yet (ABI 3 wires it).
    MillerLoop {
        /// Pairs per body run.
        pairs: u8,
    },
    /// Per item: P on the twist → Z of ψ(P) + [|x|]P (2 words, both 0 iff P is in G2). Not in
    /// the hardware ROM yet.
    SubgroupCheckG2,
    /// Per item: x of a compressed signature → y, y² − (x³ + b), Z of ψ(P) + [|x|]P (6 words:
    /// a root, then two residues, both 0 iff (x, ±y) is in G2). Not in the hardware ROM yet.
    DecodeG2,
    /// Per item: P on the twist → [h_eff]P, hash-to-G2's cofactor clearing. Not in the
    /// hardware ROM yet.
    ClearCofactorG2,
    /// Per item: u ∈ Fp2 (2 words) → the 3-isogeny of its simplified-SWU point, on the twist
    /// but not yet in G2 (6 words, projective): hash to G2's map_to_curve, measured alone.
    /// Not in the hardware ROM yet.
    MapToG2,
    /// Per item: u0, u1 ∈ Fp2 (4 words, hash_to_field's output) → [h_eff](map(u0) + map(u1)),
    /// the message's point in G2 (6 words, projective). Not in the hardware ROM yet.
    HashToG2,
}

/// Stream words of one Miller-loop pair: P.x, P.y, Q.x.c0, Q.x.c1, Q.y.c0, Q.y.c1.
pub const MILLER_PAIR_WORDS: usize = 6;
/// Stream words of an Fp12 value, in tower order (c0.c0.c0, c0.c0.c1, c0.c1.c0, …).
pub const FP12_WORDS: usize = 12;

impl ProgramKind {
    /// Every program of the hardware ROM, in ROM order.
    pub const ALL: [ProgramKind; 10] = [
        ProgramKind::AddG1,
        ProgramKind::AddG2,
        ProgramKind::DoubleG1,
        ProgramKind::DoubleG2,
        ProgramKind::AggregateG1,
        ProgramKind::AggregateG2,
        ProgramKind::ScalarMulG1,
        ProgramKind::ScalarMulG2,
        ProgramKind::MultiScalarG1,
        ProgramKind::MultiScalarG2,
    ];

    /// Whether it works over Fp2.
    pub fn is_g2(self) -> bool {
        matches!(
            self,
            ProgramKind::AddG2
                | ProgramKind::DoubleG2
                | ProgramKind::AggregateG2
                | ProgramKind::ScalarMulG2
                | ProgramKind::MultiScalarG2
                | ProgramKind::BucketSumG2
                | ProgramKind::SubgroupCheckG2
                | ProgramKind::ClearCofactorG2
                | ProgramKind::DecodeG2
                | ProgramKind::MapToG2
                | ProgramKind::HashToG2
        )
    }
}

/// A compiled program.
#[derive(Clone, Debug)]
pub struct Program {
    /// What it computes.
    pub kind: ProgramKind,
    /// Run once per job.
    pub prologue: Segment,
    /// Run once per item.
    pub body: Segment,
    /// Run once at the end of the job.
    pub epilogue: Segment,
}

/// The coordinates of a point as a flat list of base-field values, in stream order.
trait Flatten: Field<Bit = TracedBit> {
    fn flatten(&self) -> Vec<Traced>;
    fn from_flat(values: &mut dyn Iterator<Item = Traced>) -> Self;
}

impl Flatten for Traced {
    fn flatten(&self) -> Vec<Traced> {
        vec![self.clone()]
    }
    fn from_flat(values: &mut dyn Iterator<Item = Traced>) -> Self {
        values.next().expect("enough values")
    }
}

impl Flatten for Fp2<Traced> {
    fn flatten(&self) -> Vec<Traced> {
        vec![self.c0.clone(), self.c1.clone()]
    }
    fn from_flat(values: &mut dyn Iterator<Item = Traced>) -> Self {
        Fp2::new(Traced::from_flat(values), Traced::from_flat(values))
    }
}

impl Flatten for Fp6<Traced> {
    fn flatten(&self) -> Vec<Traced> {
        [self.c0.flatten(), self.c1.flatten(), self.c2.flatten()].concat()
    }
    fn from_flat(values: &mut dyn Iterator<Item = Traced>) -> Self {
        Fp6::new(
            Fp2::from_flat(values),
            Fp2::from_flat(values),
            Fp2::from_flat(values),
        )
    }
}

impl Flatten for Fp12<Traced> {
    fn flatten(&self) -> Vec<Traced> {
        [self.c0.flatten(), self.c1.flatten()].concat()
    }
    fn from_flat(values: &mut dyn Iterator<Item = Traced>) -> Self {
        Fp12::new(Fp6::from_flat(values), Fp6::from_flat(values))
    }
}

/// The value of type `F` held in state slots `first..`.
fn state_value<F: Flatten>(t: &Tracer, first: usize) -> F {
    F::from_flat(&mut state_slots(t, first))
}

fn set_state_value<F: Flatten>(t: &Tracer, first: usize, value: &F) {
    set_state_words(t, first, &value.flatten());
}

/// A Miller-loop program over `pairs` pairs per body run: the accumulator f lives in state
/// slots 0..12. Loaded words are read for the whole loop, so each is copied out of the stream
/// port's small bank at once. Returns the state slots used.
fn trace_miller_loop(segments: &[Tracer; 3], pairs: usize) -> usize {
    let [pro, body, epi] = segments;
    let one = Fp12::<Traced>::from_flat(&mut std::iter::repeat(pro.state(0))).one();
    set_state_value(pro, 0, &one);
    let pairs: Vec<_> = (0..pairs)
        .map(|_| {
            let w: Vec<Traced> = (0..MILLER_PAIR_WORDS)
                .map(|_| body.copy(&body.load()))
                .collect();
            let p = G1Affine {
                x: w[0].clone(),
                y: w[1].clone(),
            };
            let q = G2Affine {
                x: Fp2::new(w[2].clone(), w[3].clone()),
                y: Fp2::new(w[4].clone(), w[5].clone()),
            };
            (p, q)
        })
        .collect();
    let f: Fp12<Traced> = state_value(body, 0);
    set_state_value(body, 0, &f.mul(&miller_product(&pairs)));
    let f: Fp12<Traced> = state_value(epi, 0);
    store_words(epi, &f.conjugate().flatten());
    FP12_WORDS
}

fn flatten<F: Flatten>(p: &Point<F>) -> Vec<Traced> {
    [p.x.flatten(), p.y.flatten(), p.z.flatten()].concat()
}

fn load_point<F: Flatten>(t: &Tracer) -> Point<F> {
    let mut it = std::iter::from_fn(|| Some(t.load()));
    Point::new(
        F::from_flat(&mut it),
        F::from_flat(&mut it),
        F::from_flat(&mut it),
    )
}

/// Coordinates of a point of type `F` in stream words (3 for G1, 6 for G2).
fn point_words<F: Flatten>() -> usize {
    3 * F::from_flat(&mut std::iter::repeat(Tracer::new().load()))
        .flatten()
        .len()
}

/// The values of state slots `first`, `first + 1`, … in the segment `t`.
fn state_slots(t: &Tracer, first: usize) -> impl Iterator<Item = Traced> + '_ {
    (first..).map(|slot| t.state(slot as u8))
}

/// The point held in state slots `first..first + point_words`.
fn state_point<F: Flatten>(t: &Tracer, first: usize) -> Point<F> {
    let mut it = state_slots(t, first);
    Point::new(
        F::from_flat(&mut it),
        F::from_flat(&mut it),
        F::from_flat(&mut it),
    )
}

/// Leaves `words` in state slots `first..`.
fn set_state_words(t: &Tracer, first: usize, words: &[Traced]) {
    for (i, v) in words.iter().enumerate() {
        t.set_state((first + i) as u8, v);
    }
}

fn set_state_point<F: Flatten>(t: &Tracer, first: usize, p: &Point<F>) {
    set_state_words(t, first, &flatten(p));
}

fn store_words(t: &Tracer, words: &[Traced]) {
    for v in words {
        t.store(v);
    }
}

fn store_point<F: Flatten>(t: &Tracer, p: &Point<F>) {
    store_words(t, &flatten(p));
}

/// The three segments' graphs of a program over point coordinates `F` on curve `C`, and the
/// number of state slots they use.
fn trace<F: Flatten, C: Curve<F>>(kind: ProgramKind, accumulators: usize) -> ([Tracer; 3], usize) {
    let segments = [Tracer::new(), Tracer::new(), Tracer::new()];
    let [pro, body, epi] = &segments;
    let words = point_words::<F>();
    // Any traced value of type F gives access to its constants; the anchor itself is never
    // read, so it compiles to nothing.
    let infinity = Point::<F>::identity_like(&F::from_flat(&mut std::iter::repeat(pro.state(0))));
    let slots = match kind {
        ProgramKind::AddG1 | ProgramKind::AddG2 => {
            let p: Point<F> = load_point(body);
            let q: Point<F> = load_point(body);
            store_point(body, &add::<F, C>(&p, &q));
            0
        }
        ProgramKind::DoubleG1 | ProgramKind::DoubleG2 => {
            let p: Point<F> = load_point(body);
            store_point(body, &double::<F, C>(&p));
            0
        }
        ProgramKind::ScalarMulG1 | ProgramKind::ScalarMulG2 => {
            let bits = body.load_scalar();
            let p: Point<F> = load_point(body);
            store_point(body, &scalar_mul::<F, C>(&p, &bits));
            0
        }
        ProgramKind::AggregateG1 | ProgramKind::AggregateG2 => {
            // Independent accumulators, one point each per body run: their additions have no
            // dependence on each other, so the scheduler can overlap one's tail with another's
            // head and keep the multiplier busy.
            for u in 0..accumulators {
                set_state_point(pro, u * words, &infinity);
                let acc: Point<F> = state_point(body, u * words);
                let p: Point<F> = load_point(body);
                set_state_point(body, u * words, &add::<F, C>(&acc, &p));
            }
            let total = (1..accumulators).fold(state_point::<F>(epi, 0), |sum, u| {
                add::<F, C>(&sum, &state_point(epi, u * words))
            });
            store_point(epi, &total);
            accumulators * words
        }
        ProgramKind::MultiScalarG1 | ProgramKind::MultiScalarG2 => {
            set_state_point(pro, 0, &infinity);
            let acc: Point<F> = state_point(body, 0);
            let bits = body.load_scalar();
            let p: Point<F> = load_point(body);
            set_state_point(body, 0, &add::<F, C>(&acc, &scalar_mul::<F, C>(&p, &bits)));
            let acc: Point<F> = state_point(epi, 0);
            store_point(epi, &acc);
            words
        }
        ProgramKind::BucketSumG2 => {
            // S in slots 0.., T after it; the step's flag is bit 0 of a loaded scalar word.
            set_state_point(pro, 0, &infinity);
            set_state_point(pro, words, &infinity);
            let s: Point<F> = state_point(body, 0);
            let t: Point<F> = state_point(body, words);
            let boundary = body.load_scalar().pop().expect("a scalar has bit 0");
            let p: Point<F> = load_point(body);
            let (s, t) = bucket_step::<F, C>(&boundary, &s, &t, &p);
            set_state_point(body, 0, &s);
            set_state_point(body, words, &t);
            // T, then S: when the host splits a lane's steps over several jobs, each job
            // starts S afresh, and the host adds (the lane's digit at the cut) · S of every
            // job but the last to T (see `tollgate_abi::buckets`).
            store_point(epi, &state_point::<F>(epi, words));
            store_point(epi, &state_point::<F>(epi, 0));
            2 * words
        }
        ProgramKind::MillerLoop { pairs } => trace_miller_loop(&segments, pairs as usize),
        ProgramKind::SubgroupCheckG2 => {
            let p: Point<Fp2<Traced>> = load_point(body);
            store_words(body, &subgroup_residue(&p).flatten());
            0
        }
        ProgramKind::DecodeG2 => {
            let d = decode_g2(&body.load_fp2());
            for v in [d.y, d.curve_residue, d.subgroup_residue] {
                store_words(body, &v.flatten());
            }
            0
        }
        ProgramKind::ClearCofactorG2 => {
            let p: Point<Fp2<Traced>> = load_point(body);
            store_point(body, &clear_cofactor(&p));
            0
        }
        ProgramKind::MapToG2 => {
            store_point(body, &map_to_g2(&body.load_fp2()));
            0
        }
        ProgramKind::HashToG2 => {
            // u1 is loaded when its map starts, not held through the first one: the loads
            // are in trace order.
            let q0 = map_to_g2(&body.load_fp2());
            let q1 = map_to_g2(&body.load_fp2());
            store_point(body, &sum_and_clear_cofactor(&q0, &q1));
            0
        }
    };
    (segments, slots)
}

/// Traces and compiles one program for `cfg`.
pub fn compile_program(kind: ProgramKind, cfg: &EngineConfig) -> Result<Program, CompileError> {
    let acc = cfg.accumulators;
    let (segments, slots) = if kind.is_g2() {
        trace::<Fp2<Traced>, G2>(kind, acc)
    } else {
        trace::<Traced, G1>(kind, acc)
    };
    let slots = u8::try_from(slots).map_err(|_| CompileError::WindowTooLarge(slots))?;
    let name = format!("{kind:?}");
    let [pro, body, epi] = segments;
    Ok(Program {
        kind,
        prologue: compile_segment(&name, pro.finish(), slots, cfg)?,
        body: compile_segment(&name, body.finish(), slots, cfg)?,
        epilogue: compile_segment(&name, epi.finish(), slots, cfg)?,
    })
}
