//! Exponentiation by exponents fixed at trace time (square and multiply, left to right): the
//! chain of squarings and multiplications is straight-line code, the same for every lane.

use ark_bls12_381::Fq;
use ark_ff::{BigInteger, BigInteger384, PrimeField};

use super::Field;

/// `x^e`, `e` as little-endian 64-bit limbs (e ≠ 0).
pub fn pow_fixed<F: Field>(x: &F, e: &[u64]) -> F {
    let bits = e.len() * 64;
    let top = (0..bits)
        .rev()
        .find(|&i| (e[i / 64] >> (i % 64)) & 1 == 1)
        .expect("a non-zero exponent");
    let mut acc = x.clone();
    for i in (0..top).rev() {
        acc = acc.square();
        if (e[i / 64] >> (i % 64)) & 1 == 1 {
            acc = acc.mul(x);
        }
    }
    acc
}

/// `(p − sub) / 2^shift`, the exponents of square roots and Legendre-style tests.
pub fn p_minus(sub: u64, shift: u32) -> BigInteger384 {
    let mut e = Fq::MODULUS;
    e.sub_with_borrow(&sub.into());
    e >> shift
}
