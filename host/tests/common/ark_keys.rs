//! Keys, signatures and proofs of possession made by arkworks, an implementation independent
//! of the server's blst: what a device vendor with its own BLS stack would send.

use ark_bls12_381::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::{CurveGroup, PrimeGroup};
use ark_ff::PrimeField;
use ark_serialize::CanonicalSerialize;
use sha2::{Digest, Sha256};
use tollgate::suite::{Scheme, Suite, Variant};

use super::reference::{hash_to_g1, hash_to_g2};

/// A secret scalar from a seed.
#[derive(Clone, Copy, Debug)]
pub struct ArkKey(pub Fr);

fn compress<T: CanonicalSerialize>(point: T) -> Vec<u8> {
    let mut bytes = Vec::new();
    point.serialize_compressed(&mut bytes).expect("serialize");
    bytes
}

pub fn g1_bytes(point: G1Projective) -> Vec<u8> {
    compress(point.into_affine())
}

pub fn g2_bytes(point: G2Projective) -> Vec<u8> {
    compress(point.into_affine())
}

impl ArkKey {
    pub fn from_seed(seed: &str) -> Self {
        ArkKey(Fr::from_le_bytes_mod_order(&Sha256::digest(
            seed.as_bytes(),
        )))
    }

    pub fn public_key(&self, variant: Variant) -> Vec<u8> {
        match variant {
            Variant::MinPk => g1_bytes(G1Projective::generator() * self.0),
            Variant::MinSig => g2_bytes(G2Projective::generator() * self.0),
        }
    }

    /// Signs the final message (already augmented for AUG) with `dst`.
    fn sign_raw(&self, variant: Variant, message: &[u8], dst: &[u8]) -> Vec<u8> {
        match variant {
            Variant::MinPk => compress(G2Affine::from(hash_to_g2(message, dst) * self.0)),
            Variant::MinSig => compress(G1Affine::from(hash_to_g1(message, dst) * self.0)),
        }
    }

    pub fn sign(&self, suite: Suite, message: &[u8]) -> Vec<u8> {
        let message = match suite.scheme {
            Scheme::Aug => [self.public_key(suite.variant), message.to_vec()].concat(),
            _ => message.to_vec(),
        };
        self.sign_raw(suite.variant, &message, suite.dst())
    }

    /// PopProve: a signature over the compressed public key with the POP tag.
    pub fn prove_possession(&self, variant: Variant) -> Vec<u8> {
        let suite = Suite::new(Scheme::Pop, variant);
        self.sign_raw(variant, &self.public_key(variant), suite.pop_dst())
    }
}

/// `hash_to_g2(message, dst) * scalar`, compressed: what an attacker who knows only `scalar`
/// can sign.
pub fn g2_multiple(message: &[u8], dst: &[u8], scalar: Fr) -> Vec<u8> {
    compress(G2Affine::from(hash_to_g2(message, dst) * scalar))
}
