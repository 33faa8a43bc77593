//! The model's side of [`ProgramKind::BucketSumG2`](crate::compile::programs::ProgramKind):
//! the host's layout ([`BucketPlan`], shared with the driver in `tollgate_abi::buckets`, where
//! the method is described) turned into the engine's stream words, and the lanes' sums joined
//! on arkworks points.

use ark_bls12_381::{Fq, G2Projective};
use ark_ff::AdditiveGroup;

pub use tollgate_abi::buckets::{BucketPlan, LanePlan, Step, MAX_WINDOW_BITS};

use crate::curve::{g2_from_ark, g2_to_ark};

use super::{g2_from_words, g2_words, scalar_word};

/// Each lane's input stream: per step its flag word ([`Step::flag`]) and a point, `points[i]`
/// for item i, infinity otherwise.
pub fn inputs(plan: &BucketPlan, points: &[Vec<Fq>]) -> Vec<Vec<Fq>> {
    let infinity = g2_words(&g2_from_ark(&G2Projective::default()));
    plan.lanes
        .iter()
        .map(|lane| {
            lane.steps
                .iter()
                .flat_map(|step| {
                    let p = match *step {
                        Step::Item(i) => &points[i],
                        Step::Boundary | Step::Padding => &infinity,
                    };
                    std::iter::once(scalar_word(step.flag())).chain(p.iter().copied())
                })
                .collect()
        })
        .collect()
}

/// Σ kᵢPᵢ from the lanes' outputs of one job (each lane's T, then its S, as stream words, in
/// lane order; one job, so S is not needed): each window's lanes added, the windows joined by Horner's rule, on the host.
pub fn combine(plan: &BucketPlan, lane_sums: &[Vec<Fq>]) -> G2Projective {
    let mut window_sums = vec![G2Projective::default(); plan.windows() as usize];
    for (lane, words) in plan.lanes.iter().zip(lane_sums) {
        window_sums[lane.window as usize] += g2_to_ark(&g2_from_words(words));
    }
    window_sums
        .iter()
        .rev()
        .fold(G2Projective::default(), |acc, w| {
            (0..plan.window_bits).fold(acc, |a, _| a.double()) + w
        })
}
