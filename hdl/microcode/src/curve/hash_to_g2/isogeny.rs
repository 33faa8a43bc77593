//! The 3-isogeny E2' → E2 (RFC 9380 appendix E.3) in projective form, without inversion.
//!
//! The appendix's coefficients are fractions with denominators 9 (x) and 27 (y); scaled by
//! those, every coefficient is a small Gaussian integer, so the polynomials need only
//! additions of small constants (add/sub units) besides their Horner products:
//! 9·x_num = x³ + (12 − 12u)x² − 24u·x + 304(1 + u), 9·x_den = 9(x² + (12 − 12u)x − 72u),
//! −27·y_num = x³ + (18 − 18u)x² − 264u·x − 752(1 + u),
//! 27·y_den = 27(x³ + (18 − 18u)x² − 216u·x − 432(1 + u)).
//! The tests check the map against blst's hash to G2, which uses the appendix's values.

use crate::curve::Point;
use crate::field::{select_if_zero, times, Field, Flags, Fp2};

/// The image of the affine point (x, y) of E2' on E2, as `(X : Y : Z)`; the kernel's points
/// (a denominator 0) go to infinity.
pub fn iso_map<F: Flags>(x: &Fp2<F>, y: &Fp2<F>) -> Point<Fp2<F>> {
    // x² + (12 − 12u)x and x² + (18 − 18u)x, each shared by a numerator and a denominator.
    let p = x.add(&x.small(12, -12)).mul(x);
    let q = x.add(&x.small(18, -18)).mul(x);
    let x_num = p.add(&x.small(0, -24)).mul(x).add(&x.small(304, 304));
    let x_den = times(&p.add(&x.small(0, -72)), 9);
    let y_num_neg = q.add(&x.small(0, -264)).mul(x).add(&x.small(-752, -752));
    let y_den = times(
        &q.add(&x.small(0, -216)).mul(x).add(&x.small(-432, -432)),
        27,
    );
    // x = x_num/x_den, y·y_num/y_den = −y·y_num_neg/y_den over the common Z.
    let z = x_den.mul(&y_den);
    let infinity = Point::identity_like(x);
    Point::new(
        select_if_zero(&z, &infinity.x, &x_num.mul(&y_den)),
        select_if_zero(&z, &infinity.y, &y.mul(&y_num_neg).mul(&x_den).neg()),
        z,
    )
}
