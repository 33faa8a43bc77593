//! Per-item verdicts from batch checks: check a batch; if it fails, split it in halves.
//!
//! A batch of valid items always passes, so a failed batch holds at least one invalid item.
//! When the left half of a failed batch passes, the right half must hold the culprit: it is
//! split directly instead of being checked whole again.

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
    bisect(items, |batch| engine.verify_batch(suite, batch))
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
