//! The CPU's share of a device-backed batch check.

use std::any::Any;

use blst::{blst_fp12, Pairing, BLST_ERROR};

use super::super::fallback::FallbackReason;

/// Π e(blindedᵢ, H(mᵢ)) = e(g, sum), with blst hashing the messages: the CPU's share of a
/// device-backed batch check, spread over the cores like the CPU engine's (one pairing
/// accumulator per thread, merged before the final exponentiation).
pub fn pairing_check<P: Any + Sync, S: Any>(
    dst: &[u8],
    blinded: &[P],
    messages: &[&[u8]],
    sum: &S,
) -> Result<bool, FallbackReason> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = blinded.len().div_ceil(threads).max(1);
    let partials: Vec<Result<Pairing, FallbackReason>> = std::thread::scope(|scope| {
        let workers: Vec<_> = blinded
            .chunks(chunk)
            .zip(messages.chunks(chunk))
            .map(|(points, messages)| {
                scope.spawn(move || {
                    let mut pairing = Pairing::new(true, dst);
                    for (point, message) in points.iter().zip(messages) {
                        // An infinity means the device lost a factor: rᵢ ≠ 0, pkᵢ ≠ infinity.
                        if pairing.aggregate(point, false, &(), false, message, &[])
                            != BLST_ERROR::BLST_SUCCESS
                        {
                            return Err(FallbackReason::BadResult);
                        }
                    }
                    pairing.commit();
                    Ok(pairing)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().unwrap_or(Err(FallbackReason::DeviceError)))
            .collect()
    });
    let mut partials = partials.into_iter();
    let mut pairing = match partials.next() {
        Some(first) => first?,
        None => return Err(FallbackReason::DeviceError),
    };
    for partial in partials {
        if pairing.merge(&partial?) != BLST_ERROR::BLST_SUCCESS {
            return Err(FallbackReason::BadResult);
        }
    }
    let mut gt = blst_fp12::default();
    Pairing::aggregated(&mut gt, sum);
    Ok(pairing.finalverify(Some(&gt)))
}
