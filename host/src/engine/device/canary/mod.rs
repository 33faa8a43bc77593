//! The secret canary item of a device batch: a device that returns well-formed but wrong
//! values (a scalar ignored, an item dropped or altered, outputs reordered) must not turn an
//! invalid batch into "valid". The host adds an item whose contribution it can predict and
//! the device cannot tell from the others: key k·g, a random message m, signature k·H(m) + Δ
//! with Δ = d·g (k, d full-size random scalars), its own 64-bit blinding scalar r, at a random
//! position among the items. Its signature is invalid by Δ, which only the host can cancel.
//!
//! Everything comes from the OS CSPRNG per batch; nothing about the canary reaches a verdict,
//! a log or a metric of the caller's items. k is full-size: from k·g a device must not find k
//! (a 64-bit k would fall to a kangaroo search of ~2³² steps).
//!
//! Modules: `blinding` (the canary of the blinding path, either variant), `lane` (the canary of
//! the whole path, signed on the device's own H(m) and checked through the lanes' Miller
//! values), `point` (what the canary needs of
//! a point of either group), `fixed_base` (multiplications of the generators by table).

mod blinding;
mod fixed_base;
mod lane;
mod point;
#[cfg(test)]
mod testing;

pub use blinding::Canary;
pub use fixed_base::gt_pow;
pub use lane::{LaneCanary, LaneCanaryDraw};
pub use point::CanaryPoint;

use blst::{blst_keygen, blst_scalar, blst_scalar_from_uint64, blst_sk_mul_n_check};
use rand_core::{OsRng, RngCore};

use super::super::EngineError;
use super::points::blinding_scalars;

/// A uniformly random non-zero scalar mod the group order (blst's key generation from 32
/// bytes of the OS CSPRNG).
fn random_scalar() -> Result<blst_scalar, EngineError> {
    let mut ikm = [0u8; 32];
    OsRng
        .try_fill_bytes(&mut ikm)
        .map_err(|e| EngineError::Rng(e.to_string()))?;
    let mut scalar = blst_scalar::default();
    // SAFETY: valid output pointer; the IKM is read for its length, the info is empty.
    unsafe { blst_keygen(&mut scalar, ikm.as_ptr(), ikm.len(), [].as_ptr(), 0) };
    Ok(scalar)
}

/// a·r mod the group order for a 64-bit r (non-zero for non-zero a and r: the order is prime).
fn times(a: &blst_scalar, r: u64) -> blst_scalar {
    let (mut r_scalar, mut product) = (blst_scalar::default(), blst_scalar::default());
    // SAFETY: valid pointers; blst_scalar_from_uint64 reads four limbs.
    unsafe {
        blst_scalar_from_uint64(&mut r_scalar, [r, 0, 0, 0].as_ptr());
        blst_sk_mul_n_check(&mut product, a, &r_scalar);
    }
    product
}

/// The secrets of one canary, fresh from the OS CSPRNG.
struct Draw {
    k: blst_scalar,
    d: blst_scalar,
    scalar: u64,
    message: [u8; 32],
    position: usize,
}

impl Draw {
    /// For a batch of `items` items: the canary goes at one of `items + 1` positions.
    fn new(items: usize) -> Result<Draw, EngineError> {
        let (k, d) = (random_scalar()?, random_scalar()?);
        let scalar = blinding_scalars(1)?[0];
        let mut message = [0u8; 32];
        let mut position = [0u8; 8];
        for bytes in [&mut message[..], &mut position[..]] {
            OsRng
                .try_fill_bytes(bytes)
                .map_err(|e| EngineError::Rng(e.to_string()))?;
        }
        // Modulo bias ≤ items / 2⁶⁴: negligible.
        let position = (u64::from_le_bytes(position) % (items as u64 + 1)) as usize;
        Ok(Draw {
            k,
            d,
            scalar,
            message,
            position,
        })
    }

    /// k·H(m) + d·g: the canary's signature, off by Δ = d·g, its message hashed here.
    fn signature<S: CanaryPoint>(&self, dst: &[u8]) -> S {
        self.off_by_delta(S::hash_mul(dst, &self.message, &self.k))
    }

    /// k·H + d·g for `hash`, the H(m) of another's hashing (the device's: super::lane).
    fn signature_on<S: CanaryPoint>(&self, hash: &S) -> S {
        self.off_by_delta(hash.mul(&self.k))
    }

    /// signed + Δ, Δ = d·g.
    fn off_by_delta<S: CanaryPoint>(&self, signed: S) -> S {
        signed.add(&S::base_mul(&self.d), false)
    }
}
