//! Simplified SWU (RFC 9380 §6.6.2) onto E2': y² = x³ + A'x + B', A' = 240·u,
//! B' = 1012·(1 + u), Z = −(2 + u). One inversion and one Legendre symbol (Fp exponentiations
//! of norms) and one Fp2 square root; the three choices are selects on flags.

use crate::field::{
    inverse, non_square_flag, select_by_sgn0, select_if_zero, sqrt, Field, Flags, Fp2,
};

/// Z of the suite, as `(c0, c1)`.
pub const SSWU_Z: (i64, i64) = (-2, -1);
/// A' of E2', as `(c0, c1)`.
const A: (i64, i64) = (0, 240);
/// B' of E2', as `(c0, c1)`.
const B: (i64, i64) = (1012, 1012);

/// `x³ + A'x + B'`.
fn curve_rhs<F: Flags>(x: &Fp2<F>) -> Fp2<F> {
    x.square()
        .add(&x.small(A.0, A.1))
        .mul(x)
        .add(&x.small(B.0, B.1))
}

/// The affine point of E2' that u maps to.
pub fn map_to_curve_sswu<F: Flags>(u: &Fp2<F>) -> (Fp2<F>, Fp2<F>) {
    let z_u2 = u.square().times_small(SSWU_Z.0, SSWU_Z.1);
    // Z²u⁴ + Zu², which is 0 only for u = 0 (−1/Z is not a square in Fp2).
    let t = z_u2.square().add(&z_u2);
    // x1 = −B'(1 + t) / (A'·t), or B' / (Z·A') in the exceptional case t = 0.
    let den = select_if_zero(&t, &t.small(SSWU_Z.0, SSWU_Z.1), &t.neg()).times_small(A.0, A.1);
    let num = t.add(&t.one()).times_small(B.0, B.1);
    let x1 = num.mul(&inverse(&den));
    let gx1 = curve_rhs(&x1);
    // When g(x1) is not a square, g(x2) for x2 = Z·u²·x1 is (Z is not a square).
    let x2 = z_u2.mul(&x1);
    let gx2 = curve_rhs(&x2);
    let non_square = non_square_flag(&gx1);
    let x = Fp2::select(&non_square, &x2, &x1);
    let y = sqrt(&Fp2::select(&non_square, &gx2, &gx1));
    // sgn0(y) = sgn0(u): the root with u's sign, whichever root sqrt found.
    let minus_y = y.neg();
    let y = select_by_sgn0(
        u,
        &select_by_sgn0(&y, &y, &minus_y),
        &select_by_sgn0(&y, &minus_y, &y),
    );
    (x, y)
}
