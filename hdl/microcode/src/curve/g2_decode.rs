//! Decoding a compressed G2 point (a signature) on the engine: the host has checked the flag
//! bits, the length and x < p, and sends x; the engine returns a root y of x³ + b and two
//! residues that are 0 exactly when the point is valid. The host then only compares words
//! with 0 and picks the sign (the lexicographic sign of y needs the canonical integer form,
//! which the datapath does not have; negating y does not change either verdict).

use super::{subgroup_residue, Point};
use crate::field::{sqrt, Field, Flags, Fp2};

/// What the engine reports for one x.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodedG2<F> {
    /// A square root of x³ + b (meaningless when `curve_residue` ≠ 0).
    pub y: Fp2<F>,
    /// y² − (x³ + b): 0 iff x is the abscissa of a point of the twist.
    pub curve_residue: Fp2<F>,
    /// Z of ψ(P) + [|x|]P for P = (x, y): 0 iff P is in G2 (when on the curve).
    pub subgroup_residue: Fp2<F>,
}

/// Recovers y from x and computes both residues.
pub fn decode_g2<F: Flags>(x: &Fp2<F>) -> DecodedG2<F> {
    // b = 4(1 + u).
    let b = x.one().double().double().mul_by_nonresidue();
    let rhs = x.square().mul(x).add(&b);
    let y = sqrt(&rhs);
    let curve_residue = y.square().sub(&rhs);
    let subgroup_residue = subgroup_residue(&Point::new(x.clone(), y.clone(), x.one()));
    DecodedG2 {
        y,
        curve_residue,
        subgroup_residue,
    }
}
