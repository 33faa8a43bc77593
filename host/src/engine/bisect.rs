//! Per-item verdicts from batch checks: check a batch; if it fails, split it.
//!
//! A batch of valid items always passes, so a failed batch holds at least one invalid item.
//! A failed batch of several jobs (requests) is split along job boundaries first: each job is
//! checked on its own, so one request's bad items cost that request, and an honest request
//! sharing the batch pays one extra check of its own items, never a bisection. A failed job is
//! then split in halves. When the left half of a failed range passes, the right half must hold
//! the culprit: it is split directly instead of being checked whole again (likewise the last
//! job of a failed batch whose other jobs passed).

use super::{Engine, EngineError, SignedItem};
use crate::suite::Suite;

/// Counters of one `verify_each` call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BisectStats {
    /// Engine batch checks issued.
    pub checks: u64,
    /// Failed batches of two or more items that were split.
    pub splits: u64,
}

/// One verdict per item (true = valid), in order.
pub fn verify_each(
    engine: &dyn Engine,
    suite: Suite,
    items: &[&SignedItem],
) -> Result<(Vec<bool>, BisectStats), EngineError> {
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
        split(&mut check, items, &mut verdicts, false, &mut stats)?;
    }
    Ok((verdicts, stats))
}

/// One verdict per item of `items`, the items of consecutive jobs of `job_lens` items each.
pub fn verify_jobs(
    engine: &dyn Engine,
    suite: Suite,
    items: &[&SignedItem],
    job_lens: &[usize],
) -> Result<(Vec<bool>, BisectStats), EngineError> {
    let mut check = |batch: &[&SignedItem]| engine.verify_batch(suite, batch);
    let mut verdicts = vec![false; items.len()];
    let mut stats = BisectStats::default();
    debug_assert_eq!(job_lens.iter().sum::<usize>(), items.len());
    let jobs: Vec<usize> = job_lens.iter().copied().filter(|&n| n > 0).collect();
    if items.is_empty() {
        return Ok((verdicts, stats));
    }
    if jobs.len() == 1 {
        split(&mut check, items, &mut verdicts, false, &mut stats)?;
        return Ok((verdicts, stats));
    }
    stats.checks += 1;
    if check(items)? {
        verdicts.fill(true);
        return Ok((verdicts, stats));
    }
    let (mut items, mut rest) = (items, verdicts.as_mut_slice());
    let mut others_passed = true;
    for (index, &len) in jobs.iter().enumerate() {
        let (job_items, later_items) = items.split_at(len);
        let (job_verdicts, later_verdicts) = rest.split_at_mut(len);
        let known_bad = others_passed && index + 1 == jobs.len();
        split(&mut check, job_items, job_verdicts, known_bad, &mut stats)?;
        others_passed &= job_verdicts.iter().all(|&v| v);
        (items, rest) = (later_items, later_verdicts);
    }
    Ok((verdicts, stats))
}

/// Fills `verdicts` for `items`. `known_bad` says the range is already known to fail.
fn split<T, E>(
    check: &mut impl FnMut(&[T]) -> Result<bool, E>,
    items: &[T],
    verdicts: &mut [bool],
    known_bad: bool,
    stats: &mut BisectStats,
) -> Result<(), E> {
    if !known_bad {
        stats.checks += 1;
        if check(items)? {
            verdicts.fill(true);
            return Ok(());
        }
    }
    if items.len() == 1 {
        verdicts[0] = false;
        return Ok(());
    }
    stats.splits += 1;
    let mid = items.len() / 2;
    let (left_items, right_items) = items.split_at(mid);
    let (left_verdicts, right_verdicts) = verdicts.split_at_mut(mid);
    split(check, left_items, left_verdicts, false, stats)?;
    let left_all_valid = left_verdicts.iter().all(|&v| v);
    split(check, right_items, right_verdicts, left_all_valid, stats)
}
