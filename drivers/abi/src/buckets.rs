//! The host's layout of the bucket job ([`crate::Opcode::BucketSumG2`]): Σ kᵢPᵢ over 64-bit
//! scalars by the bucket method, spread over the lanes. Pure integer work on the scalars, so
//! the microcode's model (which runs it against arkworks) and the driver (which streams it to
//! the device) share one copy.
//!
//! Why this layout: a lane cannot address a bucket by a digit (register addresses are in the
//! ROM), so the host, which made the scalars, sorts each lane's items by digit and streams them
//! as *steps*: an item step (S += P) or a boundary step (T += S, the digit drops by one). Each
//! lane owns one window of `c` bits and a slice of the items whose digit in that window is not
//! 0 (digit 0 adds nothing: the item is left out); the windows' lanes run side by side, so the
//! 64 / c windows cost no doublings on the device at all. The host adds the lane sums of a
//! window and joins the windows by Horner's rule (64 − c doublings and one addition per
//! window, once per batch). A lane's steps: its items, largest digit first, with one boundary
//! step each time the digit drops by one, down to 0; every lane is padded to the same number
//! of steps with additions of infinity, since all lanes run the body the same number of times.
//!
//! The cost is the number of body runs (`rounds`): about n·(1 − 2⁻ᶜ)/g + 2ᶜ − 1 with
//! g = ⌊K / ⌈64 / c⌉⌋ lanes per window, so the best `c` grows with the batch; the host picks it
//! by counting ([`BucketPlan::fewest_rounds`]).
//!
//! **Jobs.** A device job holds at most a few dozen rounds (its input buffer), far fewer than
//! a batch's plan, and the device starts S and T at infinity in every job. So every job after
//! the first opens with one *seed* round ([`JobStep::Seed`]): an item step per lane of the
//! plan whose point is the lane's S as the previous job returned it (its result words copied
//! verbatim: [`crate::Opcode::BucketSumG2`] returns projective points in its items' format).
//! S thus runs on over the whole batch, a lane's T over the batch is Σⱼ Tⱼ, and the host's
//! join adds only the T's (no S terms, no multiples of digits); the jobs run one after
//! another, each fed its predecessor's S ([`JobLayout`]).
//!
//! Why: the price is one round per job after the first, on the verification design (32
//! lanes, 36 rounds a job) 2,048 device cycles (54 × 32 computing, 320 moving its steps):
//! at n = 126 (3 jobs) +4,096 cycles, ≈ 0.1 % of the batch's ≈ 3.8 million; now and then a
//! job more (+2,650 fixed) when the plan's rounds sit just under a multiple of 36. What it
//! saves is the host's normalisation and additions of every job's S times the lane's digit,
//! 37–48 % of its join: ≈ 1 µs of host CPU per item at 126 and at 254 items, two thirds of
//! it at 1,024 (bench/RESULTS.md, "The bucket job carries S across device jobs").

/// Bits of a scalar.
const SCALAR_BITS: u32 = u64::BITS;

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

impl Step {
    /// The step's flag word, streamed before its point: bit 0 set for a boundary step (the
    /// program tests bit 0 of the lane's scalar register; the other bits are 0).
    pub const fn flag(self) -> u64 {
        matches!(self, Step::Boundary) as u64
    }
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
    let windows = SCALAR_BITS.div_ceil(window_bits);
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

    /// Windows of the plan (`⌈64 / c⌉`).
    pub fn windows(&self) -> u32 {
        SCALAR_BITS.div_ceil(self.window_bits)
    }
}

/// One item of a device job: a step of the lane the item runs on, or that lane's seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobStep {
    /// The lane's next step of its plan (padding for lanes beyond the plan's and lanes done).
    Lane(Step),
    /// An item step whose point is the lane's S as the previous job returned it: the first
    /// round of every job after the first ("Jobs" in the module docs).
    Seed,
}

impl JobStep {
    /// The item's flag word ([`Step::flag`]; a seed is an item step).
    pub const fn flag(self) -> u64 {
        match self {
            JobStep::Lane(step) => step.flag(),
            JobStep::Seed => 0,
        }
    }
}

/// A plan cut into device jobs of at most `job_items` items on K lanes (item q of a job runs
/// on lane q mod K, in stream order): see "Jobs" in the module docs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobLayout {
    /// The jobs' items in stream order, `job_items` per job (the last job's may be fewer):
    /// every job after the first opens with a seed per lane of the plan.
    pub steps: Vec<JobStep>,
    /// Items per job.
    pub job_items: usize,
}

impl JobLayout {
    /// The jobs' items, job by job.
    pub fn jobs(&self) -> std::slice::Chunks<'_, JobStep> {
        self.steps.chunks(self.job_items)
    }
}

impl BucketPlan {
    /// The plan as the items of jobs of at most `job_items` items on `lanes` lanes, or `None`
    /// if the plan has more lanes than `lanes` or a job does not step every lane of the plan
    /// (after its seeds, when one job does not hold the plan: `job_items` < `lanes` + the
    /// plan's lanes).
    pub fn jobs(&self, lanes: usize, job_items: usize) -> Option<JobLayout> {
        let seeds = self.lanes.len();
        if job_items < seeds || lanes < seeds {
            return None;
        }
        let rounds = self.rounds();
        let mut progress = vec![0; seeds];
        let mut steps = Vec::new();
        while progress.iter().any(|&p| p < rounds) {
            // The seeds run on lanes 0..seeds (items 0..seeds of the job), the plan's lanes.
            let seeded = if steps.is_empty() { 0 } else { seeds };
            steps.extend(std::iter::repeat_n(JobStep::Seed, seeded));
            let before = progress.clone();
            for q in seeded..job_items {
                if progress.iter().all(|&p| p == rounds) {
                    // The device pads the rest of the last job with neutral items.
                    break;
                }
                let step = match (self.lanes.get(q % lanes), progress.get_mut(q % lanes)) {
                    (Some(lane), Some(p)) if *p < rounds => {
                        *p += 1;
                        lane.steps[*p - 1]
                    }
                    _ => Step::Padding,
                };
                steps.push(JobStep::Lane(step));
            }
            // A lane left out of a job would never finish: every job must step every lane
            // not yet done (a job after the first needs K + the plan's lanes items).
            if before
                .iter()
                .zip(&progress)
                .any(|(b, p)| b == p && *p < rounds)
            {
                return None;
            }
        }
        Some(JobLayout { steps, job_items })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalars(n: u64) -> Vec<u64> {
        // Spread digits without a random source: a multiplicative sequence mod 2^64.
        (1..=n)
            .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15))
            .collect()
    }

    #[test]
    fn seeds_and_item_steps_have_flag_0_boundaries_1() {
        assert_eq!(Step::Boundary.flag(), 1);
        assert_eq!(JobStep::Lane(Step::Boundary).flag(), 1);
        let zeros = [Step::Item(3), Step::Padding];
        assert!(zeros
            .iter()
            .all(|s| s.flag() == 0 && JobStep::Lane(*s).flag() == 0));
        assert_eq!(JobStep::Seed.flag(), 0);
    }

    #[test]
    fn jobs_seed_every_lane_after_the_first_and_stream_its_steps_in_order() {
        for (n, lanes) in [(300, 32), (126, 40), (254, 40), (1_024, 40), (1, 40)] {
            let plan = BucketPlan::fewest_rounds(&scalars(n), lanes).expect("fits");
            let seeds = plan.lanes.len();
            // A whole number of rounds per job, ragged ones, the fewest items that step
            // every lane after the seeds, and one job for everything.
            for job_items in [
                lanes * 7,
                lanes * 7 + 5,
                lanes * 29 - 3,
                lanes + seeds,
                lanes * (plan.rounds() + 1),
            ] {
                let layout = plan.jobs(lanes, job_items).expect("every lane stepped");
                assert_eq!(layout.job_items, job_items);
                let mut seen = vec![Vec::new(); seeds];
                for (job, items) in layout.jobs().enumerate() {
                    for (q, step) in items.iter().enumerate() {
                        let lane = seen.get_mut(q % lanes).filter(|l| l.len() < plan.rounds());
                        match (*step, lane) {
                            (JobStep::Seed, _) => assert!(job > 0 && q < seeds, "{job}/{q}"),
                            (JobStep::Lane(s), Some(lane)) if job == 0 || q >= seeds => {
                                lane.push(s)
                            }
                            (s, _) => assert_eq!(s, JobStep::Lane(Step::Padding), "{job}/{q}"),
                        }
                    }
                    if job > 0 {
                        assert!(items[..seeds].iter().all(|s| *s == JobStep::Seed));
                    }
                    if job + 1 < layout.steps.len().div_ceil(job_items) {
                        assert_eq!(items.len(), job_items, "only the last job is short");
                    }
                }
                for (lane, steps) in plan.lanes.iter().zip(&seen) {
                    assert_eq!(&lane.steps, steps, "{n} items, {job_items} per job");
                }
            }
            assert_eq!(plan.jobs(lanes, seeds - 1), None);
            assert_eq!(plan.jobs(seeds - 1, lanes * 7), None);
        }
        // After the seeds, a job too short to step every lane of the plan (seeds only, or
        // lane 0 alone) would leave the others undone.
        let plan = BucketPlan::fewest_rounds(&scalars(300), 32).expect("fits");
        let seeds = plan.lanes.len();
        assert!(plan.rounds() > 2, "several jobs");
        for job_items in [32, 33, 32 + seeds - 1] {
            assert_eq!(plan.jobs(32, job_items), None, "{job_items}");
        }
    }
}
