//! Branch-free multiplication by a 64-bit scalar: double-and-add-always with complete formulas.
//! Each step adds either P or infinity, chosen by a per-lane select, so every lane executes the
//! same instructions whatever its scalar (and the timing does not depend on it either).

use super::{add, double, Curve, Point};
use crate::field::Field;

/// Width of the scalars (batch-verification blinding factors).
pub const SCALAR_BITS: usize = 64;

/// The bits of `k`, most significant first, as the golden model consumes them.
pub fn scalar_bits(k: u64) -> Vec<bool> {
    (0..SCALAR_BITS).rev().map(|i| (k >> i) & 1 == 1).collect()
}

/// `k·p` with `bits` = k's bits, most significant first (any non-empty length).
pub fn scalar_mul<F: Field, C: Curve<F>>(p: &Point<F>, bits: &[F::Bit]) -> Point<F> {
    let infinity = Point::identity_like(&p.x);
    let (top, rest) = bits.split_first().expect("a scalar has at least one bit");
    let mut acc = Point::select(top, p, &infinity);
    for bit in rest {
        let addend = Point::select(bit, p, &infinity);
        acc = add::<F, C>(&double::<F, C>(&acc), &addend);
    }
    acc
}
