//! The arkworks base field as a [`Field`]: evaluating a formula on it is the golden model.

use ark_bls12_381::{Fq, Fq12, Fq2, Fq6};
use ark_ff::{One, Zero};

use super::{Constant, Field, Flags, Fp12, Fp2, Fp6};

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
    fn constant(&self, c: Constant) -> Self {
        c.value()
    }
    fn square(&self) -> Self {
        ark_ff::Field::square(self)
    }
}

impl Flags for Fq {
    fn is_zero_flag(&self) -> bool {
        Zero::is_zero(self)
    }
    fn image_lsb_flag(&self) -> bool {
        // arkworks keeps the Montgomery form (R = 2^384, the datapath's) in the tuple field.
        self.0 .0[0] & 1 == 1
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

/// Our generic Fp6 from arkworks' Fq6 (the same tower: v³ = 1 + u).
pub fn fp6_from_ark(value: &Fq6) -> Fp6<Fq> {
    Fp6::new(
        fp2_from_ark(&value.c0),
        fp2_from_ark(&value.c1),
        fp2_from_ark(&value.c2),
    )
}

/// Back to arkworks' Fq6.
pub fn fp6_to_ark(value: &Fp6<Fq>) -> Fq6 {
    Fq6::new(
        fp2_to_ark(&value.c0),
        fp2_to_ark(&value.c1),
        fp2_to_ark(&value.c2),
    )
}

/// Our generic Fp12 from arkworks' Fq12 (the same tower: w² = v).
pub fn fp12_from_ark(value: &Fq12) -> Fp12<Fq> {
    Fp12::new(fp6_from_ark(&value.c0), fp6_from_ark(&value.c1))
}

/// Back to arkworks' Fq12.
pub fn fp12_to_ark(value: &Fp12<Fq>) -> Fq12 {
    Fq12::new(fp6_to_ark(&value.c0), fp6_to_ark(&value.c1))
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

    #[test]
    fn fp6_through_the_trait_matches_arkworks_fq6() {
        let mut rng = ark_std::test_rng();
        for _ in 0..100 {
            let (a, b) = (Fq6::rand(&mut rng), Fq6::rand(&mut rng));
            let (b0, b1) = (Fq2::rand(&mut rng), Fq2::rand(&mut rng));
            let (x, y) = (fp6_from_ark(&a), fp6_from_ark(&b));
            assert_eq!(fp6_to_ark(&x.mul(&y)), a * b);
            assert_eq!(fp6_to_ark(&x.square()), ArkField::square(&a));
            assert_eq!(fp6_to_ark(&x.add(&y)), a + b);
            assert_eq!(fp6_to_ark(&x.sub(&y)), a - b);
            let mut sparse = a;
            sparse.mul_by_01(&b0, &b1);
            let (g0, g1) = (fp2_from_ark(&b0), fp2_from_ark(&b1));
            assert_eq!(fp6_to_ark(&x.mul_by_01(&g0, &g1)), sparse);
            let mut sparse = a;
            sparse.mul_by_1(&b1);
            assert_eq!(fp6_to_ark(&x.mul_by_1(&g1)), sparse);
        }
    }

    #[test]
    fn fp12_through_the_trait_matches_arkworks_fq12() {
        let mut rng = ark_std::test_rng();
        for _ in 0..100 {
            let (a, b) = (Fq12::rand(&mut rng), Fq12::rand(&mut rng));
            let (c0, c1, c4) = (
                Fq2::rand(&mut rng),
                Fq2::rand(&mut rng),
                Fq2::rand(&mut rng),
            );
            let (x, y) = (fp12_from_ark(&a), fp12_from_ark(&b));
            assert_eq!(fp12_to_ark(&x.mul(&y)), a * b);
            assert_eq!(fp12_to_ark(&x.square()), ArkField::square(&a));
            assert_eq!(fp12_to_ark(&x.sub(&y)), a - b);
            let mut conj = a;
            conj.conjugate_in_place();
            assert_eq!(fp12_to_ark(&x.conjugate()), conj);
            let mut sparse = a;
            sparse.mul_by_014(&c0, &c1, &c4);
            let line = x.mul_by_014(&fp2_from_ark(&c0), &fp2_from_ark(&c1), &fp2_from_ark(&c4));
            assert_eq!(fp12_to_ark(&line), sparse);
        }
        // Edge values: 0, 1, −1 in every coefficient.
        let minus_one = fp12_from_ark(&-Fq12::ONE);
        let one = minus_one.one();
        assert_eq!(fp12_to_ark(&minus_one.square()), Fq12::ONE);
        assert_eq!(fp12_to_ark(&minus_one.mul(&one)), -Fq12::ONE);
        assert_eq!(
            fp12_to_ark(&one.zero().mul(&minus_one)),
            <Fq12 as Zero>::zero()
        );
    }
}
