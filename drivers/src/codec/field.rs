//! Just enough Fp/Fp2 arithmetic (on big integers) to move elements across the boundary:
//! Montgomery conversion and the inverse that normalises projective results. Not a hot path:
//! one inversion per device result.

use std::sync::OnceLock;

use num_bigint::BigUint;
use tollgate_abi::{FP_WORDS, MONT_R_LOG2, P_WORDS};

use super::CodecError;

struct Constants {
    p: BigUint,
    r: BigUint,
    r_inv: BigUint,
    p_minus_2: BigUint,
}

fn constants() -> &'static Constants {
    static CONSTANTS: OnceLock<Constants> = OnceLock::new();
    CONSTANTS.get_or_init(|| {
        let p = BigUint::from_slice(&P_WORDS);
        let p_minus_2 = &p - 2u32;
        let r = (BigUint::from(1u32) << MONT_R_LOG2) % &p;
        let r_inv = r.modpow(&p_minus_2, &p);
        Constants {
            p,
            r,
            r_inv,
            p_minus_2,
        }
    })
}

/// The base field modulus p.
pub fn modulus() -> BigUint {
    constants().p.clone()
}

/// An element of Fp in canonical (not Montgomery) form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fp(BigUint);

impl Fp {
    pub fn zero() -> Fp {
        Fp(BigUint::from(0u32))
    }

    pub fn one() -> Fp {
        Fp(BigUint::from(1u32))
    }

    fn checked(value: BigUint) -> Result<Fp, CodecError> {
        if value < constants().p {
            Ok(Fp(value))
        } else {
            Err(CodecError::NotReduced)
        }
    }

    pub fn from_be(bytes: &[u8; 48]) -> Result<Fp, CodecError> {
        Fp::checked(BigUint::from_bytes_be(bytes))
    }

    pub fn to_be(&self) -> [u8; 48] {
        let digits = self.0.to_bytes_be();
        let mut out = [0u8; 48];
        out[48 - digits.len()..].copy_from_slice(&digits);
        out
    }

    /// From the device's Montgomery words `a·R`, checking they are fully reduced.
    pub fn from_mont_words(words: &[u32]) -> Result<Fp, CodecError> {
        let mont = Fp::checked(BigUint::from_slice(words))?;
        Ok(Fp(mont.0 * &constants().r_inv % &constants().p))
    }

    /// To the device's Montgomery words `a·R mod p`.
    pub fn to_mont_words(&self) -> [u32; FP_WORDS] {
        let mont = &self.0 * &constants().r % &constants().p;
        let mut out = [0u32; FP_WORDS];
        for (slot, digit) in out.iter_mut().zip(mont.to_u32_digits()) {
            *slot = digit;
        }
        out
    }

    pub fn is_zero(&self) -> bool {
        self.0 == BigUint::from(0u32)
    }

    pub fn add(&self, other: &Fp) -> Fp {
        Fp((&self.0 + &other.0) % &constants().p)
    }

    pub fn sub(&self, other: &Fp) -> Fp {
        Fp((&self.0 + &constants().p - &other.0) % &constants().p)
    }

    pub fn mul(&self, other: &Fp) -> Fp {
        Fp(&self.0 * &other.0 % &constants().p)
    }

    /// `None` for zero.
    pub fn inverse(&self) -> Option<Fp> {
        (!self.is_zero()).then(|| Fp(self.0.modpow(&constants().p_minus_2, &constants().p)))
    }
}

/// An element c0 + c1·u of Fp2 = Fp[u]/(u² + 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fp2 {
    pub c0: Fp,
    pub c1: Fp,
}

impl Fp2 {
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

    pub fn mul(&self, other: &Fp2) -> Fp2 {
        let ac = self.c0.mul(&other.c0);
        let bd = self.c1.mul(&other.c1);
        let ad = self.c0.mul(&other.c1);
        let bc = self.c1.mul(&other.c0);
        Fp2 {
            c0: ac.sub(&bd),
            c1: ad.add(&bc),
        }
    }

    /// `(a + bu)⁻¹ = (a − bu)/(a² + b²)`; `None` for zero.
    pub fn inverse(&self) -> Option<Fp2> {
        let norm = self.c0.mul(&self.c0).add(&self.c1.mul(&self.c1));
        let norm_inv = norm.inverse()?;
        Some(Fp2 {
            c0: self.c0.mul(&norm_inv),
            c1: Fp::zero().sub(&self.c1).mul(&norm_inv),
        })
    }
}
