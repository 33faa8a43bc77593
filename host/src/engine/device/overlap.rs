//! The device's jobs and the CPU's share of a batch check at the same time. The device side
//! (the blinding job rᵢ·pkᵢ, then the sum job Σ rᵢ·σᵢ) runs on a scoped thread that holds the
//! device for the check; the calling thread hashes the messages meanwhile, runs the Miller
//! loops as soon as the blinded keys arrive (while the device sums the signatures), and waits
//! for the sum only for the final exponentiation. Each wait ends when the device side hands
//! over or ends, and the device side is bounded by the driver's deadlines and escalation, as
//! it was on the calling thread.

use std::any::Any;
use std::sync::mpsc::{sync_channel, SyncSender};
use std::time::{Duration, Instant};

use tracing::debug;

use super::super::fallback::FallbackReason;
use super::pairing::{final_check, Blinded, HashedMessages};

/// Where the device side hands over the blinded keys, once.
pub struct KeysTo<P>(SyncSender<Vec<P>>);

impl<P> KeysTo<P> {
    /// The device's rᵢ·pkᵢ, one per item in item order.
    pub fn send(self, blinded: Vec<P>) {
        // The channel holds one message and the receiver outlives the device side: this
        // never blocks and never fails.
        let _ = self.0.send(blinded);
    }
}

/// What an overlapped check found, and how long the CPU waited for the device in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overlapped {
    /// `Err`: the device side's failure or a device result the check refused; the verdict is
    /// then the CPU's business, as before.
    pub verdict: Result<bool, FallbackReason>,
    /// The device's time not hidden behind the CPU's share: blocked on the blinded keys after
    /// hashing, and on the sum after the Miller loops.
    pub waited: Duration,
}

/// Π e(rᵢ·pkᵢ, H(mᵢ)) = e(g, Σ rᵢ·σᵢ) with `device` computing the blinded keys (handed over
/// through its [`KeysTo`]) and returning the sum.
pub fn overlapped_check<P: Blinded, S: Any + Send>(
    dst: &[u8],
    messages: &[&[u8]],
    device: impl FnOnce(KeysTo<P>) -> Result<S, FallbackReason> + Send,
) -> Overlapped {
    let (keys_to, keys) = sync_channel(1);
    std::thread::scope(|scope| {
        let device = scope.spawn(move || device(KeysTo(keys_to)));
        let hashed = HashedMessages::<P>::new(dst, messages);
        let start = Instant::now();
        // Err: the device side ended without keys, and its result says why.
        let blinded = keys.recv().ok();
        let mut waited = start.elapsed();
        let key_side = blinded.map(|blinded| hashed.miller_loops(dst, &blinded));
        if key_side.is_some() {
            debug!(
                key_terms = messages.len(),
                "key side ready; waiting for the device's sum"
            );
        }
        let start = Instant::now();
        // A panic in the driver propagates as it did when the jobs ran on this thread.
        let sum = device
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        waited += start.elapsed();
        let verdict = match key_side {
            Some(key_side) => match (key_side, sum) {
                (Ok(key_side), Ok(sum)) => Ok(final_check(key_side, &sum)),
                // A refused key side first, as when the Miller loops ran after the sum job.
                (Err(reason), _) | (Ok(_), Err(reason)) => Err(reason),
            },
            None => Err(sum.err().unwrap_or(FallbackReason::DeviceError)),
        };
        debug!(
            waited_us = waited.as_micros() as u64,
            ?verdict,
            "overlapped batch check"
        );
        Overlapped { verdict, waited }
    })
}

#[cfg(test)]
mod tests {
    use super::super::pairing::tests::{batch, DST};
    use super::*;

    #[test]
    fn the_verdict_is_the_batch_equations() {
        for (bad, verdict) in [(None, true), (Some(5), false)] {
            let batch = batch(16, bad);
            let got = overlapped_check(DST, &batch.messages(), |keys_to| {
                keys_to.send(batch.blinded.clone());
                Ok(batch.sum)
            });
            assert_eq!(got.verdict, Ok(verdict));
        }
    }

    #[test]
    fn a_device_side_failure_before_or_after_the_keys_is_the_result() {
        let batch = batch(64, None);
        let before = overlapped_check::<blst::blst_p1_affine, blst::blst_p2_affine>(
            DST,
            &batch.messages(),
            |_| Err(FallbackReason::Timeout),
        );
        assert_eq!(before.verdict, Err(FallbackReason::Timeout));
        let after =
            overlapped_check::<_, blst::blst_p2_affine>(DST, &batch.messages(), |keys_to| {
                keys_to.send(batch.blinded.clone());
                Err(FallbackReason::DeviceError)
            });
        assert_eq!(after.verdict, Err(FallbackReason::DeviceError));
        // A device side that "succeeds" without blinded keys has not answered.
        let silent =
            overlapped_check::<blst::blst_p1_affine, _>(DST, &batch.messages(), |_| Ok(batch.sum));
        assert_eq!(silent.verdict, Err(FallbackReason::DeviceError));
    }

    #[test]
    fn a_lost_factor_is_refused_even_with_a_sum() {
        let batch = batch(64, None);
        let mut blinded = batch.blinded.clone();
        blinded[9] = blst::blst_p1_affine::default();
        let got = overlapped_check(DST, &batch.messages(), |keys_to| {
            keys_to.send(blinded);
            Ok(batch.sum)
        });
        assert_eq!(got.verdict, Err(FallbackReason::BadResult));
    }
}
