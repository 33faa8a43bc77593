//! The host's side of [`ProgramKind::BucketSumG2`]: Σ kᵢPᵢ over 64-bit scalars by the bucket
//! method, spread over the lanes.
//!
//! Why this layout: a lane cannot address a bucket by a digit (register addresses are in the
//! ROM), so the host, which made the scalars, sorts each lane's items by digit and streams them
//! as steps of [`crate::curve::bucket_step`]. Each lane owns one window of `c` bits and a slice
//! of the items whose digit in that window is not 0 (digit 0 adds nothing: the item is left
//! out); the windows' lanes run side by side, so the 64 / c windows cost no doublings on the
//! device at all. The host adds the lane sums of a window and joins the windows by Horner's
//! rule (64 − c doublings and one addition per lane, once per batch). A lane's steps: its
//! items, largest digit first, with one boundary step each time the digit drops by one, down
//! to 0; every lane is padded to the same number of steps with additions of infinity, since
//! all lanes run the body the same number of times.
//!
//! The cost is the number of body runs (`rounds`): about n·(1 − 2⁻ᶜ)/g + 2ᶜ − 1 with
//! g = ⌊K / ⌈64 / c⌉⌋ lanes per window, so the best `c` grows with the batch; the host picks it
//! by counting ([`BucketPlan::fewest_rounds`]).

use ark_bls12_381::{Fq, G2Projective};
use ark_ff::AdditiveGroup;

use crate::curve::{g2_from_ark, g2_to_ark, SCALAR_BITS};

use super::{g2_from_words, g2_words, scalar_word};

/// Widest window tried: 2¹⁶ − 1 boundary steps per lane already exceed any batch's items.
pub const MAX_WINDOW_BITS: u32 = 16;

/// One body run of a lane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Item `i` joins the current bucket (S += Pᵢ).
    Item(usize),
    /// The digit drops by one (T += S).
    Boundary,
    /// Fills the lane up to the job's rounds (S += infinity).
    Padding,
}

/// What one lane computes: its share of one window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LanePlan {
    /// Window index: the digit is bits `window·c ..` of each scalar.
    pub window: u32,
    /// Its steps in stream order (all lanes have the same number).
    pub steps: Vec<Step>,
}

/// A job's layout over the lanes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BucketPlan {
    /// Window width `c` in bits.
    pub window_bits: u32,
    /// The lanes in use, lane 0 first.
    pub lanes: Vec<LanePlan>,
}

/// Windows of `window_bits` and lanes per window on `lanes` lanes, if the width is in
/// 1..=[`MAX_WINDOW_BITS`] and every window gets a lane.
fn shape(window_bits: u32, lanes: usize) -> Option<(u32, usize)> {
    if !(1..=MAX_WINDOW_BITS).contains(&window_bits) {
        return None;
    }
    let windows = (SCALAR_BITS as u32).div_ceil(window_bits);
    let per_window = lanes / windows as usize;
    (per_window > 0).then_some((windows, per_window))
}

fn digit(k: u64, window: u32, bits: u32) -> u64 {
    (k >> (window * bits)) & ((1u64 << bits) - 1)
}

/// A lane's steps for `items` = (index, digit ≠ 0) sorted by digit, largest first.
fn lane_steps(items: &[(usize, u64)]) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut current = items.first().map_or(0, |&(_, d)| d);
    for &(i, d) in items {
        while current > d {
            steps.push(Step::Boundary);
            current -= 1;
        }
        steps.push(Step::Item(i));
    }
    steps.extend(std::iter::repeat_n(Step::Boundary, current as usize));
    steps
}

impl BucketPlan {
    /// The layout for `scalars` with `window_bits`-bit windows on `lanes` lanes, or `None` if
    /// the width is outside 1..=[`MAX_WINDOW_BITS`] or the windows outnumber the lanes.
    pub fn new(scalars: &[u64], window_bits: u32, lanes: usize) -> Option<BucketPlan> {
        let (windows, per_window) = shape(window_bits, lanes)?;
        let mut plan = Vec::new();
        for window in 0..windows {
            let mut items: Vec<(usize, u64)> = scalars
                .iter()
                .enumerate()
                .map(|(i, &k)| (i, digit(k, window, window_bits)))
                .filter(|&(_, d)| d != 0)
                .collect();
            items.sort_by_key(|&(_, d)| std::cmp::Reverse(d));
            // Dealing the sorted items round-robin keeps every slice sorted and gives the
            // slices the same digits, so their step counts differ by at most a few.
            for slice in 0..per_window {
                let mine: Vec<_> = items
                    .iter()
                    .skip(slice)
                    .step_by(per_window)
                    .copied()
                    .collect();
                plan.push(LanePlan {
                    window,
                    steps: lane_steps(&mine),
                });
            }
        }
        // At least one run, so that every lane stores its T even when all digits are 0.
        let rounds = plan.iter().map(|l| l.steps.len()).max().unwrap_or(0).max(1);
        for lane in &mut plan {
            lane.steps.resize(rounds, Step::Padding);
        }
        Some(BucketPlan {
            window_bits,
            lanes: plan,
        })
    }

    /// The layout with the fewest body runs (the lowest width on a tie), `None` if no width
    /// fits the lanes. Tried: the widths whose boundary steps alone (2ᶜ − 1 per lane) do not
    /// exceed the items + 16 (a wider window cannot win with uniform scalars, and its
    /// histogram would cost the host more than the batch); compared by
    /// [`BucketPlan::rounds_for`], so only the chosen layout is built.
    pub fn fewest_rounds(scalars: &[u64], lanes: usize) -> Option<BucketPlan> {
        let best = (1..=MAX_WINDOW_BITS)
            .take_while(|&c| (1usize << c) - 1 <= scalars.len() + 16)
            .filter_map(|c| Some((BucketPlan::rounds_for(scalars, c, lanes)?, c)))
            .min()?;
        BucketPlan::new(scalars, best.1, lanes)
    }

    /// The body runs [`BucketPlan::new`] would lay out, counted from a digit histogram per
    /// window (O(n + 2ᶜ) per window instead of a sort and every step).
    pub fn rounds_for(scalars: &[u64], window_bits: u32, lanes: usize) -> Option<usize> {
        let (windows, per_window) = shape(window_bits, lanes)?;
        let mut rounds = 1;
        let mut histogram = vec![0usize; 1 << window_bits];
        for window in 0..windows {
            histogram.fill(0);
            for &k in scalars {
                histogram[digit(k, window, window_bits) as usize] += 1;
            }
            let nonzero = scalars.len() - histogram[0];
            // Dealt round-robin from the largest digit down, lane l gets the l-th largest
            // digit first: its steps are its items plus that many boundaries.
            let mut lane = 0;
            for (d, &count) in histogram.iter().enumerate().skip(1).rev() {
                for _ in 0..count.min(per_window - lane) {
                    let items = (nonzero - lane).div_ceil(per_window);
                    rounds = rounds.max(items + d);
                    lane += 1;
                }
                if lane == per_window {
                    break;
                }
            }
        }
        Some(rounds)
    }

    /// Body runs of the job (steps per lane).
    pub fn rounds(&self) -> usize {
        self.lanes.first().map_or(0, |l| l.steps.len())
    }

    /// Each lane's input stream: per step a flag word (1 = boundary) and a point, `points[i]`
    /// for item i, infinity otherwise.
    pub fn inputs(&self, points: &[Vec<Fq>]) -> Vec<Vec<Fq>> {
        let infinity = g2_words(&g2_from_ark(&G2Projective::default()));
        self.lanes
            .iter()
            .map(|lane| {
                lane.steps
                    .iter()
                    .flat_map(|step| {
                        let (flag, p) = match *step {
                            Step::Item(i) => (0, &points[i]),
                            Step::Boundary => (1, &infinity),
                            Step::Padding => (0, &infinity),
                        };
                        std::iter::once(scalar_word(flag)).chain(p.iter().copied())
                    })
                    .collect()
            })
            .collect()
    }

    /// Σ kᵢPᵢ from the lanes' outputs (T of each lane as stream words, in lane order): each
    /// window's lanes added, the windows joined by Horner's rule, on the host.
    pub fn combine(&self, lane_sums: &[Vec<Fq>]) -> G2Projective {
        let windows = self
            .lanes
            .iter()
            .map(|l| l.window)
            .max()
            .map_or(0, |w| w + 1);
        let mut window_sums = vec![G2Projective::default(); windows as usize];
        for (lane, words) in self.lanes.iter().zip(lane_sums) {
            window_sums[lane.window as usize] += g2_to_ark(&g2_from_words(words));
        }
        window_sums
            .iter()
            .rev()
            .fold(G2Projective::default(), |acc, w| {
                (0..self.window_bits).fold(acc, |a, _| a.double()) + w
            })
    }
}
