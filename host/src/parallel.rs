//! Order-keeping parallel map over the cores, for CPU-bound work in bulk (decoding a key
//! import, signing a generated batch) that is too coarse for a pool and too short-lived to
//! keep threads for.

/// `f(i)` for i in `range`, computed in one contiguous chunk per core, in order.
pub fn map_on_cores<T: Send>(
    range: std::ops::Range<usize>,
    f: impl Fn(usize) -> T + Sync,
) -> Vec<T> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |t| t.get())
        .min(range.len().max(1));
    let chunk = range.len().div_ceil(threads).max(1);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = range
            .clone()
            .step_by(chunk)
            .map(|start| {
                let end = (start + chunk).min(range.end);
                scope.spawn(move || (start..end).map(f).collect::<Vec<T>>())
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_for_any_length() {
        for n in [0, 1, 2, 3, 7, 100] {
            assert_eq!(
                map_on_cores(5..5 + n, |i| i * 2),
                (5..5 + n).map(|i| i * 2).collect::<Vec<_>>()
            );
        }
    }
}
