//! Signing side of the ciphersuites: key generation, signatures and proofs of possession.
//!
//! The service only verifies; this module exists so that the client tools and the tests can
//! produce real signed items for every suite. A secret key is a scalar of BLS12-381, the same
//! for both variants; the variant decides which group holds the public key and which the
//! signature. Encodings are the compressed ones the API carries.

use blst::BLST_ERROR;
use rand_core::{OsRng, RngCore};

use crate::suite::{Scheme, Suite, Variant};

/// Why a secret key could not be made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignerError {
    /// KeyGen needs at least 32 bytes of input keying material (draft-irtf-cfrg-bls-signature §2.3).
    #[error("input keying material is {0} bytes, at least 32 are required")]
    ShortIkm(usize),
    /// A serialized secret key is 32 big-endian bytes of a scalar in 1..r-1.
    #[error("secret key must be 32 bytes, got {0}")]
    BadSecretKeyLength(usize),
    /// Zero, or not below the group order r.
    #[error("secret key is not a scalar in 1..r-1")]
    SecretKeyOutOfRange,
    /// The operating system's random source failed.
    #[error("OS random source failed: {0}")]
    Rng(String),
}

/// A BLS12-381 secret key (zeroized on drop by blst).
#[derive(Clone)]
pub struct SecretKey {
    // min_pk's and min_sig's secret keys are the same scalar; one is kept and the other
    // made from its bytes when needed.
    inner: blst::min_pk::SecretKey,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the scalar: keys end up in logs through Debug otherwise.
        f.write_str("SecretKey(..)")
    }
}

impl SecretKey {
    /// KeyGen on 32 bytes from the OS CSPRNG.
    pub fn generate() -> Result<Self, SignerError> {
        let mut ikm = [0u8; 32];
        OsRng
            .try_fill_bytes(&mut ikm)
            .map_err(|e| SignerError::Rng(e.to_string()))?;
        let key = Self::from_ikm(&ikm);
        ikm.fill(0);
        key
    }

    /// KeyGen (draft-irtf-cfrg-bls-signature-05 §2.3) on the given input keying material,
    /// with an empty key_info: deterministic, so tests and `tollgate keygen --ikm-file` reproduce keys.
    pub fn from_ikm(ikm: &[u8]) -> Result<Self, SignerError> {
        if ikm.len() < 32 {
            return Err(SignerError::ShortIkm(ikm.len()));
        }
        let inner = blst::min_pk::SecretKey::key_gen(ikm, &[])
            .map_err(|_| SignerError::ShortIkm(ikm.len()))?;
        Ok(Self { inner })
    }

    /// Parses the 32-byte big-endian serialization; rejects zero and scalars ≥ r.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SignerError> {
        if bytes.len() != 32 {
            return Err(SignerError::BadSecretKeyLength(bytes.len()));
        }
        match blst::min_pk::SecretKey::from_bytes(bytes) {
            Ok(inner) => Ok(Self { inner }),
            Err(BLST_ERROR::BLST_BAD_ENCODING) => Err(SignerError::SecretKeyOutOfRange),
            Err(_) => Err(SignerError::SecretKeyOutOfRange),
        }
    }

    /// The 32-byte big-endian serialization.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.inner.to_bytes()
    }

    fn min_sig(&self) -> blst::min_sig::SecretKey {
        // Cannot fail: the bytes come from a valid scalar.
        blst::min_sig::SecretKey::from_bytes(&self.inner.to_bytes())
            .unwrap_or_else(|_| unreachable!("a valid min_pk secret key is a valid min_sig one"))
    }

    /// SkToPk: the compressed public key (48 bytes for min_pk, 96 for min_sig).
    pub fn public_key(&self, variant: Variant) -> Vec<u8> {
        match variant {
            Variant::MinPk => self.inner.sk_to_pk().compress().to_vec(),
            Variant::MinSig => self.min_sig().sk_to_pk().compress().to_vec(),
        }
    }

    /// Sign under `suite`: the suite's DST, and for AUG the compressed public key prepended
    /// to the message (§3.2.1). Returns the compressed signature.
    pub fn sign(&self, suite: Suite, message: &[u8]) -> Vec<u8> {
        let dst = suite.dst();
        match suite.variant {
            Variant::MinPk => {
                let aug = match suite.scheme {
                    Scheme::Aug => self.inner.sk_to_pk().compress().to_vec(),
                    Scheme::Basic | Scheme::Pop => Vec::new(),
                };
                self.inner.sign(message, dst, &aug).compress().to_vec()
            }
            Variant::MinSig => {
                let sk = self.min_sig();
                let aug = match suite.scheme {
                    Scheme::Aug => sk.sk_to_pk().compress().to_vec(),
                    Scheme::Basic | Scheme::Pop => Vec::new(),
                };
                sk.sign(message, dst, &aug).compress().to_vec()
            }
        }
    }

    /// PopProve (§3.3.2): a signature over the compressed public key under the POP tag.
    pub fn prove_possession(&self, variant: Variant) -> Vec<u8> {
        let suite = Suite::new(Scheme::Pop, variant);
        let dst = suite.pop_dst();
        match variant {
            Variant::MinPk => {
                let pk = self.inner.sk_to_pk().compress();
                self.inner.sign(&pk, dst, &[]).compress().to_vec()
            }
            Variant::MinSig => {
                let sk = self.min_sig();
                let pk = sk.sk_to_pk().compress();
                sk.sign(&pk, dst, &[]).compress().to_vec()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_SUITES: [Suite; 6] = [
        Suite::new(Scheme::Basic, Variant::MinPk),
        Suite::new(Scheme::Aug, Variant::MinPk),
        Suite::new(Scheme::Pop, Variant::MinPk),
        Suite::new(Scheme::Basic, Variant::MinSig),
        Suite::new(Scheme::Aug, Variant::MinSig),
        Suite::new(Scheme::Pop, Variant::MinSig),
    ];

    fn key(seed: u8) -> SecretKey {
        SecretKey::from_ikm(&[seed; 32]).expect("32-byte ikm")
    }

    /// Verifies with blst directly, building the augmented message by hand (pk ‖ msg) rather
    /// than through blst's aug argument, so the AUG convention of `sign` is checked.
    fn blst_verifies(suite: Suite, pk: &[u8], msg: &[u8], sig: &[u8]) -> bool {
        let mut full = Vec::new();
        if suite.scheme == Scheme::Aug {
            full.extend_from_slice(pk);
        }
        full.extend_from_slice(msg);
        match suite.variant {
            Variant::MinPk => {
                let pk = blst::min_pk::PublicKey::key_validate(pk).expect("valid pk");
                let sig = blst::min_pk::Signature::sig_validate(sig, true).expect("valid sig");
                sig.verify(true, &full, suite.dst(), &[], &pk, true) == BLST_ERROR::BLST_SUCCESS
            }
            Variant::MinSig => {
                let pk = blst::min_sig::PublicKey::key_validate(pk).expect("valid pk");
                let sig = blst::min_sig::Signature::sig_validate(sig, true).expect("valid sig");
                sig.verify(true, &full, suite.dst(), &[], &pk, true) == BLST_ERROR::BLST_SUCCESS
            }
        }
    }

    #[test]
    fn every_suite_signs_verifiably_with_the_right_lengths() {
        let sk = key(7);
        for suite in ALL_SUITES {
            let pk = sk.public_key(suite.variant);
            let sig = sk.sign(suite, b"toll at gate 4");
            assert_eq!(pk.len(), suite.variant.public_key_len(), "{suite:?}");
            assert_eq!(sig.len(), suite.variant.signature_len(), "{suite:?}");
            assert!(
                blst_verifies(suite, &pk, b"toll at gate 4", &sig),
                "{suite:?}"
            );
            assert!(
                !blst_verifies(suite, &pk, b"toll at gate 5", &sig),
                "{suite:?}"
            );
        }
    }

    #[test]
    fn suites_produce_distinct_signatures() {
        // Each suite must use its own DST (and AUG its prefix): no two suites of a variant agree.
        let sk = key(9);
        for variant in [Variant::MinPk, Variant::MinSig] {
            let sigs: Vec<Vec<u8>> = [Scheme::Basic, Scheme::Aug, Scheme::Pop]
                .into_iter()
                .map(|scheme| sk.sign(Suite::new(scheme, variant), b"m"))
                .collect();
            assert_ne!(sigs[0], sigs[1]);
            assert_ne!(sigs[0], sigs[2]);
            assert_ne!(sigs[1], sigs[2]);
        }
    }

    #[test]
    fn proof_of_possession_verifies_under_the_pop_tag_only() {
        let sk = key(3);
        for variant in [Variant::MinPk, Variant::MinSig] {
            let pk = sk.public_key(variant);
            let proof = sk.prove_possession(variant);
            let pop_suite = Suite::new(Scheme::Pop, variant);
            let ok = match variant {
                Variant::MinPk => {
                    let p = blst::min_pk::PublicKey::key_validate(&pk).unwrap();
                    let s = blst::min_pk::Signature::sig_validate(&proof, true).unwrap();
                    s.verify(true, &pk, pop_suite.pop_dst(), &[], &p, true)
                        == BLST_ERROR::BLST_SUCCESS
                }
                Variant::MinSig => {
                    let p = blst::min_sig::PublicKey::key_validate(&pk).unwrap();
                    let s = blst::min_sig::Signature::sig_validate(&proof, true).unwrap();
                    s.verify(true, &pk, pop_suite.pop_dst(), &[], &p, true)
                        == BLST_ERROR::BLST_SUCCESS
                }
            };
            assert!(ok, "{variant:?}");
            // A proof is not a signature of the key bytes under the signing tag.
            assert!(!blst_verifies(pop_suite, &pk, &pk, &proof), "{variant:?}");
        }
    }

    #[test]
    fn keygen_is_deterministic_and_needs_32_bytes() {
        assert_eq!(key(1).to_bytes(), key(1).to_bytes());
        assert_ne!(key(1).to_bytes(), key(2).to_bytes());
        assert_eq!(
            SecretKey::from_ikm(&[0u8; 31]).unwrap_err(),
            SignerError::ShortIkm(31)
        );
        let a = SecretKey::generate().unwrap();
        let b = SecretKey::generate().unwrap();
        assert_ne!(a.to_bytes(), b.to_bytes());
        let back = SecretKey::from_bytes(&a.to_bytes()).unwrap();
        assert_eq!(
            back.public_key(Variant::MinSig),
            a.public_key(Variant::MinSig)
        );
    }

    #[test]
    fn secret_key_parsing_rejects_zero_order_and_bad_length() {
        assert_eq!(
            SecretKey::from_bytes(&[0u8; 32]).unwrap_err(),
            SignerError::SecretKeyOutOfRange
        );
        // r, the group order, big-endian.
        let r = hex::decode("73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001")
            .unwrap();
        assert_eq!(
            SecretKey::from_bytes(&r).unwrap_err(),
            SignerError::SecretKeyOutOfRange
        );
        let mut r_minus_1 = r.clone();
        r_minus_1[31] = 0;
        assert!(SecretKey::from_bytes(&r_minus_1).is_ok());
        assert_eq!(
            SecretKey::from_bytes(&[1u8; 31]).unwrap_err(),
            SignerError::BadSecretKeyLength(31)
        );
    }
}
