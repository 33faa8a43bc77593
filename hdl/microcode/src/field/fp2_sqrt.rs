//! A square root in Fp2 without branches (Adj–Rodríguez-Henríquez 2012, algorithm 9, for
//! p ≡ 3 mod 4), its one data-dependent choice made arithmetically: the indicator of
//! `1 + α = 0` is `1 − N(1 + α)^(p−1)` (Fermat in Fp), so every lane runs the same code.

use super::pow::{p_minus, pow_fixed};
use super::{Field, Fp2};

/// A square root of `a` when `a` is a square in Fp2 (either one: the caller chooses the sign);
/// for a non-square the result is some value whose square is not `a`, which is how callers
/// detect it (compare `root²` with `a`).
pub fn sqrt<F: Field>(a: &Fp2<F>) -> Fp2<F> {
    let a1 = pow_fixed(a, &p_minus(3, 2).0);
    let x0 = a1.mul(a);
    let alpha = a1.mul(&x0);
    let one_plus_alpha = alpha.add(&a.one());
    let b = pow_fixed(&one_plus_alpha, &p_minus(1, 1).0);
    // u·x0 = −x0.c1 + x0.c0·u: the root when α = −1.
    let u_x0 = Fp2::new(x0.c1.neg(), x0.c0.clone());
    let norm = one_plus_alpha.c0.square().add(&one_plus_alpha.c1.square());
    let not_minus_one = pow_fixed(&norm, &p_minus(1, 0).0);
    let is_minus_one = norm.one().sub(&not_minus_one);
    b.mul(&x0).add(&u_x0.mul_by_base(&is_minus_one))
}
