//! Σ rᵢσᵢ of a batch on the device by the bucket method ([`Opcode::BucketSumG2`]): the host
//! lays out the steps ([`BucketPlan`], the window width chosen by counting body runs), the
//! device runs them job after job, each job after the first seeded with the lanes' S the one
//! before returned, and the host joins the lanes' T of every job into the sum with blst
//! (`tollgate_abi::buckets`, "Jobs").
//!
//! The join, once per batch: the jobs' T normalised with one inversion (each checked on the
//! curve); per window its lanes' T of every job summed by batched affine additions (one
//! inversion per round of pairwise additions over all windows); one Horner pass over the
//! windows (c doublings and an addition each) then gives Σ rᵢσᵢ. The lanes' S are never
//! decoded: they go back to the device verbatim (checked to be field elements), and a wrong
//! one makes the batch's sum, and so its verdict, wrong, which the caller's canary and CPU
//! confirmation catch like any other wrong result.

use blst::{
    blst_p2, blst_p2_add_or_double, blst_p2_affine, blst_p2_double, blst_p2_is_inf,
    blst_p2_to_affine,
};
use tollgate_abi::buckets::{BucketPlan, JobLayout, JobStep, Step};
use tollgate_abi::layout::padding_item;
use tollgate_abi::{Opcode, G2_WORDS, SCALAR_WORDS};

use super::affine_sums::{add_affine, group_sums};
use super::{stage, BatchCheckError, StageCycles};
use crate::codec;
use crate::Device;

/// The bucket job of one batch: the host's plan and its cut into device jobs.
#[derive(Debug, Clone)]
pub struct BucketJob {
    plan: BucketPlan,
    layout: JobLayout,
    lanes: usize,
}

impl BucketJob {
    /// The layout for `scalars` (at least one) on a device of `lanes` lanes whose jobs carry
    /// at most `job_items` steps ([`Device::job_items`]).
    pub fn new(scalars: &[u64], lanes: usize, job_items: usize) -> Result<Self, BatchCheckError> {
        let no_layout = || BatchCheckError::NoBucketLayout { lanes, job_items };
        let plan = BucketPlan::fewest_rounds(scalars, lanes).ok_or_else(no_layout)?;
        let layout = plan.jobs(lanes, job_items).ok_or_else(no_layout)?;
        Ok(BucketJob {
            plan,
            layout,
            lanes,
        })
    }

    /// The window width the plan chose.
    pub fn window_bits(&self) -> u32 {
        self.plan.window_bits
    }

    /// Items of all the device jobs, seeds included (the last job's padding not).
    pub fn steps(&self) -> usize {
        self.layout.steps.len()
    }

    /// Runs the device jobs for `signatures` one after another through `run` (one device
    /// job: its items in [`Opcode::BucketSumG2`]'s format, its results out), each job after
    /// the first seeded with the S its predecessor returned; the jobs' results concatenated,
    /// in the format [`BucketJob::join`] takes. Errs if a job's results are not K lanes' (T,
    /// S) in length, or an S to seed is not field elements.
    pub fn run_jobs(
        &self,
        signatures: &[blst_p2_affine],
        mut run: impl FnMut(&[u32]) -> Result<Vec<u32>, BatchCheckError>,
    ) -> Result<Vec<u32>, BatchCheckError> {
        // A signature is stepped over once per window it has a non-zero digit in: encode each
        // once, copy per step.
        let points: Vec<u32> = signatures.iter().flat_map(codec::encode_g2_point).collect();
        let job_words = self.lanes * Opcode::BucketSumG2.result_words();
        let mut results = Vec::with_capacity(self.layout.jobs().len() * job_words);
        let mut items = Vec::new();
        for job in self.layout.jobs() {
            let previous = &results[results.len().saturating_sub(job_words)..];
            self.job_items(job, &points, previous, &mut items)?;
            let words = run(&items)?;
            check_len(words.len(), job_words)?;
            results.extend(words);
        }
        Ok(results)
    }

    /// One job's items into `items` (cleared first): per step its flag and its point, the
    /// signature's for an item, lane q's S in `previous` (the job before's results) for a
    /// seed, infinity for boundaries and padding.
    fn job_items(
        &self,
        job: &[JobStep],
        points: &[u32],
        previous: &[u32],
        items: &mut Vec<u32>,
    ) -> Result<(), BatchCheckError> {
        let opcode = Opcode::BucketSumG2;
        // A boundary's or padding's point is ignored or neutral: infinity, as in padding.
        let infinity = &padding_item(opcode)[SCALAR_WORDS..];
        items.clear();
        items.reserve(job.len() * opcode.item_words());
        for (q, step) in job.iter().enumerate() {
            items.extend(codec::encode_scalar(step.flag()));
            items.extend_from_slice(match *step {
                JobStep::Lane(Step::Item(i)) => &points[i * G2_WORDS..(i + 1) * G2_WORDS],
                JobStep::Lane(Step::Boundary | Step::Padding) => infinity,
                JobStep::Seed => {
                    // Lane q's results: its T, then its S.
                    let at = q * opcode.result_words() + G2_WORDS;
                    let s = &previous[at..at + G2_WORDS];
                    codec::check_g2_words(s)?;
                    s
                }
            });
        }
        Ok(())
    }

    /// What an honest device returns for `signatures`: [`BucketJob::run_jobs`] through a
    /// device run on the host (per job, per lane, its T then its S, Z = 1; lanes beyond the
    /// plan's return infinity). The host's reference for tests and benchmarks of
    /// [`BucketJob::join`].
    pub fn honest_results(&self, signatures: &[blst_p2_affine]) -> Vec<u32> {
        self.run_jobs(signatures, |items| self.honest_job(items))
            .expect("an honest device's results")
    }

    /// One device job on the host: each lane's (T, S) from infinity over its items.
    fn honest_job(&self, items: &[u32]) -> Result<Vec<u32>, BatchCheckError> {
        let opcode = Opcode::BucketSumG2;
        let items = items.chunks_exact(opcode.item_words());
        let points: Vec<u32> = items
            .clone()
            .flat_map(|i| &i[SCALAR_WORDS..])
            .copied()
            .collect();
        let mut lanes = vec![[blst_p2::default(); 2]; self.lanes];
        for (q, (item, point)) in items.zip(codec::g2_affine_points(&points)?).enumerate() {
            let [t, s] = &mut lanes[q % self.lanes];
            if item[0] & 1 == 1 {
                // A boundary step. SAFETY: valid points in and out; blst allows the output to
                // alias.
                unsafe {
                    let acc = *t;
                    blst_p2_add_or_double(t, &acc, s);
                }
            } else {
                add_affine(s, &point);
            }
        }
        Ok(lanes
            .iter()
            .flatten()
            .flat_map(|p| {
                let mut affine = blst_p2_affine::default();
                // SAFETY: a valid point in, a valid output.
                unsafe { blst_p2_to_affine(&mut affine, p) };
                codec::encode_g2_point(&affine)
            })
            .collect())
    }

    /// Σ kᵢσᵢ, affine, from the jobs' results ([`BucketJob::run_jobs`]; per job, per lane: T
    /// then S). Only the plan's lanes' T are read: S ran on across the jobs, so a lane's T over
    /// the batch is the sum of its jobs' T (see the module docs). Errs if the results are not
    /// what the jobs return in length, or if a T is not a point of the curve.
    pub fn join(&self, results: &[u32]) -> Result<blst_p2_affine, BatchCheckError> {
        let lane_words = Opcode::BucketSumG2.result_words();
        check_len(
            results.len(),
            self.layout.jobs().len() * self.lanes * lane_words,
        )?;
        let mut ts = Vec::with_capacity(self.layout.jobs().len() * self.plan.lanes.len());
        for job in results.chunks_exact(self.lanes * lane_words) {
            for lane in job.chunks_exact(lane_words).take(self.plan.lanes.len()) {
                ts.extend_from_slice(&lane[..G2_WORDS]);
            }
        }
        let mut windows = vec![Vec::new(); self.plan.windows() as usize];
        let lanes = self.plan.lanes.iter().cycle();
        for (lane, t) in lanes.zip(codec::g2_affine_points(&ts)?) {
            windows[lane.window as usize].push(t);
        }
        let mut sum = blst_p2::default();
        for (rest, last) in group_sums(windows).iter().rev() {
            // SAFETY: valid Jacobian points in and out; blst allows the output to alias an
            // input.
            unsafe {
                for _ in 0..self.plan.window_bits {
                    let acc = sum;
                    blst_p2_double(&mut sum, &acc);
                }
                if !blst_p2_is_inf(rest) {
                    let acc = sum;
                    blst_p2_add_or_double(&mut sum, &acc, rest);
                }
            }
            add_affine(&mut sum, last);
        }
        let mut affine = blst_p2_affine::default();
        // SAFETY: a valid point in, a valid output.
        unsafe { blst_p2_to_affine(&mut affine, &sum) };
        Ok(affine)
    }
}

/// A device result of `got` words where `expected` were due: a malformed result.
fn check_len(got: usize, expected: usize) -> Result<(), BatchCheckError> {
    if got == expected {
        return Ok(());
    }
    Err(BatchCheckError::Result(codec::CodecError::BadLength {
        expected,
        got,
        unit: "words",
    }))
}

/// Σ kᵢσᵢ over `scalars` and `signatures` (the same number, at least one; any points of the
/// curve, infinity included), affine, and what its device stage cost (its jobs together).
pub fn signature_sum(
    device: &mut Device,
    scalars: &[u64],
    signatures: &[blst_p2_affine],
) -> Result<(blst_p2_affine, StageCycles), BatchCheckError> {
    assert_eq!(scalars.len(), signatures.len(), "a scalar per signature");
    let opcode = Opcode::BucketSumG2;
    let lanes = device.identity().shape().lanes as usize;
    let job = BucketJob::new(scalars, lanes, device.job_items(opcode))?;
    let mut stages = Vec::new();
    let results = job.run_jobs(signatures, |items| {
        stage(device, opcode, items, &mut stages)
    })?;
    let cost = stages
        .into_iter()
        .reduce(|a, b| StageCycles {
            items: a.items + b.items,
            device_cycles: a.device_cycles + b.device_cycles,
            transfer_cycles: a.transfer_cycles + b.transfer_cycles,
            wall: a.wall + b.wall,
            ..a
        })
        .expect("a job at least");
    Ok((job.join(&results)?, cost))
}

#[cfg(test)]
mod tests {
    use blst::min_pk::SecretKey;
    use blst::{blst_p2_from_affine, blst_p2_mult};
    use tollgate_abi::FP2_WORDS;

    use super::*;
    use crate::codec::Fp2;

    fn signatures(n: usize) -> Vec<blst_p2_affine> {
        (0..n)
            .map(|i| {
                let sk = SecretKey::key_gen(&[i as u8 ^ 0x5a; 32], &(i as u32).to_le_bytes())
                    .expect("32 bytes of key material");
                *<&blst_p2_affine>::from(&sk.sign(b"join", b"DST", &[]))
            })
            .collect()
    }

    /// Σ kᵢσᵢ by blst, one multiplication per point.
    fn blst_sum(scalars: &[u64], points: &[blst_p2_affine]) -> blst_p2_affine {
        let mut sum = blst_p2::default();
        for (k, p) in scalars.iter().zip(points) {
            let (mut point, mut product) = (blst_p2::default(), blst_p2::default());
            // SAFETY: valid points in and out, a 64-bit little-endian scalar.
            unsafe {
                blst_p2_from_affine(&mut point, p);
                blst_p2_mult(&mut product, &point, k.to_le_bytes().as_ptr(), 64);
                let acc = sum;
                blst_p2_add_or_double(&mut sum, &acc, &product);
            }
        }
        let mut affine = blst_p2_affine::default();
        // SAFETY: a valid point in, a valid output.
        unsafe { blst_p2_to_affine(&mut affine, &sum) };
        affine
    }

    /// `n` signatures with the awkward ones among them: infinity, a point twice, P and −P.
    fn awkward_signatures(n: usize) -> Vec<blst_p2_affine> {
        let mut sigs = signatures(n);
        sigs[7] = blst_p2_affine::default();
        sigs[8] = sigs[9];
        sigs[10] = blst_p2_affine {
            x: sigs[11].x,
            y: Fp2::from_blst(sigs[11].y).neg().blst(),
        };
        sigs
    }

    fn awkward_scalars(n: usize) -> Vec<u64> {
        let mut scalars: Vec<u64> = (1..=n as u64)
            .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i << 40)
            .collect();
        scalars[..6].copy_from_slice(&[0, 1, 2, 1 << 63, u64::MAX, u64::MAX]);
        // Equal points with equal scalars, P and −P with equal scalars: cancellations.
        scalars[9] = scalars[8];
        scalars[11] = scalars[10];
        scalars
    }

    #[test]
    fn the_join_of_many_jobs_is_blsts_sum() {
        // The verification design (32 lanes, 1,152 steps per job: 3 jobs at 126 items, 4 at
        // 254, 14 at 1,024 with these scalars), ragged jobs (not a whole number of rounds),
        // and the fewest items per job that step every lane after the seeds.
        for (n, lanes, job_items) in [
            (126, 32, 1_152),
            (254, 32, 1_152),
            (1_024, 32, 1_152),
            (300, 32, 5 * 32 + 7),
            (126, 40, 3 * 40 + 13),
            (254, 40, 40 + 40),
        ] {
            let (sigs, scalars) = (awkward_signatures(n), awkward_scalars(n));
            let job = BucketJob::new(&scalars, lanes, job_items).expect("a layout");
            let results = job.honest_results(&sigs);
            let jobs = results.len() / (lanes * Opcode::BucketSumG2.result_words());
            assert!(jobs >= 3, "{n} items, {job_items} per job: {jobs} jobs");
            let sum = job.join(&results).expect("honest results");
            assert_eq!(
                sum,
                blst_sum(&scalars, &sigs),
                "{n} items, {job_items} per job"
            );
        }
    }

    #[test]
    fn malformed_results_are_typed_errors() {
        let (sigs, scalars) = (awkward_signatures(126), awkward_scalars(126));
        let job = BucketJob::new(&scalars, 40, 1_152).expect("a layout");
        let lane_words = Opcode::BucketSumG2.result_words();
        let honest = job.honest_results(&sigs);
        // A first job whose lane 3's S has a word that is no field element (p < 2^381), and
        // one a word short: the next job is not built.
        let mut not_reduced = honest[..40 * lane_words].to_vec();
        not_reduced[3 * lane_words + G2_WORDS + 11] = u32::MAX;
        let short = honest[..40 * lane_words - 1].to_vec();
        for (first, want) in [(not_reduced, "NotReduced"), (short, "BadLength")] {
            let mut jobs = 0;
            let error = job
                .run_jobs(&sigs, |_| {
                    jobs += 1;
                    Ok(first.clone())
                })
                .expect_err("malformed");
            assert_eq!(jobs, 1);
            assert!(format!("{error:?}").contains(want), "{error:?}");
        }
        // A T off the curve (x, y swapped), and results a word short.
        let mut off_curve = honest.clone();
        off_curve.copy_within(..FP2_WORDS, FP2_WORDS);
        let error = job.join(&off_curve).expect_err("off the curve");
        assert!(format!("{error:?}").contains("NotOnCurve"), "{error:?}");
        let error = job.join(&honest[1..]).expect_err("short");
        assert!(format!("{error:?}").contains("BadLength"), "{error:?}");
    }
}
