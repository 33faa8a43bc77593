//! Whole jobs on the model engine: items spread round-robin over the lanes, per-lane partial
//! sums combined by rounds of the pairwise addition program.

use ark_bls12_381::Fq;
use ark_ec::AffineRepr;

use crate::field::fp2_from_ark;
use crate::pairing::{G1Affine, G2Affine};

use super::buckets::{self, BucketPlan};
use super::{g2_words, Engine, ModelError, Stats};
use crate::compile::programs::ProgramKind;
use crate::curve::g2_from_ark;

/// A job: what the host asks of the engine.
#[derive(Clone, Debug)]
pub enum Job {
    /// Σ Pᵢ (points as stream words).
    Aggregate {
        /// Over G2 rather than G1.
        g2: bool,
        /// The points.
        points: Vec<Vec<Fq>>,
    },
    /// Pᵢ + Qᵢ for each pair.
    AddPairs {
        /// Over G2 rather than G1.
        g2: bool,
        /// The pairs.
        pairs: Vec<(Vec<Fq>, Vec<Fq>)>,
    },
    /// 2Pᵢ for each point.
    DoubleEach {
        /// Over G2 rather than G1.
        g2: bool,
        /// The points.
        points: Vec<Vec<Fq>>,
    },
    /// kᵢ·Pᵢ for each pair.
    ScalarMulEach {
        /// Over G2 rather than G1.
        g2: bool,
        /// Scalars and points.
        pairs: Vec<(u64, Vec<Fq>)>,
    },
    /// Σ kᵢ·Pᵢ.
    MultiScalar {
        /// Over G2 rather than G1.
        g2: bool,
        /// Scalars and points.
        pairs: Vec<(u64, Vec<Fq>)>,
    },
    /// Σ kᵢ·Pᵢ over G2 by the bucket method ([`ProgramKind::BucketSumG2`]), laid out by
    /// `plan` (made from the same scalars); the lane sums are joined on the host.
    BucketSumG2 {
        /// The layout.
        plan: BucketPlan,
        /// The points Pᵢ as stream words.
        points: Vec<Vec<Fq>>,
    },
    /// Any per-item program (one output per item), such as the G2 subgroup check.
    Each {
        /// The program.
        kind: ProgramKind,
        /// Each item's input words.
        items: Vec<Vec<Fq>>,
    },
    /// One Miller product per active lane over all pairs (see [`miller_pair_words`]); the
    /// host multiplies the lane values and does the final exponentiation.
    MillerLoop {
        /// Pairs per body run of the program to use.
        pairs_per_run: u8,
        /// The pairs.
        pairs: Vec<Vec<Fq>>,
    },
}

/// A pair's stream words: P.x, P.y, Q.x.c0, Q.x.c1, Q.y.c0, Q.y.c1.
pub fn miller_pair_words(p: &G1Affine<Fq>, q: &G2Affine<Fq>) -> Vec<Fq> {
    vec![p.x, p.y, q.x.c0, q.x.c1, q.y.c0, q.y.c1]
}

/// The pair that fills a short last body run: P = (0, 0) makes every line its constant
/// coefficient, an Fp2 value, which the final exponentiation maps to 1 (Q = the G2 generator,
/// for which no such coefficient is 0: the tests prove it).
pub fn miller_padding() -> Vec<Fq> {
    let g2 = ark_bls12_381::G2Affine::generator();
    let zero = Fq::from(0u64);
    miller_pair_words(
        &G1Affine { x: zero, y: zero },
        &G2Affine {
            x: fp2_from_ark(&g2.x),
            y: fp2_from_ark(&g2.y),
        },
    )
}

/// A job's results (a point per item, one point in total for sums, an Fp12 value per active
/// lane for Miller loops) and counters.
#[derive(Clone, Debug)]
pub struct JobResult {
    /// Results as stream words.
    pub points: Vec<Vec<Fq>>,
    /// Counters over every program run of the job.
    pub stats: Stats,
}

fn kinds(g2: bool) -> [ProgramKind; 5] {
    use ProgramKind::*;
    if g2 {
        [AddG2, DoubleG2, AggregateG2, ScalarMulG2, MultiScalarG2]
    } else {
        [AddG1, DoubleG1, AggregateG1, ScalarMulG1, MultiScalarG1]
    }
}

/// (0 : 1 : 0) as stream words.
fn infinity_words(g2: bool) -> Vec<Fq> {
    let (zero, one) = (Fq::from(0u64), Fq::from(1u64));
    if g2 {
        vec![zero, zero, one, zero, zero, zero]
    } else {
        vec![zero, one, zero]
    }
}

/// The inputs of body runs that consume `per_run` items each, the last filled up with
/// `padding`.
fn body_runs(items: &[Vec<Fq>], per_run: usize, padding: &[Fq]) -> Vec<Vec<Fq>> {
    items
        .chunks(per_run)
        .map(|chunk| {
            let pad = std::iter::repeat_n(padding, per_run - chunk.len());
            chunk
                .iter()
                .map(Vec::as_slice)
                .chain(pad)
                .flatten()
                .copied()
                .collect()
        })
        .collect()
}

/// Each item's output, each active lane's epilogue output, the counters.
type Spread = (Vec<Vec<Fq>>, Vec<Vec<Fq>>, Stats);

/// Spreads items round-robin and runs one program; returns each item's output, in item order,
/// and each active lane's epilogue output.
fn spread(
    engine: &mut Engine<'_>,
    kind: ProgramKind,
    items: Vec<Vec<Fq>>,
) -> Result<Spread, ModelError> {
    let k = engine.rom.config.lanes;
    let entry = engine.rom.entry(kind).clone();
    let mut inputs = vec![Vec::new(); k];
    let mut counts = vec![0usize; k];
    for (i, item) in items.iter().enumerate() {
        inputs[i % k].extend_from_slice(item);
        counts[i % k] += 1;
    }
    let (outputs, stats) = engine.run(kind, inputs, &counts)?;
    let per = entry.stores_per_item;
    let per_item = (0..items.len())
        .map(|i| outputs[i % k][(i / k) * per..(i / k + 1) * per].to_vec())
        .collect();
    let tails = (0..k)
        .filter(|&j| counts[j] > 0)
        .map(|j| outputs[j][counts[j] * per..].to_vec())
        .collect();
    Ok((per_item, tails, stats))
}

/// Adds partial sums pairwise, round after round, until one is left.
pub fn combine_rounds(
    engine: &mut Engine<'_>,
    g2: bool,
    mut partials: Vec<Vec<Fq>>,
) -> Result<(Vec<Fq>, Stats), ModelError> {
    let mut stats = Stats::default();
    while partials.len() > 1 {
        let carry = (partials.len() % 2 == 1).then(|| partials.pop().expect("odd, non-empty"));
        let pairs = partials
            .chunks(2)
            .map(|c| [c[0].clone(), c[1].clone()].concat())
            .collect();
        let (sums, _, s) = spread(engine, kinds(g2)[0], pairs)?;
        stats = stats.plus(s);
        partials = sums;
        partials.extend(carry);
    }
    Ok((partials.pop().ok_or(ModelError::EmptyJob)?, stats))
}

impl Job {
    /// Runs the job on `engine`.
    pub fn run(self, engine: &mut Engine<'_>) -> Result<JobResult, ModelError> {
        let scalar_items = |pairs: Vec<(u64, Vec<Fq>)>| -> Vec<Vec<Fq>> {
            pairs
                .into_iter()
                .map(|(k, p)| std::iter::once(super::scalar_word(k)).chain(p).collect())
                .collect()
        };
        let accumulators = engine.rom.config.accumulators;
        let (g2, kind, items, sums) = match self {
            Job::Aggregate { g2, points } => {
                // One body run consumes one point per accumulator; the last is padded with
                // infinity, which leaves the sum unchanged.
                let items = body_runs(&points, accumulators, &infinity_words(g2));
                (g2, kinds(g2)[2], items, true)
            }
            Job::AddPairs { g2, pairs } => (
                g2,
                kinds(g2)[0],
                pairs.into_iter().map(|(p, q)| [p, q].concat()).collect(),
                false,
            ),
            Job::DoubleEach { g2, points } => (g2, kinds(g2)[1], points, false),
            Job::ScalarMulEach { g2, pairs } => (g2, kinds(g2)[3], scalar_items(pairs), false),
            Job::MultiScalar { g2, pairs } => (g2, kinds(g2)[4], scalar_items(pairs), true),
            Job::Each { kind, items } => (kind.is_g2(), kind, items, false),
            Job::BucketSumG2 { plan, points } => {
                let counts = vec![plan.rounds(); plan.lanes.len()];
                let (lanes, stats) = engine.run(
                    ProgramKind::BucketSumG2,
                    buckets::inputs(&plan, &points),
                    &counts,
                )?;
                return Ok(JobResult {
                    points: vec![g2_words(&g2_from_ark(&buckets::combine(&plan, &lanes)))],
                    stats,
                });
            }
            Job::MillerLoop {
                pairs_per_run,
                pairs,
            } => {
                let items = body_runs(&pairs, pairs_per_run as usize, &miller_padding());
                if items.is_empty() {
                    return Err(ModelError::EmptyJob);
                }
                let kind = ProgramKind::MillerLoop {
                    pairs: pairs_per_run,
                };
                let (_, lanes, stats) = spread(engine, kind, items)?;
                return Ok(JobResult {
                    points: lanes,
                    stats,
                });
            }
        };
        if items.is_empty() {
            return Err(ModelError::EmptyJob);
        }
        let (per_item, partials, stats) = spread(engine, kind, items)?;
        if !sums {
            return Ok(JobResult {
                points: per_item,
                stats,
            });
        }
        let (sum, combine) = combine_rounds(engine, g2, partials)?;
        Ok(JobResult {
            points: vec![sum],
            stats: stats.plus(combine),
        })
    }
}
