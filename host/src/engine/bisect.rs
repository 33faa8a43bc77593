//! Per-item verdicts from batch checks: check a batch; if it fails, split it.
//!
//! A batch of valid items always passes, so a failed batch holds at least one invalid item.
//! A failed batch of several jobs (requests) is split along job boundaries first: each job is
//! checked on its own, so one request's bad items cost that request, and an honest request
//! sharing the batch pays one extra check of its own items, never a bisection. A failed job is
//! then split in halves. When the left half of a failed range passes, the right half must hold
//! the culprit: it is split directly instead of being checked whole again (likewise the last
//! job of a failed batch whose other jobs passed).
//!
//! Bisection pays when bad items are rare: k bad items among m cost about 2k·(log2(m/k) + 1)
//! checks. When they are dense it costs up to 2m − 1 checks of ever smaller batches (an all-bad
//! job of 128 cost ~8× a valid one), while checking each item alone costs m. So, within a job,
//! the failure density seen so far (bad items among the items already decided) estimates k for
//! each failed range, and a range is checked item by item when that is expected to take no
//! more checks than bisecting it. A job's first bad item is always found by bisection (nothing
//! is known yet); the job's later ranges then follow its own density, never another job's.

use super::{Engine, EngineError, ItemVerdict, SignedItem};
use crate::codec::ItemError;
use crate::suite::Suite;

/// Counters of one `verify_each` call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BisectStats {
    /// Engine batch checks issued.
    pub checks: u64,
    /// Failed batches of two or more items that were split.
    pub splits: u64,
}

/// One verdict per item, in order.
pub fn verify_each(
    engine: &dyn Engine,
    suite: Suite,
    items: &[&SignedItem],
) -> Result<(Vec<ItemVerdict>, BisectStats), EngineError> {
    verify_jobs(engine, suite, items, &[items.len()])
}

/// One verdict per item from a batch check `check` that passes iff every item of its slice
/// is valid (the key registry bisects its proof-of-possession batches with it too).
pub fn bisect<T, E>(
    items: &[T],
    mut check: impl FnMut(&[T]) -> Result<bool, E>,
) -> Result<(Vec<bool>, BisectStats), E> {
    let mut verdicts = vec![false; items.len()];
    let mut stats = BisectStats::default();
    if !items.is_empty() {
        Search::new(&mut check, &mut stats).split(items, &mut verdicts, false)?;
    }
    Ok((verdicts, stats))
}

/// One verdict per item of `items`, the items of consecutive jobs of `job_lens` items each.
///
/// The first check is of the whole batch. The items whose deferred signature it rejects get
/// their decoding error and leave the search; the verdict on the others says whether anything
/// is left to find. Decoding does not depend on the batch, so later checks reject nothing new;
/// should one (a different engine after a fallback), that item's rejection is its verdict.
pub fn verify_jobs(
    engine: &dyn Engine,
    suite: Suite,
    items: &[&SignedItem],
    job_lens: &[usize],
) -> Result<(Vec<ItemVerdict>, BisectStats), EngineError> {
    debug_assert_eq!(job_lens.iter().sum::<usize>(), items.len());
    let mut verdicts: Vec<ItemVerdict> = vec![Ok(()); items.len()];
    let mut stats = BisectStats::default();
    if items.is_empty() {
        return Ok((verdicts, stats));
    }
    stats.checks += 1;
    let first = engine.verify_batch(suite, items)?;
    for &(index, error) in &first.rejected {
        verdicts[index] = Err(error);
    }
    if first.others_valid {
        return Ok((verdicts, stats));
    }
    // The items left, by job, with their positions in `items`.
    let mut left: Vec<(usize, &SignedItem)> = Vec::with_capacity(items.len());
    let mut lens = Vec::with_capacity(job_lens.len());
    let mut start = 0;
    for &len in job_lens {
        let before = left.len();
        left.extend(
            (start..start + len)
                .filter(|&i| verdicts[i].is_ok())
                .map(|i| (i, items[i])),
        );
        start += len;
        if left.len() > before {
            lens.push(left.len() - before);
        }
    }
    let mut rejected = Vec::new();
    let mut check = |batch: &[(usize, &SignedItem)]| -> Result<bool, EngineError> {
        let refs: Vec<&SignedItem> = batch.iter().map(|(_, item)| *item).collect();
        let verdict = engine.verify_batch(suite, &refs)?;
        rejected.extend(verdict.rejected.iter().map(|&(at, e)| (batch[at].0, e)));
        Ok(verdict.all_valid())
    };
    let mut valid = vec![false; left.len()];
    let (mut rest_items, mut rest) = (&left[..], valid.as_mut_slice());
    let mut others_passed = true;
    for (index, &len) in lens.iter().enumerate() {
        let (job_items, later_items) = rest_items.split_at(len);
        let (job_verdicts, later_verdicts) = rest.split_at_mut(len);
        // One job left: it failed the first check. Several: each is checked on its own, the
        // last known to fail if all others passed. Each job starts with no density estimate:
        // another request's bad items say nothing about this one's.
        let known_bad = lens.len() == 1 || (others_passed && index + 1 == lens.len());
        Search::new(&mut check, &mut stats).split(job_items, job_verdicts, known_bad)?;
        others_passed &= job_verdicts.iter().all(|&v| v);
        (rest_items, rest) = (later_items, later_verdicts);
    }
    for ((index, _), valid) in left.iter().zip(valid) {
        if !valid {
            verdicts[*index] = Err(ItemError::InvalidSignature);
        }
    }
    for (index, error) in rejected {
        verdicts[index] = Err(error);
    }
    Ok((verdicts, stats))
}

/// The search for the bad items of one job, with what it has learned of their density.
struct Search<'a, C> {
    check: &'a mut C,
    stats: &'a mut BisectStats,
    /// Items whose verdict is known, and how many of them are bad.
    decided: usize,
    bad: usize,
}

impl<'a, C> Search<'a, C> {
    fn new(check: &'a mut C, stats: &'a mut BisectStats) -> Self {
        Self {
            check,
            stats,
            decided: 0,
            bad: 0,
        }
    }

    fn check<T, E>(&mut self, items: &[T]) -> Result<bool, E>
    where
        C: FnMut(&[T]) -> Result<bool, E>,
    {
        self.stats.checks += 1;
        (self.check)(items)
    }

    fn decide(&mut self, verdicts: &[bool]) {
        self.decided += verdicts.len();
        self.bad += verdicts.iter().filter(|&&v| !v).count();
    }

    /// Fills `verdicts` for `items`. `known_bad` says the range is already known to fail.
    fn split<T, E>(&mut self, items: &[T], verdicts: &mut [bool], known_bad: bool) -> Result<(), E>
    where
        C: FnMut(&[T]) -> Result<bool, E>,
    {
        let m = items.len();
        // Dense enough that the range surely fails: its whole check would be wasted.
        if !known_bad && m > 1 && self.expected_bad(m) >= 1.0 && self.item_by_item_pays(m) {
            return self.each(items, verdicts, false);
        }
        if !known_bad && self.check(items)? {
            verdicts.fill(true);
            self.decide(verdicts);
            return Ok(());
        }
        if m == 1 {
            verdicts[0] = false;
            self.decide(verdicts);
            return Ok(());
        }
        if self.item_by_item_pays(m) {
            return self.each(items, verdicts, true);
        }
        self.stats.splits += 1;
        let mid = items.len() / 2;
        let (left_items, right_items) = items.split_at(mid);
        let (left_verdicts, right_verdicts) = verdicts.split_at_mut(mid);
        self.split(left_items, left_verdicts, false)?;
        let left_all_valid = left_verdicts.iter().all(|&v| v);
        self.split(right_items, right_verdicts, left_all_valid)
    }

    /// Checks each item alone. In a range `known_bad`, the last item is bad if all others
    /// passed.
    fn each<T, E>(&mut self, items: &[T], verdicts: &mut [bool], known_bad: bool) -> Result<(), E>
    where
        C: FnMut(&[T]) -> Result<bool, E>,
    {
        let last = items.len() - 1;
        for i in 0..items.len() {
            let deduced = known_bad && i == last && verdicts[..i].iter().all(|&v| v);
            verdicts[i] = !deduced && self.check(&items[i..=i])?;
        }
        self.decide(verdicts);
        Ok(())
    }

    /// Bad items expected among `m` at the density seen so far.
    fn expected_bad(&self, m: usize) -> f64 {
        if self.decided == 0 {
            return 0.0;
        }
        self.bad as f64 / self.decided as f64 * m as f64
    }

    /// Whether checking a failing range of `m` items one by one is expected to take no more
    /// checks than bisecting it, with k, its bad items, estimated from the density so far.
    fn item_by_item_pays(&self, m: usize) -> bool {
        if self.bad == 0 {
            return false;
        }
        let m = m as f64;
        let k = self.expected_bad(m as usize).clamp(1.0, m);
        m <= 2.0 * k * ((m / k).log2() + 1.0) - 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{decode_public_key, decode_signature};
    use crate::engine::CpuEngine;
    use crate::signer::SecretKey;

    /// `n` items signed by real keys; those at `bad` carry a message other than the one signed.
    fn items(n: usize, bad: &[usize]) -> Vec<SignedItem> {
        let suite = Suite::default();
        (0..n)
            .map(|i| {
                let sk = SecretKey::from_ikm(&[i as u8 % 5; 32]).expect("32-byte ikm");
                let message = format!("item {i}").into_bytes();
                let signature = sk.sign(suite, &message);
                SignedItem {
                    public_key: decode_public_key(suite.variant, &sk.public_key(suite.variant))
                        .unwrap(),
                    message: if bad.contains(&i) {
                        b"tampered".to_vec()
                    } else {
                        message
                    },
                    signature: decode_signature(suite.variant, &signature).unwrap().into(),
                }
            })
            .collect()
    }

    /// Engine checks and verdicts of one job on the real CPU engine.
    fn run(n: usize, bad: &[usize]) -> u64 {
        let items = items(n, bad);
        let refs: Vec<&SignedItem> = items.iter().collect();
        let engine = CpuEngine::on_caller_thread();
        let (verdicts, stats) = verify_each(&engine, Suite::default(), &refs).unwrap();
        let expected: Vec<ItemVerdict> = (0..n)
            .map(|i| match bad.contains(&i) {
                true => Err(ItemError::InvalidSignature),
                false => Ok(()),
            })
            .collect();
        assert_eq!(verdicts, expected);
        stats.checks
    }

    #[test]
    fn dense_failures_are_checked_item_by_item() {
        // Bisection alone took 2·64 − 1 = 127 checks for an all-bad job of 64.
        let all: Vec<usize> = (0..64).collect();
        let checks = run(64, &all);
        assert!(checks <= 64 + 8, "{checks} checks for 64 bad items");
        // Half bad, spread out: bisection alone took 2·32·(1 + 1) − 1 = 127 checks here too.
        let every_other: Vec<usize> = (0..64).step_by(2).collect();
        let checks = run(64, &every_other);
        assert!(checks <= 64 + 8, "{checks} checks for 32 bad items of 64");
    }

    #[test]
    fn sparse_failures_are_still_bisected() {
        // One bad item of 64: one check per level down and one sibling per level.
        let checks = run(64, &[37]);
        assert!(checks <= 2 * 6 + 1, "{checks} checks for 1 bad item of 64");
        // Two bad items, one per half: far fewer than the 64 checks of going item by item.
        let checks = run(64, &[3, 50]);
        assert!(checks <= 4 * 6 + 1, "{checks} checks for 2 bad items of 64");
    }

    #[test]
    fn a_rejected_deferred_signature_gets_its_error_and_leaves_the_search() {
        use crate::codec::ItemSignature;
        let suite = Suite::default();
        let mut items = items(16, &[11]);
        // x = 0: canonical, screened, but no point of G2 (the error the parser would give).
        let mut zero_x = vec![0u8; 96];
        zero_x[0] = 0x80;
        let error = decode_signature(suite.variant, &zero_x).unwrap_err();
        items[4].signature = ItemSignature::parse(suite.variant, zero_x, true).unwrap();
        for item in items.iter_mut().skip(5).take(3) {
            let bytes = item.signature.decoded().unwrap().to_bytes();
            item.signature = ItemSignature::parse(suite.variant, bytes, true).unwrap();
        }
        let refs: Vec<&SignedItem> = items.iter().collect();
        for lens in [vec![16], vec![4, 4, 8]] {
            let engine = CpuEngine::on_caller_thread();
            let (verdicts, _) = verify_jobs(&engine, suite, &refs, &lens).unwrap();
            let expected: Vec<ItemVerdict> = (0..16)
                .map(|i| match i {
                    4 => Err(error),
                    11 => Err(ItemError::InvalidSignature),
                    _ => Ok(()),
                })
                .collect();
            assert_eq!(verdicts, expected, "jobs {lens:?}");
        }
    }

    #[test]
    fn every_verdict_is_right_at_every_density() {
        for stride in 1..=9 {
            let bad: Vec<usize> = (0..40).step_by(stride).collect();
            run(40, &bad);
        }
        run(40, &[]);
        run(1, &[0]);
    }
}
