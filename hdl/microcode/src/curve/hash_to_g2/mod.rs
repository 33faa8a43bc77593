//! Hash to G2 after hash_to_field (RFC 9380 §3, suite BLS12381G2_XMD:SHA-256_SSWU_RO_): the
//! host expands the message with SHA-256 and reduces it to u0, u1 ∈ Fp2; the engine maps each
//! to the curve (simplified SWU on the 3-isogenous curve E2', then the 3-isogeny to E2), adds
//! the two points and clears the cofactor. Straight-line code: the data-dependent choices of
//! the map (the exceptional case, is_square, the sign of y) are selects on computed flags.

mod isogeny;
mod sswu;

pub use isogeny::iso_map;
pub use sswu::{map_to_curve_sswu, SSWU_Z};

use super::{add, clear_cofactor, Point, G2};
use crate::field::{Flags, Fp2};

/// `iso_map(map_to_curve_sswu(u))`: a point of E2 (not yet in G2), projective.
pub fn map_to_g2<F: Flags>(u: &Fp2<F>) -> Point<Fp2<F>> {
    let (x, y) = map_to_curve_sswu(u);
    iso_map(&x, &y)
}

/// `clear_cofactor(map_to_g2(u0) + map_to_g2(u1))`: hash_to_curve from the field elements.
pub fn hash_to_g2<F: Flags>(u0: &Fp2<F>, u1: &Fp2<F>) -> Point<Fp2<F>> {
    sum_and_clear_cofactor(&map_to_g2(u0), &map_to_g2(u1))
}

/// `clear_cofactor(q0 + q1)`, hash to G2's last steps.
pub fn sum_and_clear_cofactor<F: Flags>(q0: &Point<Fp2<F>>, q1: &Point<Fp2<F>>) -> Point<Fp2<F>> {
    clear_cofactor(&add::<_, G2>(q0, q1))
}
