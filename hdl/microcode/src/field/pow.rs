//! Exponentiation by exponents fixed at trace time, by sliding windows of odd powers: the
//! exponent is recoded at trace time into odd digits of at most `width` bits, so the chain of
//! squarings and multiplications is straight-line code, the same for every lane. Against
//! square and multiply (one multiplication per set bit: 228 for the field's 379–381-bit
//! exponents) a window costs one multiplication per digit (78 at width 4) plus a table of odd
//! powers (8): 461–463 multiplications per exponentiation, squarings included, instead of 605–608.

use ark_bls12_381::Fq;
use ark_ff::{BigInteger, BigInteger384, PrimeField};

use super::Field;

/// The widest window: its table holds 2^(MAX_WIDTH−1) = 8 odd powers, 8 registers of the
/// multiplier's bank for Fp (14 in the VERIFY window) and 16 of the add/sub banks for Fp2.
/// Width 5 would save 3–4 of ≈ 462 multiplications on the field's exponents, but its 16 Fp2
/// powers do not fit: DecodeG2 would need 33 registers of bank 2, which has 28.
const MAX_WIDTH: usize = 4;

/// `x^e`, `e` as little-endian 64-bit limbs (e ≠ 0), with the window width that needs the
/// fewest multiplications (squarings included).
pub fn pow_fixed<F: Field>(x: &F, e: &[u64]) -> F {
    let digits = (1..=MAX_WIDTH)
        .map(|width| recode(e, width))
        .min_by_key(|d| multiplications(d))
        .expect("a width");
    let table = odd_powers(x, max_digit(&digits));
    let (mut low, first) = digits[0];
    let mut acc = table[(first / 2) as usize].clone();
    for &(position, digit) in &digits[1..] {
        for _ in position..low {
            acc = acc.square();
        }
        acc = acc.mul(&table[(digit / 2) as usize]);
        low = position;
    }
    for _ in 0..low {
        acc = acc.square();
    }
    acc
}

/// `e` as `Σ digit · 2^position` with odd digits below `2^width` whose bit ranges do not
/// overlap, most significant first: (position of the digit's lowest bit, digit).
fn recode(e: &[u64], width: usize) -> Vec<(usize, u64)> {
    let bit = |i: usize| (e[i / 64] >> (i % 64)) & 1;
    let mut digits = Vec::new();
    let mut next = e.len() * 64;
    while next > 0 {
        let high = next - 1;
        if bit(high) == 0 {
            next = high;
            continue;
        }
        // The longest window from `high` down that ends on a set bit (so the digit is odd).
        let low = (high + 1).saturating_sub(width);
        let low = (low..=high)
            .find(|&i| bit(i) == 1)
            .expect("bit high is set");
        let digit = (low..=high).rev().fold(0, |d, i| d << 1 | bit(i));
        digits.push((low, digit));
        next = low;
    }
    assert!(!digits.is_empty(), "a non-zero exponent");
    digits
}

fn max_digit(digits: &[(usize, u64)]) -> u64 {
    digits.iter().map(|&(_, d)| d).max().expect("a digit")
}

/// Squarings, multiplications by the table and the table's own (x², then x³, x⁵, …).
fn multiplications(digits: &[(usize, u64)]) -> usize {
    let table = match max_digit(digits) {
        1 => 0,
        m => 1 + (m as usize - 1) / 2,
    };
    digits[0].0 + (digits.len() - 1) + table
}

/// `[x, x³, x⁵, …, x^max]` (`max` odd).
fn odd_powers<F: Field>(x: &F, max: u64) -> Vec<F> {
    let mut table = vec![x.clone()];
    if max > 1 {
        let x2 = x.square();
        while (table.len() as u64) * 2 < max {
            let next = table.last().expect("x").mul(&x2);
            table.push(next);
        }
    }
    table
}

/// `(p − sub) / 2^shift`, the exponents of square roots and Legendre-style tests.
pub fn p_minus(sub: u64, shift: u32) -> BigInteger384 {
    let mut e = Fq::MODULUS;
    e.sub_with_borrow(&sub.into());
    e >> shift
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The recoding is exact and its widths' costs fall from square and multiply.
    #[test]
    fn recoding_sums_back_to_the_exponent() {
        let e = p_minus(3, 2).0;
        let mut costs = Vec::new();
        for width in 1..=MAX_WIDTH {
            let digits = recode(&e, width);
            let mut sum = BigInteger384::from(0u64);
            for &(position, digit) in &digits {
                assert!(digit % 2 == 1 && digit < 1 << width);
                sum.add_with_carry(&(BigInteger384::from(digit) << position as u32));
            }
            assert_eq!(sum.0, e);
            costs.push(multiplications(&digits));
        }
        assert!(costs.windows(2).all(|c| c[1] < c[0]), "{costs:?}");
    }
}
