//! The randomized batch equation Π e(keyₜ, H(mₜ)) = e(g, Σ rᵢ·σᵢ), its key side's Miller loops
//! spread over the cores (one pairing accumulator per thread, merged before the one final
//! exponentiation). The caller brings the signature side summed: the CPU engine by one
//! multi-scalar multiplication, rather than the 64-bit G2 multiplication per item that blst's
//! own batch check does and that costs more than a tenth of a batch.

use std::any::Any;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use blst::{blst_fp12, Pairing, BLST_ERROR};

/// One pairing term of the key side.
pub enum KeyTerm<'a, P> {
    /// rᵢ·pkᵢ of one item, multiplied inside the pairing (`scalar` little-endian, 64 bits).
    Blinded {
        key: P,
        scalar: &'a [u8],
        message: &'a [u8],
    },
    /// A key already blinded, or the blinded keys of one message summed (super::grouping).
    Summed { key: P, message: &'a [u8] },
}

/// A key term the pairing refused: a key at infinity. Honest keys are never at infinity and
/// their blinded sums are with probability ~2⁻⁶⁴.
#[derive(Debug, PartialEq, Eq)]
pub struct Refused;

/// Whether the equation holds for `terms` (not empty) and the summed signature side
/// `sig_sum`, a point of the other group than the keys'. `dst` is the hash's tag.
pub fn holds<P: Any + Sync, S: Any>(
    dst: &[u8],
    terms: &[KeyTerm<P>],
    sig_sum: &S,
) -> Result<bool, Refused> {
    Ok(final_check(miller_loops(dst, terms)?, sig_sum))
}

/// The key side: hashes the messages and accumulates the Miller loops of `terms`. It needs no
/// signature, so it can run while the signature side is still being summed.
pub fn miller_loops<'d, P: Any + Sync>(
    dst: &'d [u8],
    terms: &[KeyTerm<P>],
) -> Result<Pairing<'d>, Refused> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(terms.len());
    let next = AtomicUsize::new(0);
    let refused = AtomicBool::new(false);
    let worker = || {
        let mut pairing = Pairing::new(true, dst);
        while !refused.load(Ordering::Relaxed) {
            let Some(term) = terms.get(next.fetch_add(1, Ordering::Relaxed)) else {
                break;
            };
            let added = match term {
                KeyTerm::Blinded {
                    key,
                    scalar,
                    message,
                } => pairing.mul_n_aggregate(key, false, &(), false, scalar, 64, message, &[]),
                KeyTerm::Summed { key, message } => {
                    pairing.aggregate(key, false, &(), false, message, &[])
                }
            };
            if added != BLST_ERROR::BLST_SUCCESS {
                refused.store(true, Ordering::Relaxed);
            }
        }
        pairing.commit();
        pairing
    };
    let mut pairings = std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..workers).map(|_| scope.spawn(worker)).collect();
        let mut pairings = vec![worker()];
        pairings.extend(
            helpers
                .into_iter()
                .map(|h| h.join().expect("Miller-loop worker")),
        );
        pairings
    });
    if refused.load(Ordering::Relaxed) {
        return Err(Refused);
    }
    let mut product = pairings.pop().expect("one worker at least");
    for pairing in &pairings {
        // Accumulators of one call share their type and tag: merging cannot fail.
        if product.merge(pairing) != BLST_ERROR::BLST_SUCCESS {
            return Err(Refused);
        }
    }
    Ok(product)
}

/// The one final exponentiation: the key side against e(g, `sig_sum`).
pub fn final_check<S: Any>(key_side: Pairing<'_>, sig_sum: &S) -> bool {
    let mut signature_side = blst_fp12::default();
    Pairing::aggregated(&mut signature_side, sig_sum);
    key_side.finalverify(Some(&signature_side))
}
