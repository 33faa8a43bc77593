//! Compressed G1/G2 points (the zcash/IETF encoding) with the checks blst leaves to callers.
//!
//! What blst does and does not do, and so what this module adds:
//! - `PublicKey::from_bytes`/`Signature::from_bytes` are `deserialize`: they also accept the
//!   *uncompressed* form (96/192 bytes, compression bit clear). The API takes compressed
//!   encodings only, so we call `uncompress` and check the length ourselves.
//! - blst's uncompress checks the flag bits and x < p but reports both as one
//!   `BLST_BAD_ENCODING`; we check them first to return `bad_encoding_flags` or
//!   `coordinate_out_of_range`. It reports `BLST_POINT_NOT_ON_CURVE` itself.
//! - Neither `from_bytes` nor `uncompress` checks the subgroup. `key_validate` does (and refuses
//!   infinity); `sig_validate(_, false)` does for signatures. We call `validate` on the decoded
//!   points, once per key thanks to the cache, and on every signature.
//! - An infinity *signature* is a valid encoding in the subgroup: it is accepted here and fails
//!   verification against any valid key (the pairing with a non-identity key is never 1).

use blst::{min_pk, min_sig, BLST_ERROR};

use super::ItemError;
use crate::api::wire::to_hex;
use crate::suite::Variant;

/// The field modulus p of BLS12-381, big-endian.
const P: [u8; 48] = [
    0x1a, 0x01, 0x11, 0xea, 0x39, 0x7f, 0xe6, 0x9a, 0x4b, 0x1b, 0xa7, 0xb6, 0x43, 0x4b, 0xac, 0xd7,
    0x64, 0x77, 0x4b, 0x84, 0xf3, 0x85, 0x12, 0xbf, 0x67, 0x30, 0xd2, 0xa0, 0xf6, 0xb0, 0xf6, 0x24,
    0x1e, 0xab, 0xff, 0xfe, 0xb1, 0x53, 0xff, 0xff, 0xb9, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xaa, 0xab,
];

const COMPRESSED: u8 = 0x80;
const INFINITY: u8 = 0x40;
const SIGN: u8 = 0x20;

/// A validated public key: in G1 for min_pk, in G2 for min_sig. Never the identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PublicKey {
    G1(min_pk::PublicKey),
    G2(min_sig::PublicKey),
}

/// A subgroup-checked signature: in G2 for min_pk, in G1 for min_sig. May be the identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signature {
    G2(min_pk::Signature),
    G1(min_sig::Signature),
}

impl PublicKey {
    pub fn variant(&self) -> Variant {
        match self {
            PublicKey::G1(_) => Variant::MinPk,
            PublicKey::G2(_) => Variant::MinSig,
        }
    }

    /// The compressed encoding (48 or 96 bytes).
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            PublicKey::G1(pk) => pk.compress().to_vec(),
            PublicKey::G2(pk) => pk.compress().to_vec(),
        }
    }

    /// Whether this is the identity. A decoded key never is (KeyValidate refuses it), a sum of
    /// keys may be (fast aggregation), and then it fails KeyValidate.
    pub fn is_identity(&self) -> bool {
        // SAFETY: valid references to affine points (blst's own representation of the keys).
        match self {
            PublicKey::G1(pk) => unsafe {
                blst::blst_p1_affine_is_inf(<&blst::blst_p1_affine>::from(pk))
            },
            PublicKey::G2(pk) => unsafe {
                blst::blst_p2_affine_is_inf(<&blst::blst_p2_affine>::from(pk))
            },
        }
    }
}

impl Signature {
    pub fn variant(&self) -> Variant {
        match self {
            Signature::G2(_) => Variant::MinPk,
            Signature::G1(_) => Variant::MinSig,
        }
    }

    /// The compressed encoding (96 or 48 bytes).
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Signature::G2(sig) => sig.compress().to_vec(),
            Signature::G1(sig) => sig.compress().to_vec(),
        }
    }
}

/// `0x` hex of a public key's compressed encoding.
pub fn encode_public_key(pk: &PublicKey) -> String {
    to_hex(&pk.to_bytes())
}

/// `0x` hex of a signature's compressed encoding.
pub fn encode_signature(sig: &Signature) -> String {
    to_hex(&sig.to_bytes())
}

/// Checks the length, the flag bits and x < p of a compressed encoding of `len` bytes
/// (48 for G1, 96 for G2 where x = (c1, c0) in that order). Returns whether it encodes
/// the point at infinity. On-curve and subgroup membership are checked by the decoders.
pub fn check_compressed_encoding(bytes: &[u8], len: usize) -> Result<bool, ItemError> {
    if bytes.len() != len {
        return Err(ItemError::BadLength {
            expected: len,
            got: bytes.len(),
        });
    }
    let flags = bytes[0];
    if flags & COMPRESSED == 0 {
        return Err(ItemError::BadEncodingFlags);
    }
    if flags & INFINITY != 0 {
        // Canonical infinity is 0xc0 followed by zeros: no sign bit, no x bits.
        let canonical = flags & !(COMPRESSED | INFINITY) == 0 && bytes[1..].iter().all(|&b| b == 0);
        return if canonical {
            Ok(true)
        } else {
            Err(ItemError::BadEncodingFlags)
        };
    }
    let mut first = [0u8; 48];
    first.copy_from_slice(&bytes[..48]);
    first[0] &= !(COMPRESSED | INFINITY | SIGN);
    // Big-endian byte strings of equal length compare like the integers they encode.
    if first >= P || bytes[48..].chunks(48).any(|limb| limb >= &P[..]) {
        return Err(ItemError::CoordinateOutOfRange);
    }
    Ok(false)
}

fn from_blst(err: BLST_ERROR) -> ItemError {
    match err {
        BLST_ERROR::BLST_POINT_NOT_ON_CURVE => ItemError::NotOnCurve,
        BLST_ERROR::BLST_POINT_NOT_IN_GROUP => ItemError::NotInSubgroup,
        BLST_ERROR::BLST_PK_IS_INFINITY => ItemError::InfinityPublicKey,
        // BAD_ENCODING (and anything else uncompress could say) is about the encoding; our own
        // checks above catch every case we know of first.
        _ => ItemError::BadEncodingFlags,
    }
}

/// Strictly decodes a compressed signature of `variant` and checks its subgroup.
/// The identity is accepted (it is in the subgroup; it simply never verifies).
pub fn decode_signature(variant: Variant, bytes: &[u8]) -> Result<Signature, ItemError> {
    check_compressed_encoding(bytes, variant.signature_len())?;
    let sig = match variant {
        Variant::MinPk => Signature::G2(min_pk::Signature::uncompress(bytes).map_err(from_blst)?),
        Variant::MinSig => Signature::G1(min_sig::Signature::uncompress(bytes).map_err(from_blst)?),
    };
    let in_group = match &sig {
        Signature::G2(s) => s.subgroup_check(),
        Signature::G1(s) => s.subgroup_check(),
    };
    if in_group {
        Ok(sig)
    } else {
        Err(ItemError::NotInSubgroup)
    }
}

/// Strictly decodes a compressed public key of `variant` and runs KeyValidate on it
/// (not the identity, in the subgroup). Uncached: see `KeyCache` for the service's path.
pub fn decode_public_key(variant: Variant, bytes: &[u8]) -> Result<PublicKey, ItemError> {
    if check_compressed_encoding(bytes, variant.public_key_len())? {
        return Err(ItemError::InfinityPublicKey);
    }
    match variant {
        Variant::MinPk => {
            let pk = min_pk::PublicKey::uncompress(bytes).map_err(from_blst)?;
            pk.validate().map_err(from_blst)?;
            Ok(PublicKey::G1(pk))
        }
        Variant::MinSig => {
            let pk = min_sig::PublicKey::uncompress(bytes).map_err(from_blst)?;
            pk.validate().map_err(from_blst)?;
            Ok(PublicKey::G2(pk))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_first(len: usize, first: u8) -> Vec<u8> {
        let mut v = vec![0u8; len];
        v[0] = first;
        v
    }

    #[test]
    fn flags_and_lengths() {
        for variant in [Variant::MinPk, Variant::MinSig] {
            let len = variant.signature_len();
            assert_eq!(
                decode_signature(variant, &with_first(len, 0xc0)).map(|s| s.variant()),
                Ok(variant)
            );
            assert_eq!(
                decode_signature(variant, &with_first(len - 1, 0xc0)),
                Err(ItemError::BadLength {
                    expected: len,
                    got: len - 1
                })
            );
            for bad_flags in [0x00, 0x40, 0x60, 0xe0, 0x20] {
                assert_eq!(
                    decode_signature(variant, &with_first(len, bad_flags)),
                    Err(ItemError::BadEncodingFlags)
                );
            }
            let mut inf_with_x = with_first(len, 0xc0);
            inf_with_x[len - 1] = 1;
            assert_eq!(
                decode_signature(variant, &inf_with_x),
                Err(ItemError::BadEncodingFlags)
            );
            let pk_len = variant.public_key_len();
            assert_eq!(
                decode_public_key(variant, &with_first(pk_len, 0xc0)),
                Err(ItemError::InfinityPublicKey)
            );
        }
    }

    #[test]
    fn x_must_be_below_p() {
        let mut x = P.to_vec();
        x[0] |= COMPRESSED;
        assert_eq!(
            check_compressed_encoding(&x, 48),
            Err(ItemError::CoordinateOutOfRange)
        );
        let mut below = P;
        below[47] -= 1;
        below[0] |= COMPRESSED;
        assert_eq!(check_compressed_encoding(&below, 48), Ok(false));
        // G2: the second limb (c0) must be below p too.
        let mut g2 = vec![0u8; 96];
        g2[0] = COMPRESSED;
        g2[48..].copy_from_slice(&P);
        assert_eq!(
            check_compressed_encoding(&g2, 96),
            Err(ItemError::CoordinateOutOfRange)
        );
    }
}
