//! Fp and Fp2 across the boundary, on blst's fixed-width field: six 64-bit limbs in Montgomery
//! form with R = 2^384, the device's own R, so a coordinate converts with one Montgomery
//! multiplication and no allocation (a big-integer conversion cost tens of µs per point), and a
//! projective result is normalised with one inversion. The tests check every conversion
//! against arkworks, an independent implementation.

use std::sync::LazyLock;

use blst::{
    blst_bendian_from_fp, blst_fp, blst_fp2, blst_fp2_inverse, blst_fp2_mul, blst_fp2_sqr,
    blst_fp2_sub, blst_fp_cneg, blst_fp_from_bendian, blst_fp_inverse, blst_fp_mul,
};
use tollgate_abi::{FP_BYTES, FP_WORDS, MONT_R_LOG2, P_WORDS};

use super::CodecError;

// The device's Montgomery words are blst's limbs, two 32-bit words per limb, low first.
const _: () = assert!(MONT_R_LOG2 == 384 && FP_WORDS == 12 && FP_BYTES == 48);

/// Whether little-endian words are below p, compared from the most significant word down.
fn below_p(words: &[u32; FP_WORDS]) -> bool {
    for (w, p) in words.iter().rev().zip(P_WORDS.iter().rev()) {
        if w != p {
            return w < p;
        }
    }
    false
}

/// An element of Fp, held in blst's Montgomery form (fully reduced).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fp(blst_fp);

impl Fp {
    pub fn zero() -> Fp {
        Fp(blst_fp::default())
    }

    /// A coordinate of a blst point: already fully reduced Montgomery form.
    pub fn from_blst(value: blst_fp) -> Fp {
        Fp(value)
    }

    /// blst's value.
    pub fn blst(self) -> blst_fp {
        self.0
    }

    /// 1 (R mod p), converted once: it is the Z of every point the host encodes.
    pub fn one() -> Fp {
        static ONE: LazyLock<Fp> = LazyLock::new(|| {
            let mut one = [0u8; 48];
            one[47] = 1;
            Fp::from_be(&one).expect("1 < p")
        });
        *ONE
    }

    /// From a canonical big-endian encoding, refusing one that is not below p.
    pub fn from_be(bytes: &[u8; 48]) -> Result<Fp, CodecError> {
        let mut words = [0u32; FP_WORDS];
        for (word, chunk) in words.iter_mut().zip(bytes.rchunks_exact(4)) {
            *word = u32::from_be_bytes(chunk.try_into().expect("4 bytes"));
        }
        if !below_p(&words) {
            return Err(CodecError::NotReduced);
        }
        let mut fp = blst_fp::default();
        // SAFETY: `bytes` holds the 48 bytes blst reads; `fp` is a valid output.
        unsafe { blst_fp_from_bendian(&mut fp, bytes.as_ptr()) };
        Ok(Fp(fp))
    }

    pub fn to_be(self) -> [u8; 48] {
        let mut out = [0u8; 48];
        // SAFETY: `out` has the 48 bytes blst writes.
        unsafe { blst_bendian_from_fp(out.as_mut_ptr(), &self.0) };
        out
    }

    /// From the device's Montgomery words `a·R`, checking they are fully reduced.
    pub fn from_mont_words(words: &[u32]) -> Result<Fp, CodecError> {
        super::check_len(words.len(), FP_WORDS, "words")?;
        let words: &[u32; FP_WORDS] = words.try_into().expect("length checked");
        if !below_p(words) {
            return Err(CodecError::NotReduced);
        }
        let mut fp = blst_fp::default();
        for (limb, pair) in fp.l.iter_mut().zip(words.chunks_exact(2)) {
            *limb = u64::from(pair[0]) | u64::from(pair[1]) << 32;
        }
        Ok(Fp(fp))
    }

    /// To the device's Montgomery words `a·R mod p`.
    pub fn to_mont_words(self) -> [u32; FP_WORDS] {
        let mut out = [0u32; FP_WORDS];
        for (pair, limb) in out.chunks_exact_mut(2).zip(self.0.l) {
            pair[0] = limb as u32;
            pair[1] = (limb >> 32) as u32;
        }
        out
    }

    pub fn is_zero(&self) -> bool {
        self.0 == blst_fp::default()
    }

    pub fn mul(&self, other: &Fp) -> Fp {
        let mut product = blst_fp::default();
        // SAFETY: valid field elements in and out.
        unsafe { blst_fp_mul(&mut product, &self.0, &other.0) };
        Fp(product)
    }

    /// −a.
    pub fn neg(&self) -> Fp {
        let mut negated = blst_fp::default();
        // SAFETY: valid field elements in and out.
        unsafe { blst_fp_cneg(&mut negated, &self.0, true) };
        Fp(negated)
    }

    /// `None` for zero.
    pub fn inverse(&self) -> Option<Fp> {
        (!self.is_zero()).then(|| {
            let mut inverse = blst_fp::default();
            // SAFETY: valid field elements in and out.
            unsafe { blst_fp_inverse(&mut inverse, &self.0) };
            Fp(inverse)
        })
    }
}

/// An element c0 + c1·u of Fp2 = Fp[u]/(u² + 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fp2 {
    pub c0: Fp,
    pub c1: Fp,
}

impl Fp2 {
    /// From the device's 24 words, c0 then c1, checking both are fully reduced.
    pub fn from_mont_words(words: &[u32]) -> Result<Fp2, CodecError> {
        super::check_len(words.len(), 2 * FP_WORDS, "words")?;
        Ok(Fp2 {
            c0: Fp::from_mont_words(&words[..FP_WORDS])?,
            c1: Fp::from_mont_words(&words[FP_WORDS..])?,
        })
    }

    pub fn zero() -> Fp2 {
        Fp2 {
            c0: Fp::zero(),
            c1: Fp::zero(),
        }
    }

    pub fn one() -> Fp2 {
        Fp2 {
            c0: Fp::one(),
            c1: Fp::zero(),
        }
    }

    pub fn is_zero(&self) -> bool {
        self.c0.is_zero() && self.c1.is_zero()
    }

    pub fn blst(&self) -> blst_fp2 {
        blst_fp2 {
            fp: [self.c0.0, self.c1.0],
        }
    }

    pub fn from_blst(value: blst_fp2) -> Fp2 {
        Fp2 {
            c0: Fp(value.fp[0]),
            c1: Fp(value.fp[1]),
        }
    }

    pub fn mul(&self, other: &Fp2) -> Fp2 {
        let mut product = blst_fp2::default();
        // SAFETY: valid field elements in and out.
        unsafe { blst_fp2_mul(&mut product, &self.blst(), &other.blst()) };
        Fp2::from_blst(product)
    }

    pub fn sub(&self, other: &Fp2) -> Fp2 {
        let mut difference = blst_fp2::default();
        // SAFETY: valid field elements in and out.
        unsafe { blst_fp2_sub(&mut difference, &self.blst(), &other.blst()) };
        Fp2::from_blst(difference)
    }

    pub fn square(&self) -> Fp2 {
        let mut square = blst_fp2::default();
        // SAFETY: valid field elements in and out.
        unsafe { blst_fp2_sqr(&mut square, &self.blst()) };
        Fp2::from_blst(square)
    }

    /// −a.
    pub fn neg(&self) -> Fp2 {
        Fp2 {
            c0: self.c0.neg(),
            c1: self.c1.neg(),
        }
    }

    /// Whether a is the larger of a and −a in the Zcash order (c1 first, then c0, as
    /// integers): what the sort flag of a compressed point says of its y.
    pub fn is_lexicographically_largest(&self) -> bool {
        /// (p − 1)/2 big-endian: a > p − a as integers iff a > (p − 1)/2, one conversion
        /// out of Montgomery form where comparing a with −a took two.
        static HALF_P: LazyLock<[u8; FP_BYTES]> = LazyLock::new(|| {
            let mut half = [0u8; FP_BYTES];
            for (i, chunk) in half.chunks_exact_mut(4).enumerate() {
                // Word FP_WORDS − 1 − i of p >> 1 (p is odd): the next higher word's low bit on top.
                let word = FP_WORDS - 1 - i;
                let carry = P_WORDS.get(word + 1).map_or(0, |w| w & 1);
                chunk.copy_from_slice(&(P_WORDS[word] >> 1 | carry << 31).to_be_bytes());
            }
            half
        });
        let a = if self.c1.is_zero() { self.c0 } else { self.c1 };
        a.to_be() > *HALF_P
    }

    /// `None` for zero.
    pub fn inverse(&self) -> Option<Fp2> {
        (!self.is_zero()).then(|| {
            let mut inverse = blst_fp2::default();
            // SAFETY: valid field elements in and out.
            unsafe { blst_fp2_inverse(&mut inverse, &self.blst()) };
            Fp2::from_blst(inverse)
        })
    }
}

/// What Montgomery's batch inversion needs of a field ([`super::normalise`]).
pub trait Field: Copy {
    fn one() -> Self;
    fn is_zero(&self) -> bool;
    fn mul(&self, other: &Self) -> Self;
    /// `None` for zero.
    fn inverse(&self) -> Option<Self>;
}

impl Field for Fp {
    fn one() -> Fp {
        Fp::one()
    }
    fn is_zero(&self) -> bool {
        Fp::is_zero(self)
    }
    fn mul(&self, other: &Fp) -> Fp {
        Fp::mul(self, other)
    }
    fn inverse(&self) -> Option<Fp> {
        Fp::inverse(self)
    }
}

impl Field for Fp2 {
    fn one() -> Fp2 {
        Fp2::one()
    }
    fn is_zero(&self) -> bool {
        Fp2::is_zero(self)
    }
    fn mul(&self, other: &Fp2) -> Fp2 {
        Fp2::mul(self, other)
    }
    fn inverse(&self) -> Option<Fp2> {
        Fp2::inverse(self)
    }
}
