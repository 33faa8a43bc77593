//! Data-dependent choices without branches: a base-field value sets a one-bit flag (is it 0,
//! the parity of its canonical integer), and [`Field::select`] switches on the flag. Every
//! lane still runs the same instructions; only the values moved differ. Boolean combinations
//! of flags (sgn0 of an Fp2 value, "both coefficients 0") are nested selects, which cost
//! add/sub-unit slots only.

use super::{Constant, Field, Fp2};

/// The predicates the engine evaluates on a base-field value's register image.
pub trait Flags: Field {
    /// Set exactly when the value is 0.
    fn is_zero_flag(&self) -> Self::Bit;
    /// Bit 0 of the register image, the canonical Montgomery form `value·R mod p`.
    fn image_lsb_flag(&self) -> Self::Bit;
}

/// sgn0 of a base-field value (RFC 9380 §4.1): the parity of its canonical integer. The
/// product by R⁻¹ has the integer itself as its register image (one multiplication).
pub fn parity<F: Flags>(x: &F) -> F::Bit {
    x.mul(&x.constant(Constant::MontgomeryInverse))
        .image_lsb_flag()
}

/// `if_zero` when `x = 0`, else `otherwise` (two flags, two selects per base value).
pub fn select_if_zero<F: Flags, T: Field<Bit = F::Bit>>(
    x: &Fp2<F>,
    if_zero: &T,
    otherwise: &T,
) -> T {
    let (z0, z1) = (x.c0.is_zero_flag(), x.c1.is_zero_flag());
    T::select(&z0, &T::select(&z1, if_zero, otherwise), otherwise)
}

/// `if_set` when sgn0(x) = 1, else `if_clear`, with sgn0(c0 + c1·u) = sgn0(c0) OR (c0 = 0 AND
/// sgn0(c1)) (RFC 9380 §4.1, m = 2).
pub fn select_by_sgn0<F: Flags, T: Field<Bit = F::Bit>>(x: &Fp2<F>, if_set: &T, if_clear: &T) -> T {
    let by_c1 = T::select(&parity(&x.c1), if_set, if_clear);
    let by_zero_c0 = T::select(&x.c0.is_zero_flag(), &by_c1, if_clear);
    T::select(&parity(&x.c0), if_set, &by_zero_c0)
}
