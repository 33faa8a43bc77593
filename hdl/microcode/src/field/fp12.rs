//! Fp12 = Fp6[w]/(w² − v), the pairing's target field, over the generic [`Fp6`].

use super::{Constant, Field, Fp2, Fp6};

/// `c0 + c1·w` with `w² = v`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fp12<F> {
    /// The constant coefficient.
    pub c0: Fp6<F>,
    /// The coefficient of w.
    pub c1: Fp6<F>,
}

impl<F: Field> Fp12<F> {
    /// `c0 + c1·w`.
    pub fn new(c0: Fp6<F>, c1: Fp6<F>) -> Self {
        Fp12 { c0, c1 }
    }

    /// `c0 − c1·w`: the p⁶-power Frobenius, which is the inverse on the cyclotomic subgroup
    /// (all that survives the final exponentiation), at the cost of six negations.
    pub fn conjugate(&self) -> Self {
        Fp12::new(self.c0.clone(), self.c1.neg())
    }

    /// `self · ((b0 + b1·v) + (b4·v)·w)`, the product with a line of the M-type twist
    /// (coefficients 0, 1 and 4 of the flattened tower): 13 Fp2 multiplications instead of the
    /// full product's 18.
    pub fn mul_by_014(&self, b0: &Fp2<F>, b1: &Fp2<F>, b4: &Fp2<F>) -> Self {
        let aa = self.c0.mul_by_01(b0, b1);
        let bb = self.c1.mul_by_1(b4);
        let c1 = self
            .c0
            .add(&self.c1)
            .mul_by_01(b0, &b1.add(b4))
            .sub(&aa)
            .sub(&bb);
        Fp12::new(bb.mul_by_nonresidue().add(&aa), c1)
    }
}

impl<F: Field> Field for Fp12<F> {
    type Bit = F::Bit;

    fn add(&self, other: &Self) -> Self {
        Fp12::new(self.c0.add(&other.c0), self.c1.add(&other.c1))
    }
    fn sub(&self, other: &Self) -> Self {
        Fp12::new(self.c0.sub(&other.c0), self.c1.sub(&other.c1))
    }
    /// Karatsuba: 3 Fp6 multiplications (54 base ones).
    fn mul(&self, other: &Self) -> Self {
        let aa = self.c0.mul(&other.c0);
        let bb = self.c1.mul(&other.c1);
        let c1 = self
            .c0
            .add(&self.c1)
            .mul(&other.c0.add(&other.c1))
            .sub(&aa)
            .sub(&bb);
        Fp12::new(bb.mul_by_nonresidue().add(&aa), c1)
    }
    /// Karatsuba with squarings: 3 Fp6 squarings (36 base multiplications).
    fn square(&self) -> Self {
        let aa = self.c0.square();
        let bb = self.c1.square();
        let c1 = self.c0.add(&self.c1).square().sub(&aa).sub(&bb);
        Fp12::new(bb.mul_by_nonresidue().add(&aa), c1)
    }
    fn select(bit: &Self::Bit, if_set: &Self, if_clear: &Self) -> Self {
        Fp12::new(
            Fp6::select(bit, &if_set.c0, &if_clear.c0),
            Fp6::select(bit, &if_set.c1, &if_clear.c1),
        )
    }
    fn zero(&self) -> Self {
        Fp12::new(self.c0.zero(), self.c0.zero())
    }
    fn one(&self) -> Self {
        Fp12::new(self.c0.one(), self.c0.zero())
    }
    fn constant(&self, c: Constant) -> Self {
        Fp12::new(self.c0.constant(c), self.c0.zero())
    }
}
