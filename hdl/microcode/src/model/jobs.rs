//! Whole jobs on the model engine: items spread round-robin over the lanes, per-lane partial
//! sums combined by rounds of the pairwise addition program.

use ark_bls12_381::Fq;

use super::{Engine, ModelError, Stats};
use crate::compile::programs::ProgramKind;

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
}

/// A job's points (one per item, or one in total for sums) and counters.
#[derive(Clone, Debug)]
pub struct JobResult {
    /// Result points as stream words.
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

/// Per-lane outputs, epilogue outputs and the run's statistics.
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
                let infinity = infinity_words(g2);
                let items = points
                    .chunks(accumulators)
                    .map(|chunk| {
                        let pad = std::iter::repeat_n(&infinity, accumulators - chunk.len());
                        chunk.iter().chain(pad).flatten().copied().collect()
                    })
                    .collect();
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
