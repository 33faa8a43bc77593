//! The optimal-ate Miller loop of BLS12-381 (min_pk: P in G1, Q in G2, M-type twist), written
//! once over [`Field`] like the curve formulas: on arkworks it is the golden model, traced it is
//! the engine's program.
//!
//! Every lane runs the same straight-line code, so the loop has no data-dependent branch: the
//! inputs are affine points that are not infinity (the host never sends infinity: KeyValidate
//! rejects it for keys and hash-to-curve never yields it). Several pairs share the squarings of
//! one accumulator ([`miller_product`] over a slice), which is what a lane does with the pairs
//! of one body run.
//!
//! The result equals arkworks' `multi_miller_loop` up to factors in proper subfields, which
//! the final exponentiation maps to 1: the doubling step works on 4·T (it skips arkworks'
//! halvings, which would cost a constant the datapath does not have), so every line is scaled
//! by an Fp factor.

mod lines;

pub use lines::{add_step, double_step, Line};

use crate::field::{Field, Fp12, Fp2, Fp6};

/// |x|, the BLS12-381 parameter (x itself is negative); the loop runs over its bits.
pub const X_ABS: u64 = 0xd201_0000_0001_0000;

/// An affine point over Fp (P of a pair).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct G1Affine<F> {
    /// x.
    pub x: F,
    /// y.
    pub y: F,
}

/// An affine point over Fp2 (Q of a pair).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct G2Affine<F> {
    /// x.
    pub x: Fp2<F>,
    /// y.
    pub y: Fp2<F>,
}

/// The Miller product of `pairs` before the final conjugation that accounts for x < 0
/// (conjugation commutes with products, so a lane folds body runs with this and conjugates
/// once at the end). Panics on an empty slice.
pub fn miller_product<F: Field>(pairs: &[(G1Affine<F>, G2Affine<F>)]) -> Fp12<F> {
    let anchor = &pairs.first().expect("at least one pair").0.x;
    let f2 = Fp2::new(anchor.clone(), anchor.clone());
    let f6 = Fp6::new(f2.clone(), f2.clone(), f2.clone());
    let mut f = Fp12::new(f6.clone(), f6).one();
    let mut ts: Vec<_> = pairs
        .iter()
        .map(|(_, q)| crate::curve::Point::new(q.x.clone(), q.y.clone(), f2.one()))
        .collect();
    // The top bit is the starting point T = Q; the first squaring of f = 1 folds away when
    // traced.
    for bit in (0..63).rev() {
        f = f.square();
        for ((p, _), t) in pairs.iter().zip(ts.iter_mut()) {
            let (next, line) = double_step(t);
            *t = next;
            f = line.multiply_into(&f, p);
        }
        if (X_ABS >> bit) & 1 == 1 {
            for ((p, q), t) in pairs.iter().zip(ts.iter_mut()) {
                let (next, line) = add_step(t, q);
                *t = next;
                f = line.multiply_into(&f, p);
            }
        }
    }
    f
}

/// The multi-Miller loop Π f_{x,Qᵢ}(Pᵢ), conjugated for x < 0 as arkworks does.
pub fn multi_miller_loop<F: Field>(pairs: &[(G1Affine<F>, G2Affine<F>)]) -> Fp12<F> {
    miller_product(pairs).conjugate()
}
