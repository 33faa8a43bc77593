//! Short Weierstrass curves with a = 0 in homogeneous projective coordinates, written once over
//! [`Field`]: the same code is the golden model (on arkworks) and the microcode source (traced).

mod ark;
mod bucket;
mod formulas;
mod g2_decode;
mod g2_endo;
mod hash_to_g2;
mod scalar;

pub use ark::{g1_from_ark, g1_to_ark, g2_from_ark, g2_to_ark};
pub use bucket::bucket_step;
pub use formulas::{add, double};
pub use g2_decode::{decode_g2, DecodedG2};
pub use g2_endo::{clear_cofactor, mul_by_x_abs, psi, subgroup_residue};
pub use hash_to_g2::{
    hash_to_g2, iso_map, map_to_curve_sswu, map_to_g2, sum_and_clear_cofactor, SSWU_Z,
};
pub use scalar::{scalar_bits, scalar_mul, SCALAR_BITS};

use crate::field::{Field, Fp2};

/// `(X : Y : Z)` with `x = X/Z`, `y = Y/Z`; any `Z = 0` is the point at infinity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Point<F> {
    /// X.
    pub x: F,
    /// Y.
    pub y: F,
    /// Z.
    pub z: F,
}

impl<F: Field> Point<F> {
    /// `(x : y : z)`.
    pub fn new(x: F, y: F, z: F) -> Self {
        Point { x, y, z }
    }

    /// The point at infinity `(0 : 1 : 0)`, in the same context as `like`.
    pub fn identity_like(like: &F) -> Self {
        Point::new(like.zero(), like.one(), like.zero())
    }

    /// `−self = (X : −Y : Z)`.
    pub fn neg(&self) -> Self {
        Point::new(self.x.clone(), self.y.neg(), self.z.clone())
    }

    /// `if_set` when `bit` is 1, else `if_clear`, coordinate-wise on the add/sub unit.
    pub fn select(bit: &F::Bit, if_set: &Self, if_clear: &Self) -> Self {
        Point::new(
            F::select(bit, &if_set.x, &if_clear.x),
            F::select(bit, &if_set.y, &if_clear.y),
            F::select(bit, &if_set.z, &if_clear.z),
        )
    }
}

/// What distinguishes one a = 0 curve from another in the formulas: `3·b`.
pub trait Curve<F: Field> {
    /// `x · 3b`.
    fn mul_b3(x: &F) -> F;
}

/// G1 of BLS12-381: y² = x³ + 4 over Fp, so 3b = 12.
#[derive(Clone, Copy, Debug)]
pub struct G1;

/// G2 of BLS12-381: y² = x³ + 4(1 + u) over Fp2, so 3b = 12(1 + u).
#[derive(Clone, Copy, Debug)]
pub struct G2;

/// `12·x` with four additions (2x, 4x, 8x, 8x + 4x) so that the multiplier stays free.
fn times_twelve<F: Field>(x: &F) -> F {
    let x2 = x.double();
    let x4 = x2.double();
    let x8 = x4.double();
    x8.add(&x4)
}

impl<F: Field> Curve<F> for G1 {
    fn mul_b3(x: &F) -> F {
        times_twelve(x)
    }
}

impl<F: Field> Curve<Fp2<F>> for G2 {
    fn mul_b3(x: &Fp2<F>) -> Fp2<F> {
        times_twelve(&x.mul_by_nonresidue())
    }
}
