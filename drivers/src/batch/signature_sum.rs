//! Σ rᵢσᵢ of a batch on the device by the bucket method ([`Opcode::BucketSumG2`]): the host
//! lays out the steps ([`BucketPlan`], the window width chosen by counting body runs), the
//! device runs them, and the host joins the lanes' (T, S) of every job into the sum with blst
//! (`tollgate_abi::buckets`, "Jobs").
//!
//! The join, once per batch: the jobs' points it uses normalised with one inversion; per lane
//! and job its T goes into the group of its window's lowest bit, and its S, times the lane's
//! digit d at the job's end, into the groups of d's set bits (d < 2ᶜ, so a few additions instead of
//! a multiplication); the groups summed by batched affine additions (one inversion per round
//! of pairwise additions over all groups); one Horner pass over the 64 bit positions (63
//! doublings, a mixed addition each) then gives Σ rᵢσᵢ. Its cost grows with the jobs (2K
//! points each): a device that carried S and T from job to job would return 2K points per
//! batch and no S terms.

use blst::{
    blst_p2, blst_p2_add_or_double, blst_p2_affine, blst_p2_double, blst_p2_is_inf,
    blst_p2_to_affine,
};
use tollgate_abi::buckets::{BucketPlan, JobLayout, Step};
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
    job_items: usize,
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
            job_items,
        })
    }

    /// The window width the plan chose.
    pub fn window_bits(&self) -> u32 {
        self.plan.window_bits
    }

    /// The device jobs' items, in [`Opcode::BucketSumG2`]'s format: per step its flag and
    /// `signatures[i]` for item i, infinity for boundaries and padding.
    pub fn items(&self, signatures: &[blst_p2_affine]) -> Vec<u32> {
        let opcode = Opcode::BucketSumG2;
        // A signature is stepped over once per window it has a non-zero digit in: encode each
        // once, copy per step.
        let points: Vec<u32> = signatures.iter().flat_map(codec::encode_g2_point).collect();
        // A boundary's or padding's point is ignored or neutral: infinity, as in padding.
        let infinity = &padding_item(opcode)[SCALAR_WORDS..];
        let mut words = Vec::with_capacity(self.layout.steps.len() * opcode.item_words());
        for step in &self.layout.steps {
            words.extend(codec::encode_scalar(step.flag()));
            words.extend_from_slice(match *step {
                Step::Item(i) => &points[i * G2_WORDS..(i + 1) * G2_WORDS],
                Step::Boundary | Step::Padding => infinity,
            });
        }
        words
    }

    /// What an honest device returns for `signatures`: per job, per lane, its T then its S
    /// (Z = 1; lanes beyond the plan's return infinity). The host's reference for tests and
    /// benchmarks of [`BucketJob::join`], in the format [`BucketJob::join`] takes.
    pub fn honest_results(&self, signatures: &[blst_p2_affine]) -> Vec<u32> {
        let mut sums = Vec::with_capacity(self.layout.done.len() * 2 * self.lanes);
        for job in self.layout.steps.chunks(self.job_items) {
            let mut lanes = vec![[blst_p2::default(); 2]; self.lanes];
            for (q, step) in job.iter().enumerate() {
                let [t, s] = &mut lanes[q % self.lanes];
                match *step {
                    Step::Item(i) => add_affine(s, &signatures[i]),
                    // SAFETY: valid points in and out; blst allows the output to alias.
                    Step::Boundary => unsafe {
                        let acc = *t;
                        blst_p2_add_or_double(t, &acc, s);
                    },
                    Step::Padding => {}
                }
            }
            sums.extend(lanes.into_iter().flatten());
        }
        sums.iter()
            .flat_map(|p| {
                let mut affine = blst_p2_affine::default();
                // SAFETY: a valid point in, a valid output.
                unsafe { blst_p2_to_affine(&mut affine, p) };
                codec::encode_g2_point(&affine)
            })
            .collect()
    }

    /// Σ kᵢσᵢ, affine, from the jobs' results (per job, per lane: T then S; see the module
    /// docs). Errs if the results are not what the jobs return in length, or if a point the
    /// join uses (every T, each S with a non-zero digit) is not a point of the curve.
    pub fn join(&self, results: &[u32]) -> Result<blst_p2_affine, BatchCheckError> {
        let expected = self.layout.done.len() * self.lanes * Opcode::BucketSumG2.result_words();
        if results.len() != expected {
            return Err(BatchCheckError::Result(codec::CodecError::BadLength {
                expected,
                got: results.len(),
                unit: "words",
            }));
        }
        let c = self.plan.window_bits as usize;
        // The points the join adds, each with its multiplier: every T once (digit 1: bit 0 of
        // its window), an S times the lane's digit at the job's end. An S whose digit is 0
        // (every lane's in the last job) adds nothing and is neither read nor normalised.
        let lane_words = Opcode::BucketSumG2.result_words();
        let mut used = Vec::with_capacity(results.len());
        let mut multipliers = Vec::with_capacity(results.len() / G2_WORDS);
        for (done, job) in self
            .layout
            .done
            .iter()
            .zip(results.chunks_exact(self.lanes * lane_words))
        {
            for ((lane, steps), ts) in self
                .plan
                .lanes
                .iter()
                .zip(done)
                .zip(job.chunks_exact(lane_words))
            {
                let low = c * lane.window as usize;
                let (t, s) = ts.split_at(G2_WORDS);
                used.extend_from_slice(t);
                multipliers.push((low, 1));
                let d = lane.digit_after(*steps);
                if d != 0 {
                    used.extend_from_slice(s);
                    multipliers.push((low, d));
                }
            }
        }
        let points = codec::g2_affine_points(&used)?;
        let mut groups = vec![Vec::new(); c * self.plan.windows() as usize];
        for (&(low, d), point) in multipliers.iter().zip(&points) {
            for bit in (0..c).filter(|b| d >> b & 1 == 1) {
                groups[low + bit].push(*point);
            }
        }
        let groups = group_sums(groups);
        let mut sum = blst_p2::default();
        for (rest, last) in groups.iter().rev() {
            // SAFETY: valid Jacobian points in and out; blst allows the output to alias an
            // input.
            unsafe {
                let acc = sum;
                blst_p2_double(&mut sum, &acc);
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

/// Σ kᵢσᵢ over `scalars` and `signatures` (the same number, at least one; any points of the
/// curve, infinity included), affine, and what its device stage cost.
pub fn signature_sum(
    device: &mut Device,
    scalars: &[u64],
    signatures: &[blst_p2_affine],
) -> Result<(blst_p2_affine, StageCycles), BatchCheckError> {
    assert_eq!(scalars.len(), signatures.len(), "a scalar per signature");
    let opcode = Opcode::BucketSumG2;
    let lanes = device.identity().shape().lanes as usize;
    let job = BucketJob::new(scalars, lanes, device.job_items(opcode))?;
    let mut stages = Vec::with_capacity(1);
    let results = stage(device, opcode, &job.items(signatures), &mut stages)?;
    Ok((job.join(&results)?, stages[0]))
}

#[cfg(test)]
mod tests {
    use blst::min_pk::SecretKey;
    use blst::{blst_p2_from_affine, blst_p2_mult};

    use super::*;

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

    #[test]
    fn the_join_of_many_jobs_is_blsts_sum() {
        let sigs = signatures(1_024);
        let mut scalars: Vec<u64> = (1..=1_024u64)
            .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i << 40)
            .collect();
        scalars[..6].copy_from_slice(&[0, 1, 2, 1 << 63, u64::MAX, u64::MAX]);
        // The verification design's 1,152 steps per job (14 jobs at 1,024 items), ragged
        // jobs, and a batch of the default size.
        for (n, job_items) in [(1_024, 1_152), (300, 5 * 32 + 7), (126, 1_152)] {
            let job = BucketJob::new(&scalars[..n], 32, job_items).expect("a layout");
            let results = job.honest_results(&sigs[..n]);
            assert!(results.len() > 2 * 32 * 72, "{n} items: several jobs");
            let sum = job.join(&results).expect("honest results");
            assert_eq!(sum, blst_sum(&scalars[..n], &sigs[..n]), "{n} items");
        }
    }
}
