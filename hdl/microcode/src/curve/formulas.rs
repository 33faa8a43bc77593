//! Complete addition and doubling for a = 0 (Renes–Costello–Batina 2016, algorithms 7 and 9).
//! Complete: no input (infinity, P + P, P + (−P)) needs a branch, which is what lets every lane
//! run the same straight-line microcode.

use super::{Curve, Point};
use crate::field::Field;

/// `p + q` for any two points (algorithm 7: 12 multiplications, 2 by 3b, 19 add/subs).
pub fn add<F: Field, C: Curve<F>>(p: &Point<F>, q: &Point<F>) -> Point<F> {
    let t0 = p.x.mul(&q.x);
    let t1 = p.y.mul(&q.y);
    let t2 = p.z.mul(&q.z);
    let t3 = p.x.add(&p.y).mul(&q.x.add(&q.y));
    let t3 = t3.sub(&t0.add(&t1));
    let t4 = p.y.add(&p.z).mul(&q.y.add(&q.z));
    let t4 = t4.sub(&t1.add(&t2));
    let x3 = p.x.add(&p.z).mul(&q.x.add(&q.z));
    let y3 = x3.sub(&t0.add(&t2));
    let x3 = t0.double();
    let t0 = x3.add(&t0);
    let t2 = C::mul_b3(&t2);
    let z3 = t1.add(&t2);
    let t1 = t1.sub(&t2);
    let y3 = C::mul_b3(&y3);
    let x3 = t4.mul(&y3);
    let t2 = t3.mul(&t1);
    let x3 = t2.sub(&x3);
    let y3 = y3.mul(&t0);
    let t1 = t1.mul(&z3);
    let y3 = t1.add(&y3);
    let t0 = t0.mul(&t3);
    let z3 = z3.mul(&t4);
    let z3 = z3.add(&t0);
    Point::new(x3, y3, z3)
}

/// `2p` for any point (algorithm 9: 6 multiplications, 2 squarings, 1 by 3b).
pub fn double<F: Field, C: Curve<F>>(p: &Point<F>) -> Point<F> {
    let t0 = p.y.square();
    let z3 = t0.double().double().double();
    let t1 = p.y.mul(&p.z);
    let t2 = C::mul_b3(&p.z.square());
    let x3 = t2.mul(&z3);
    let y3 = t0.add(&t2);
    let z3 = t1.mul(&z3);
    let t2 = t2.double().add(&t2);
    let t0 = t0.sub(&t2);
    let y3 = t0.mul(&y3);
    let y3 = x3.add(&y3);
    let t1 = p.x.mul(&p.y);
    let x3 = t0.mul(&t1).double();
    Point::new(x3, y3, z3)
}
