//! Fp2 = Fp[u]/(u² + 1), built from any [`Field`] so that G2 formulas trace to Fp operations.

use super::{Constant, Field};

/// `c0 + c1·u` with `u² = −1`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fp2<F> {
    /// The real part.
    pub c0: F,
    /// The coefficient of u.
    pub c1: F,
}

impl<F: Field> Fp2<F> {
    /// `c0 + c1·u`.
    pub fn new(c0: F, c1: F) -> Self {
        Fp2 { c0, c1 }
    }

    /// `self · (1 + u)`: two add/sub operations, no multiplication.
    pub fn mul_by_nonresidue(&self) -> Self {
        Fp2::new(self.c0.sub(&self.c1), self.c0.add(&self.c1))
    }

    /// `c0 − c1·u`: the p-power Frobenius on Fp2 (one negation).
    pub fn conjugate(&self) -> Self {
        Fp2::new(self.c0.clone(), self.c1.neg())
    }

    /// `self · k` for `k` in the base field: two multiplications.
    pub fn mul_by_base(&self, k: &F) -> Self {
        Fp2::new(self.c0.mul(k), self.c1.mul(k))
    }
}

impl<F: Field> Field for Fp2<F> {
    type Bit = F::Bit;

    fn add(&self, other: &Self) -> Self {
        Fp2::new(self.c0.add(&other.c0), self.c1.add(&other.c1))
    }
    fn sub(&self, other: &Self) -> Self {
        Fp2::new(self.c0.sub(&other.c0), self.c1.sub(&other.c1))
    }
    /// Karatsuba: three base multiplications (the multiplier is the scarce unit), five add/subs.
    fn mul(&self, other: &Self) -> Self {
        let v0 = self.c0.mul(&other.c0);
        let v1 = self.c1.mul(&other.c1);
        let s = self.c0.add(&self.c1).mul(&other.c0.add(&other.c1));
        Fp2::new(v0.sub(&v1), s.sub(&v0).sub(&v1))
    }
    fn select(bit: &Self::Bit, if_set: &Self, if_clear: &Self) -> Self {
        Fp2::new(
            F::select(bit, &if_set.c0, &if_clear.c0),
            F::select(bit, &if_set.c1, &if_clear.c1),
        )
    }
    fn zero(&self) -> Self {
        Fp2::new(self.c0.zero(), self.c0.zero())
    }
    fn one(&self) -> Self {
        Fp2::new(self.c0.one(), self.c0.zero())
    }
    fn constant(&self, c: Constant) -> Self {
        Fp2::new(self.c0.constant(c), self.c0.zero())
    }
    /// Complex squaring: (c0+c1)(c0−c1) + 2·c0·c1·u, two base multiplications.
    fn square(&self) -> Self {
        let re = self.c0.add(&self.c1).mul(&self.c0.sub(&self.c1));
        let im = self.c0.mul(&self.c1).double();
        Fp2::new(re, im)
    }
}
