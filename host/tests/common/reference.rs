//! The independent reference: arkworks (ark-bls12-381 with ark-ec's hash-to-curve), sharing
//! no code with blst. Decodes with arkworks' own compressed-point parser (which validates
//! on-curve and subgroup), hashes with the IETF SSWU map, and checks the pairing equation.

use ark_bls12_381::{g1, g2, Bls12_381, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::hashing::curve_maps::wb::WBMap;
use ark_ec::hashing::map_to_curve_hasher::MapToCurveBasedHasher;
use ark_ec::hashing::HashToCurve;
use ark_ec::pairing::Pairing;
use ark_ec::{AffineRepr, PrimeGroup};
use ark_ff::field_hashers::DefaultFieldHasher;
use ark_serialize::CanonicalDeserialize;
use sha2::Sha256;
use tollgate::suite::{Scheme, Suite, Variant};

pub type HashG1 =
    MapToCurveBasedHasher<G1Projective, DefaultFieldHasher<Sha256, 128>, WBMap<g1::Config>>;
pub type HashG2 =
    MapToCurveBasedHasher<G2Projective, DefaultFieldHasher<Sha256, 128>, WBMap<g2::Config>>;

pub fn hash_to_g2(message: &[u8], dst: &[u8]) -> G2Affine {
    HashG2::new(dst)
        .expect("valid DST")
        .hash(message)
        .expect("hash to G2")
}

pub fn hash_to_g1(message: &[u8], dst: &[u8]) -> G1Affine {
    HashG1::new(dst)
        .expect("valid DST")
        .hash(message)
        .expect("hash to G1")
}

/// Whether arkworks accepts `signature` by `public_key` over `message` under `suite`
/// (public key: valid and not the identity; signature: valid point of the subgroup).
pub fn verify(suite: Suite, public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    let augmented = match suite.scheme {
        Scheme::Aug => [public_key, message].concat(),
        Scheme::Basic | Scheme::Pop => message.to_vec(),
    };
    match suite.variant {
        Variant::MinPk => {
            let (Ok(pk), Ok(sig)) = (
                G1Affine::deserialize_compressed(public_key),
                G2Affine::deserialize_compressed(signature),
            ) else {
                return false;
            };
            if pk.is_zero() {
                return false;
            }
            let h = hash_to_g2(&augmented, suite.dst());
            Bls12_381::pairing(pk, h) == Bls12_381::pairing(G1Projective::generator(), sig)
        }
        Variant::MinSig => {
            let (Ok(pk), Ok(sig)) = (
                G2Affine::deserialize_compressed(public_key),
                G1Affine::deserialize_compressed(signature),
            ) else {
                return false;
            };
            if pk.is_zero() {
                return false;
            }
            let h = hash_to_g1(&augmented, suite.dst());
            Bls12_381::pairing(h, pk) == Bls12_381::pairing(sig, G2Projective::generator())
        }
    }
}
