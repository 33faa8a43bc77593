//! What a canary needs of a point of either group.

use blst::{
    blst_hash_to_g1, blst_hash_to_g2, blst_p1, blst_p1_add_or_double, blst_p1_affine,
    blst_p1_affine_is_equal, blst_p1_cneg, blst_p1_from_affine, blst_p1_mult, blst_p1_to_affine,
    blst_p2, blst_p2_add_or_double, blst_p2_affine, blst_p2_affine_is_equal, blst_p2_cneg,
    blst_p2_from_affine, blst_p2_mult, blst_p2_to_affine, blst_scalar, MultiPoint,
};
use tollgate_abi::{G1_WORDS, G2_WORDS};

use super::super::points::{push_g1, push_g2};
use super::fixed_base::{g1_mul, g2_mul};

/// A point of either group, with what the canary needs of it.
pub trait CanaryPoint: Copy + Send + Sync + 'static {
    /// Words of the point in a device job.
    const WORDS: usize;
    /// s·g for the group's generator g (fixed base, by table: super::fixed_base).
    fn base_mul(s: &blst_scalar) -> Self;
    /// s·H(m), `message` hashed to this group under `dst`.
    fn hash_mul(dst: &[u8], message: &[u8], s: &blst_scalar) -> Self;
    /// s·self (variable base: blst's multiplication).
    fn mul(&self, s: &blst_scalar) -> Self;
    /// self + other, or self − other.
    fn add(&self, other: &Self, subtract: bool) -> Self;
    fn equals(&self, other: &Self) -> bool;
    fn push(&self, words: &mut Vec<u32>);
    /// Σ rᵢ·pointsᵢ for 64-bit rᵢ (one point: r·point), as the device's jobs compute it.
    fn multi_scaled(points: &[Self], scalars: &[u64]) -> Self;
}

macro_rules! canary_point {
    ($affine:ty, $proj:ty, $words:expr, $base_mul:ident, $hash_to:ident, $mult:ident,
     $from_affine:ident, $add:ident, $cneg:ident, $to_affine:ident, $equal:ident, $push:ident,
     $scaled:ident) => {
        /// s·point in affine form: blst's plain multiplication, not its signing (the same
        /// ladder with a conversion the affine result makes anyway: 8 µs more in G2).
        fn $scaled(point: &$proj, s: &blst_scalar) -> $affine {
            let (mut product, mut out) = (<$proj>::default(), <$affine>::default());
            // SAFETY: valid pointers; the scalar's 255 bits (below the group order) from its
            // 32 bytes.
            unsafe {
                $mult(&mut product, point, s.b.as_ptr(), 255);
                $to_affine(&mut out, &product);
            }
            out
        }

        impl CanaryPoint for $affine {
            const WORDS: usize = $words;

            fn base_mul(s: &blst_scalar) -> Self {
                $base_mul(s)
            }

            fn hash_mul(dst: &[u8], message: &[u8], s: &blst_scalar) -> Self {
                let mut hash = <$proj>::default();
                // SAFETY: valid pointers; message and tag are read for their lengths, the
                // augmentation is empty (as the batch's hashing: super::super::super::batch_equation).
                unsafe {
                    $hash_to(
                        &mut hash,
                        message.as_ptr(),
                        message.len(),
                        dst.as_ptr(),
                        dst.len(),
                        [].as_ptr(),
                        0,
                    );
                }
                $scaled(&hash, s)
            }

            fn mul(&self, s: &blst_scalar) -> Self {
                let mut point = <$proj>::default();
                // SAFETY: valid pointers to a point of the group.
                unsafe { $from_affine(&mut point, self) };
                $scaled(&point, s)
            }

            fn add(&self, other: &Self, subtract: bool) -> Self {
                let (mut lhs, mut rhs) = (<$proj>::default(), <$proj>::default());
                let (mut sum, mut out) = (<$proj>::default(), <$affine>::default());
                // SAFETY: valid pointers to points of the group.
                unsafe {
                    $from_affine(&mut lhs, self);
                    $from_affine(&mut rhs, other);
                    $cneg(&mut rhs, subtract);
                    $add(&mut sum, &lhs, &rhs);
                    $to_affine(&mut out, &sum);
                }
                out
            }

            fn equals(&self, other: &Self) -> bool {
                // SAFETY: valid references.
                unsafe { $equal(self, other) }
            }

            fn push(&self, words: &mut Vec<u32>) {
                $push(words, self);
            }

            fn multi_scaled(points: &[Self], scalars: &[u64]) -> Self {
                let bytes: Vec<u8> = scalars.iter().flat_map(|r| r.to_le_bytes()).collect();
                let product: $proj = points.mult(&bytes, 64);
                let mut out = <$affine>::default();
                // SAFETY: valid pointers.
                unsafe { $to_affine(&mut out, &product) };
                out
            }
        }
    };
}

canary_point!(
    blst_p1_affine,
    blst_p1,
    G1_WORDS,
    g1_mul,
    blst_hash_to_g1,
    blst_p1_mult,
    blst_p1_from_affine,
    blst_p1_add_or_double,
    blst_p1_cneg,
    blst_p1_to_affine,
    blst_p1_affine_is_equal,
    push_g1,
    g1_scaled
);
canary_point!(
    blst_p2_affine,
    blst_p2,
    G2_WORDS,
    g2_mul,
    blst_hash_to_g2,
    blst_p2_mult,
    blst_p2_from_affine,
    blst_p2_add_or_double,
    blst_p2_cneg,
    blst_p2_to_affine,
    blst_p2_affine_is_equal,
    push_g2,
    g2_scaled
);
