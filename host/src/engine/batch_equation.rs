//! The randomized batch equation Π e(keyₜ, H(mₜ)) = e(g, Σ rᵢ·σᵢ), its key side's Miller loops
//! spread over the cores (one pairing accumulator per thread, merged before the one final
//! exponentiation). The caller brings the signature side summed: the CPU engine by one
//! multi-scalar multiplication, rather than the 64-bit G2 multiplication per item that blst's
//! own batch check does and that costs more than a tenth of a batch.
//!
//! The key side comes two ways: [`miller_loops`] hashes each message inside the pairing (the
//! CPU engine, which has its keys at once), [`hash_messages`] then [`raw_miller_loops`] hash
//! first and pair later (the device engine, which hashes while the device blinds the keys).

use std::any::Any;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use blst::{
    blst_fp12, blst_hash_to_g1, blst_hash_to_g2, blst_p1, blst_p1_affine, blst_p1_affine_is_inf,
    blst_p1_to_affine, blst_p2, blst_p2_affine, blst_p2_affine_is_inf, blst_p2_to_affine, Pairing,
    BLST_ERROR,
};

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

/// A key point of either variant and the group its messages hash to: keys in G1 pair with
/// hashes in G2 (min_pk), keys in G2 with hashes in G1 (min_sig).
pub trait KeyPoint: Any + Copy + Send + Sync {
    /// H(m), a point of the other group.
    type Hash: Copy + Default + Send + Sync;
    /// Hashes `message` to the other group under the tag `dst` (messages are final: AUG's
    /// carry their key already).
    fn hash(dst: &[u8], message: &[u8]) -> Self::Hash;
    fn is_infinity(&self) -> bool;
    /// Adds the Miller loop of e(self, hash) to `pairing`, unchecked (blst's raw pairing).
    fn pair(&self, pairing: &mut Pairing, hash: &Self::Hash);
}

macro_rules! key_point {
    ($key:ty, $is_inf:ident, $hash:ty, $hash_proj:ty, $hash_to:ident, $to_affine:ident, |$pairing:ident, $k:ident, $h:ident| $pair:expr) => {
        impl KeyPoint for $key {
            type Hash = $hash;

            fn hash(dst: &[u8], message: &[u8]) -> $hash {
                let (mut point, mut affine) = (<$hash_proj>::default(), <$hash>::default());
                // SAFETY: valid output pointers; message and tag are read for their lengths,
                // the augmentation is empty.
                unsafe {
                    $hash_to(
                        &mut point,
                        message.as_ptr(),
                        message.len(),
                        dst.as_ptr(),
                        dst.len(),
                        [].as_ptr(),
                        0,
                    );
                    $to_affine(&mut affine, &point);
                }
                affine
            }

            fn is_infinity(&self) -> bool {
                // SAFETY: a valid reference to an affine point.
                unsafe { $is_inf(self) }
            }

            fn pair(&self, $pairing: &mut Pairing, $h: &$hash) {
                let $k = self;
                $pair
            }
        }
    };
}
key_point!(
    blst_p1_affine,
    blst_p1_affine_is_inf,
    blst_p2_affine,
    blst_p2,
    blst_hash_to_g2,
    blst_p2_to_affine,
    |pairing, key, hash| pairing.raw_aggregate(hash, key)
);
key_point!(
    blst_p2_affine,
    blst_p2_affine_is_inf,
    blst_p1_affine,
    blst_p1,
    blst_hash_to_g1,
    blst_p1_to_affine,
    |pairing, key, hash| pairing.raw_aggregate(key, hash)
);

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
    pairings(dst, terms.len(), |pairing, t| {
        let added = match &terms[t] {
            KeyTerm::Blinded {
                key,
                scalar,
                message,
            } => pairing.mul_n_aggregate(key, false, &(), false, scalar, 64, message, &[]),
            KeyTerm::Summed { key, message } => {
                pairing.aggregate(key, false, &(), false, message, &[])
            }
        };
        added == BLST_ERROR::BLST_SUCCESS
    })
}

/// H(m) of each message, over the cores: the half of the key side that needs no key.
pub fn hash_messages<P: KeyPoint>(dst: &[u8], messages: &[&[u8]]) -> Vec<P::Hash> {
    let mut hashes = vec![P::Hash::default(); messages.len()];
    let parts = over_cores(
        messages.len(),
        Vec::new,
        |part: &mut Vec<(usize, P::Hash)>, i| {
            part.push((i, P::hash(dst, messages[i])));
            true
        },
        |_| {},
    );
    for (i, hash) in parts.into_iter().flatten().flatten() {
        hashes[i] = hash;
    }
    hashes
}

/// The key side from hashes made beforehand ([`hash_messages`]): the Miller loops of each
/// (key, hash) pair. A key at infinity is refused here, as blst's hashing pairing refuses it.
pub fn raw_miller_loops<'d, P: KeyPoint>(
    dst: &'d [u8],
    terms: &[(P, &P::Hash)],
) -> Result<Pairing<'d>, Refused> {
    pairings(dst, terms.len(), |pairing, t| {
        let (key, hash) = &terms[t];
        if key.is_infinity() {
            return false;
        }
        key.pair(pairing, hash);
        true
    })
}

/// `count` terms added by `add` (false: refused) into one pairing accumulator per core,
/// merged.
fn pairings<'d>(
    dst: &'d [u8],
    count: usize,
    add: impl Fn(&mut Pairing<'d>, usize) -> bool + Sync,
) -> Result<Pairing<'d>, Refused> {
    let mut pairings =
        over_cores(count, || Pairing::new(true, dst), add, Pairing::commit).ok_or(Refused)?;
    let mut product = pairings.pop().ok_or(Refused)?;
    for pairing in &pairings {
        // Accumulators of one call share their type and tag: merging cannot fail.
        if product.merge(pairing) != BLST_ERROR::BLST_SUCCESS {
            return Err(Refused);
        }
    }
    Ok(product)
}

/// Runs `step(state, i)` for every `i` in `0..count` on up to one worker per core, each
/// folding into its own state (`start`, then `finish` on its thread); a step returning false
/// stops every worker and the result is `None`.
fn over_cores<S: Send>(
    count: usize,
    start: impl Fn() -> S + Sync,
    step: impl Fn(&mut S, usize) -> bool + Sync,
    finish: impl Fn(&mut S) + Sync,
) -> Option<Vec<S>> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(count)
        .max(1);
    let next = AtomicUsize::new(0);
    let stopped = AtomicBool::new(false);
    let worker = || {
        let mut state = start();
        while !stopped.load(Ordering::Relaxed) {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= count {
                break;
            }
            if !step(&mut state, i) {
                stopped.store(true, Ordering::Relaxed);
            }
        }
        finish(&mut state);
        state
    };
    let states = std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..workers).map(|_| scope.spawn(worker)).collect();
        let mut states = vec![worker()];
        states.extend(
            helpers
                .into_iter()
                .map(|h| h.join().expect("pairing worker")),
        );
        states
    });
    (!stopped.load(Ordering::Relaxed)).then_some(states)
}

/// The one final exponentiation: the key side against e(g, `sig_sum`).
pub fn final_check<S: Any>(key_side: Pairing<'_>, sig_sum: &S) -> bool {
    let mut signature_side = blst_fp12::default();
    Pairing::aggregated(&mut signature_side, sig_sum);
    key_side.finalverify(Some(&signature_side))
}
