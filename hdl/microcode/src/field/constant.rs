//! Base-field constants beyond 0 and 1, which the engine reads from a small table (operand
//! codes after the constants 0 and 1): the coefficients of the endomorphism ψ on G2 and R⁻¹,
//! the factor that turns a value's register image into its canonical integer.
//!
//! Values are derived here from their definitions, not copied from a library, so that the
//! golden model stays independent of the arkworks code it is checked against.

use std::sync::OnceLock;

use ark_bls12_381::{Fq, Fq2};
use ark_ff::Field as _;

use super::p_minus;

/// A named entry of the constant table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Constant {
    /// c0 of ψ's x coefficient 1/ξ^((p−1)/3), ξ = 1 + u.
    PsiX0,
    /// c1 of ψ's x coefficient.
    PsiX1,
    /// c0 of ψ's y coefficient 1/ξ^((p−1)/2).
    PsiY0,
    /// c1 of ψ's y coefficient.
    PsiY1,
    /// R⁻¹ = 2^-384 mod p, whose register image is the integer 1: `x · R⁻¹` has the canonical
    /// integer of x as its image (what sgn0 reads).
    MontgomeryInverse,
}

impl Constant {
    /// The table, in index order.
    pub const ALL: [Constant; 5] = [
        Constant::PsiX0,
        Constant::PsiX1,
        Constant::PsiY0,
        Constant::PsiY1,
        Constant::MontgomeryInverse,
    ];

    /// Position in the table.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The entry at `index`, if the table has one.
    pub fn from_index(index: usize) -> Option<Constant> {
        Constant::ALL.get(index).copied()
    }

    /// Its value.
    pub fn value(self) -> Fq {
        static TABLE: OnceLock<[Fq; 5]> = OnceLock::new();
        TABLE.get_or_init(|| {
            let psi_x = psi_coefficient(3);
            let psi_y = psi_coefficient(2);
            let r_inverse = Fq::from(2u64)
                .pow([384])
                .inverse()
                .expect("2 is invertible");
            [psi_x.c0, psi_x.c1, psi_y.c0, psi_y.c1, r_inverse]
        })[self.index()]
    }
}

/// `1/ξ^((p−1)/d)` for ξ = 1 + u (d divides p − 1).
fn psi_coefficient(d: u64) -> Fq2 {
    let mut e = p_minus(1, 0);
    // Long division of p − 1 by d, most significant limb first.
    let mut rem = 0u128;
    for limb in e.0.iter_mut().rev() {
        let cur = (rem << 64) | *limb as u128;
        *limb = (cur / d as u128) as u64;
        rem = cur % d as u128;
    }
    assert_eq!(rem, 0, "d divides p − 1");
    let xi = Fq2::new(Fq::from(1u64), Fq::from(1u64));
    xi.pow(e.0).inverse().expect("ξ ≠ 0")
}
