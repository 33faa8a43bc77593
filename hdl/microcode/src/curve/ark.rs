//! Conversions between our projective points on arkworks fields and arkworks' own group types
//! (which use Jacobian coordinates internally, so everything goes through affine).

use ark_bls12_381::{Fq, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{Field as _, One, Zero};

use super::Point;
use crate::field::{fp2_from_ark, fp2_to_ark, Fp2};

/// Affine (or infinity) into `(x : y : 1)` / `(0 : 1 : 0)`, as the host sends points.
pub fn g1_from_ark(p: &G1Projective) -> Point<Fq> {
    let a = p.into_affine();
    match a.xy() {
        Some((x, y)) => Point { x, y, z: Fq::one() },
        None => Point {
            x: Fq::zero(),
            y: Fq::one(),
            z: Fq::zero(),
        },
    }
}

/// Normalises `(X : Y : Z)` to arkworks' point; `Z = 0` is infinity.
pub fn g1_to_ark(p: &Point<Fq>) -> G1Projective {
    match p.z.inverse() {
        Some(zi) => G1Affine::new_unchecked(p.x * zi, p.y * zi).into(),
        None => G1Projective::zero(),
    }
}

/// Affine (or infinity) into `(x : y : 1)` / `(0 : 1 : 0)` over Fp2.
pub fn g2_from_ark(p: &G2Projective) -> Point<Fp2<Fq>> {
    let a = p.into_affine();
    let (x, y, z) = match a.xy() {
        Some((x, y)) => (x, y, ark_bls12_381::Fq2::one()),
        None => (
            ark_bls12_381::Fq2::zero(),
            ark_bls12_381::Fq2::one(),
            ark_bls12_381::Fq2::zero(),
        ),
    };
    Point {
        x: fp2_from_ark(&x),
        y: fp2_from_ark(&y),
        z: fp2_from_ark(&z),
    }
}

/// Normalises `(X : Y : Z)` over Fp2 to arkworks' point; `Z = 0` is infinity.
pub fn g2_to_ark(p: &Point<Fp2<Fq>>) -> G2Projective {
    match fp2_to_ark(&p.z).inverse() {
        Some(zi) => G2Affine::new_unchecked(fp2_to_ark(&p.x) * zi, fp2_to_ark(&p.y) * zi).into(),
        None => G2Projective::zero(),
    }
}
