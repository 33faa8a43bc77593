//! The arkworks base field as a [`Field`]: evaluating a formula on it is the golden model.

use ark_bls12_381::{Fq, Fq2};
use ark_ff::{One, Zero};

use super::{Field, Fp2};

impl Field for Fq {
    type Bit = bool;

    fn add(&self, other: &Self) -> Self {
        *self + other
    }
    fn sub(&self, other: &Self) -> Self {
        *self - other
    }
    fn mul(&self, other: &Self) -> Self {
        *self * other
    }
    fn select(bit: &bool, if_set: &Self, if_clear: &Self) -> Self {
        if *bit {
            *if_set
        } else {
            *if_clear
        }
    }
    fn zero(&self) -> Self {
        <Fq as Zero>::zero()
    }
    fn one(&self) -> Self {
        <Fq as One>::one()
    }
    fn square(&self) -> Self {
        ark_ff::Field::square(self)
    }
}

/// Our generic quadratic extension over arkworks' Fq, from arkworks' own Fq2.
pub fn fp2_from_ark(value: &Fq2) -> Fp2<Fq> {
    Fp2::new(value.c0, value.c1)
}

/// Back to arkworks' Fq2, for comparisons against its arithmetic.
pub fn fp2_to_ark(value: &Fp2<Fq>) -> Fq2 {
    Fq2::new(value.c0, value.c1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::Field as ArkField;
    use ark_std::UniformRand;

    #[test]
    fn fp2_through_the_trait_matches_arkworks_fq2() {
        let mut rng = ark_std::test_rng();
        for _ in 0..200 {
            let a = Fq2::rand(&mut rng);
            let b = Fq2::rand(&mut rng);
            let (x, y) = (fp2_from_ark(&a), fp2_from_ark(&b));
            assert_eq!(fp2_to_ark(&x.mul(&y)), a * b);
            assert_eq!(fp2_to_ark(&x.square()), ArkField::square(&a));
            assert_eq!(fp2_to_ark(&x.add(&y)), a + b);
            assert_eq!(fp2_to_ark(&x.sub(&y)), a - b);
            assert_eq!(fp2_to_ark(&x.neg()), -a);
            assert_eq!(
                fp2_to_ark(&x.mul_by_nonresidue()),
                a * Fq2::new(<Fq as One>::one(), <Fq as One>::one())
            );
        }
        let minus_one = -<Fq as One>::one();
        let edge = Fq2::new(minus_one, minus_one);
        let x = fp2_from_ark(&edge);
        assert_eq!(fp2_to_ark(&x.mul(&x)), edge * edge);
        assert_eq!(fp2_to_ark(&x.square()), ArkField::square(&edge));
    }
}
