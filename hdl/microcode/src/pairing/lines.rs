//! The Miller loop's steps in homogeneous projective coordinates on the twist (Costello–Lange–
//! Naehrig), each returning the new T and the line through the old one, and the sparse product
//! of a line evaluated at P with the accumulator.

use super::G1Affine;
use super::G2Affine;
use crate::curve::{Curve, Point, G2};
use crate::field::{Field, Fp12, Fp2};

/// A line of the M-type twist before evaluation at P: ℓ(P) = c0 + (c1·x_P)·v + (c4·y_P)·v·w.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line<F> {
    /// The constant coefficient.
    pub c0: Fp2<F>,
    /// The coefficient multiplied by x_P.
    pub c1: Fp2<F>,
    /// The coefficient multiplied by y_P.
    pub c4: Fp2<F>,
}

impl<F: Field> Line<F> {
    /// `f · ℓ(P)`: four base multiplications to evaluate, then the 014-sparse product.
    pub fn multiply_into(&self, f: &Fp12<F>, p: &G1Affine<F>) -> Fp12<F> {
        f.mul_by_014(
            &self.c0,
            &self.c1.mul_by_base(&p.x),
            &self.c4.mul_by_base(&p.y),
        )
    }
}

/// `(4·2T, tangent at T)`. The 4 (an Fp scalar, so the same projective point) replaces two
/// halvings: 2·(XY)·(B − F), (B + F)² − 12E², 4·B·H.
pub fn double_step<F: Field>(t: &Point<Fp2<F>>) -> (Point<Fp2<F>>, Line<F>) {
    let a = t.x.mul(&t.y);
    let b = t.y.square();
    let c = t.z.square();
    let e = <G2 as Curve<Fp2<F>>>::mul_b3(&c);
    let f = e.double().add(&e);
    let g = b.add(&f);
    let h = t.y.add(&t.z).square().sub(&b.add(&c));
    let i = e.sub(&b);
    let j = t.x.square();
    let e2 = e.square();
    let x = a.mul(&b.sub(&f)).double();
    let y = g.square().sub(&e2.double().add(&e2).double().double());
    let z = b.mul(&h).double().double();
    let line = Line {
        c0: i,
        c1: j.double().add(&j),
        c4: h.neg(),
    };
    (Point::new(x, y, z), line)
}

/// `(T + Q, line through T and Q)` for Q affine (mixed addition).
pub fn add_step<F: Field>(t: &Point<Fp2<F>>, q: &G2Affine<F>) -> (Point<Fp2<F>>, Line<F>) {
    let theta = t.y.sub(&q.y.mul(&t.z));
    let lambda = t.x.sub(&q.x.mul(&t.z));
    let c = theta.square();
    let d = lambda.square();
    let e = lambda.mul(&d);
    let f = t.z.mul(&c);
    let g = t.x.mul(&d);
    let h = e.add(&f).sub(&g.double());
    let x = lambda.mul(&h);
    let y = theta.mul(&g.sub(&h)).sub(&e.mul(&t.y));
    let z = t.z.mul(&e);
    let line = Line {
        c0: theta.mul(&q.x).sub(&lambda.mul(&q.y)),
        c1: theta.neg(),
        c4: lambda,
    };
    (Point::new(x, y, z), line)
}
