//! Points and scalars as the engine's stream words (one base-field element each).

use ark_bls12_381::Fq;

use crate::curve::Point;
use crate::field::{Fp12, Fp2, Fp6};

/// X, Y, Z.
pub fn g1_words(p: &Point<Fq>) -> Vec<Fq> {
    vec![p.x, p.y, p.z]
}

/// Inverse of [`g1_words`].
pub fn g1_from_words(w: &[Fq]) -> Point<Fq> {
    Point {
        x: w[0],
        y: w[1],
        z: w[2],
    }
}

/// X.c0, X.c1, Y.c0, Y.c1, Z.c0, Z.c1.
pub fn g2_words(p: &Point<Fp2<Fq>>) -> Vec<Fq> {
    vec![p.x.c0, p.x.c1, p.y.c0, p.y.c1, p.z.c0, p.z.c1]
}

/// Inverse of [`g2_words`].
pub fn g2_from_words(w: &[Fq]) -> Point<Fp2<Fq>> {
    Point {
        x: Fp2 { c0: w[0], c1: w[1] },
        y: Fp2 { c0: w[2], c1: w[3] },
        z: Fp2 { c0: w[4], c1: w[5] },
    }
}

/// A scalar as a stream word (its low 64 bits are the scalar register's value).
pub fn scalar_word(k: u64) -> Fq {
    Fq::from(k)
}

/// An Fp12 value in tower order: c0.c0.c0, c0.c0.c1, c0.c1.c0, … c1.c2.c1.
pub fn fp12_words(f: &Fp12<Fq>) -> Vec<Fq> {
    [&f.c0, &f.c1]
        .into_iter()
        .flat_map(|h| [&h.c0, &h.c1, &h.c2])
        .flat_map(|c| [c.c0, c.c1])
        .collect()
}

/// Inverse of [`fp12_words`].
pub fn fp12_from_words(w: &[Fq]) -> Fp12<Fq> {
    let fp2 = |i: usize| Fp2 {
        c0: w[2 * i],
        c1: w[2 * i + 1],
    };
    let fp6 = |i: usize| Fp6::new(fp2(3 * i), fp2(3 * i + 1), fp2(3 * i + 2));
    Fp12::new(fp6(0), fp6(1))
}
