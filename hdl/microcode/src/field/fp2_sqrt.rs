//! Square roots, inverses and quadratic residuosity in Fp2 without branches: fixed-exponent
//! powers (straight-line code, the same for every lane) and, for the one data-dependent choice
//! of the square root, a select on computed flags.

use super::pow::{p_minus, pow_fixed};
use super::{select_if_zero, Field, Flags, Fp2};

/// A square root of `a` when `a` is a square in Fp2 (either one: the caller chooses the sign);
/// for a non-square the result is some value whose square is not `a`, which is how callers
/// detect it (compare `root²` with `a`). Adj–Rodríguez-Henríquez 2012, algorithm 9, for
/// p ≡ 3 mod 4; its branch on `α = −1` is a select on the flags of `1 + α = 0`.
pub fn sqrt<F: Flags>(a: &Fp2<F>) -> Fp2<F> {
    let a1 = pow_fixed(a, &p_minus(3, 2).0);
    let x0 = a1.mul(a);
    let alpha = a1.mul(&x0);
    let one_plus_alpha = alpha.add(&a.one());
    let b = pow_fixed(&one_plus_alpha, &p_minus(1, 1).0);
    // u·x0 = −x0.c1 + x0.c0·u: the root when α = −1.
    let u_x0 = Fp2::new(x0.c1.neg(), x0.c0.clone());
    select_if_zero(&one_plus_alpha, &u_x0, &b.mul(&x0))
}

/// `N(a) = c0² + c1²`, in Fp: 0 only for a = 0 (−1 is not a square in Fp).
fn norm<F: Field>(a: &Fp2<F>) -> F {
    a.c0.square().add(&a.c1.square())
}

/// `1/a`, and 0 for a = 0: `conj(a) · N(a)^(p−2)`, one exponentiation in Fp.
pub fn inverse<F: Field>(a: &Fp2<F>) -> Fp2<F> {
    a.conjugate()
        .mul_by_base(&pow_fixed(&norm(a), &p_minus(2, 0).0))
}

/// Set when `a` is not a square in Fp2: exactly when N(a) is not a square in Fp, whose
/// Legendre symbol N(a)^((p−1)/2) is then −1 (one exponentiation in Fp and one flag).
pub fn non_square_flag<F: Flags>(a: &Fp2<F>) -> F::Bit {
    let legendre = pow_fixed(&norm(a), &p_minus(1, 1).0);
    legendre.add(&a.c0.one()).is_zero_flag()
}
