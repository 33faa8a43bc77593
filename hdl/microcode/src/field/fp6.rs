//! Fp6 = Fp2[v]/(v³ − ξ) with ξ = 1 + u, over the generic [`Fp2`], so that tower arithmetic
//! traces down to base-field operations like everything else.

use super::{Constant, Field, Fp2};

/// `c0 + c1·v + c2·v²` with `v³ = ξ = 1 + u`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fp6<F> {
    /// The constant coefficient.
    pub c0: Fp2<F>,
    /// The coefficient of v.
    pub c1: Fp2<F>,
    /// The coefficient of v².
    pub c2: Fp2<F>,
}

impl<F: Field> Fp6<F> {
    /// `c0 + c1·v + c2·v²`.
    pub fn new(c0: Fp2<F>, c1: Fp2<F>, c2: Fp2<F>) -> Self {
        Fp6 { c0, c1, c2 }
    }

    /// `self · v`: a rotation and one multiplication by ξ (add/subs only).
    pub fn mul_by_nonresidue(&self) -> Self {
        Fp6::new(
            self.c2.mul_by_nonresidue(),
            self.c0.clone(),
            self.c1.clone(),
        )
    }

    /// `self · (b0 + b1·v)`: the Karatsuba product with the v² terms dropped, 5 Fp2
    /// multiplications instead of 6 (a line's first half is this sparse).
    pub fn mul_by_01(&self, b0: &Fp2<F>, b1: &Fp2<F>) -> Self {
        let v0 = self.c0.mul(b0);
        let v1 = self.c1.mul(b1);
        let c0 = self
            .c1
            .add(&self.c2)
            .mul(b1)
            .sub(&v1)
            .mul_by_nonresidue()
            .add(&v0);
        let c1 = self.c0.add(&self.c1).mul(&b0.add(b1)).sub(&v0).sub(&v1);
        let c2 = self.c0.add(&self.c2).mul(b0).sub(&v0).add(&v1);
        Fp6::new(c0, c1, c2)
    }

    /// `self · (b1·v)`: 3 Fp2 multiplications (a line's second half).
    pub fn mul_by_1(&self, b1: &Fp2<F>) -> Self {
        Fp6::new(
            self.c2.mul(b1).mul_by_nonresidue(),
            self.c0.mul(b1),
            self.c1.mul(b1),
        )
    }
}

impl<F: Field> Field for Fp6<F> {
    type Bit = F::Bit;

    fn add(&self, other: &Self) -> Self {
        Fp6::new(
            self.c0.add(&other.c0),
            self.c1.add(&other.c1),
            self.c2.add(&other.c2),
        )
    }
    fn sub(&self, other: &Self) -> Self {
        Fp6::new(
            self.c0.sub(&other.c0),
            self.c1.sub(&other.c1),
            self.c2.sub(&other.c2),
        )
    }
    /// Karatsuba over three coefficients: 6 Fp2 multiplications (18 base ones).
    fn mul(&self, other: &Self) -> Self {
        let (a, b) = (self, other);
        let v0 = a.c0.mul(&b.c0);
        let v1 = a.c1.mul(&b.c1);
        let v2 = a.c2.mul(&b.c2);
        let c0 = a.c1.add(&a.c2).mul(&b.c1.add(&b.c2)).sub(&v1).sub(&v2);
        let c1 = a.c0.add(&a.c1).mul(&b.c0.add(&b.c1)).sub(&v0).sub(&v1);
        let c2 = a.c0.add(&a.c2).mul(&b.c0.add(&b.c2)).sub(&v0).sub(&v2);
        Fp6::new(
            c0.mul_by_nonresidue().add(&v0),
            c1.add(&v2.mul_by_nonresidue()),
            c2.add(&v1),
        )
    }
    /// The same Karatsuba shape with squarings: 6 Fp2 squarings (12 base multiplications).
    fn square(&self) -> Self {
        let v0 = self.c0.square();
        let v1 = self.c1.square();
        let v2 = self.c2.square();
        let c0 = self.c1.add(&self.c2).square().sub(&v1).sub(&v2);
        let c1 = self.c0.add(&self.c1).square().sub(&v0).sub(&v1);
        let c2 = self.c0.add(&self.c2).square().sub(&v0).sub(&v2);
        Fp6::new(
            c0.mul_by_nonresidue().add(&v0),
            c1.add(&v2.mul_by_nonresidue()),
            c2.add(&v1),
        )
    }
    fn select(bit: &Self::Bit, if_set: &Self, if_clear: &Self) -> Self {
        Fp6::new(
            Fp2::select(bit, &if_set.c0, &if_clear.c0),
            Fp2::select(bit, &if_set.c1, &if_clear.c1),
            Fp2::select(bit, &if_set.c2, &if_clear.c2),
        )
    }
    fn zero(&self) -> Self {
        let z = self.c0.zero();
        Fp6::new(z.clone(), z.clone(), z)
    }
    fn one(&self) -> Self {
        let z = self.c0.zero();
        Fp6::new(self.c0.one(), z.clone(), z)
    }
    fn constant(&self, c: Constant) -> Self {
        let z = self.c0.zero();
        Fp6::new(self.c0.constant(c), z.clone(), z)
    }
}
