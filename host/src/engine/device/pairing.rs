//! The CPU's share of a device-backed batch check.

use std::any::Any;

use blst::{blst_fp12, Pairing, BLST_ERROR};

use super::super::fallback::FallbackReason;

/// Π e(blindedᵢ, H(mᵢ)) = e(g, sum), with blst hashing the messages: the CPU's share of a
/// device-backed batch check ([`miller_loops`] then [`final_check`]).
pub fn pairing_check<P: Any + Sync, S: Any>(
    dst: &[u8],
    blinded: &[P],
    messages: &[&[u8]],
    sum: &S,
) -> Result<bool, FallbackReason> {
    Ok(final_check(miller_loops(dst, blinded, messages)?, sum))
}

/// Hashes the messages and accumulates the Miller loops of (blindedᵢ, H(mᵢ)), spread over the
/// cores like the CPU engine's (one pairing accumulator per thread, merged). It needs only
/// the blinded points, so it runs while the device still computes the sum.
pub fn miller_loops<'d, P: Any + Sync>(
    dst: &'d [u8],
    blinded: &[P],
    messages: &[&[u8]],
) -> Result<Pairing<'d>, FallbackReason> {
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
    Ok(pairing)
}

/// The final exponentiation against e(g, sum).
pub fn final_check<S: Any>(pairing: Pairing<'_>, sum: &S) -> bool {
    let mut gt = blst_fp12::default();
    Pairing::aggregated(&mut gt, sum);
    pairing.finalverify(Some(&gt))
}
