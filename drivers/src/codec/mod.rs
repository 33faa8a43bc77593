//! Element and point encodings of the ABI (see `tollgate_abi`'s crate docs), converted from and
//! to the Zcash/IETF uncompressed serialisation that blst and arkworks speak: Fp big-endian,
//! Fp2 as c1 then c0, G1 as x‖y (96 bytes), G2 as x‖y (192 bytes), infinity flagged by 0x40 in
//! the first byte.

mod field;
mod normalise;

pub(crate) use field::Fp2;
pub(crate) use normalise::batch_invert;
pub use normalise::{g1_affine_points, g2_affine_points};

use blst::{
    blst_fp12, blst_fp2, blst_p1_affine, blst_p1_affine_is_inf, blst_p2_affine,
    blst_p2_affine_is_inf,
};
use field::Fp;
use tollgate_abi::{FP12_WORDS, FP2_WORDS, FP_WORDS, G1_WORDS, G2_WORDS};

/// Bytes of an uncompressed G1 point.
pub const G1_UNCOMPRESSED: usize = 96;
/// Bytes of an uncompressed G2 point.
pub const G2_UNCOMPRESSED: usize = 192;

const INFINITY_FLAG: u8 = 0x40;
const COMPRESSION_FLAG: u8 = 0x80;
const SORT_FLAG: u8 = 0x20;
/// Bytes of a compressed G2 point.
pub const G2_COMPRESSED: usize = 96;

/// Why data could not be encoded for, or decoded from, the device.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// A coordinate or a device word string was not a canonical field element.
    #[error("field element not below the modulus")]
    NotReduced,
    /// A compressed or otherwise flagged encoding where an uncompressed one was required.
    #[error("expected an uncompressed point encoding")]
    BadFlags,
    /// A point (from the device) that is not on its curve.
    #[error("point not on the curve")]
    NotOnCurve,
    /// Wrong number of words or bytes.
    #[error("expected {expected} {unit}, got {got}")]
    BadLength {
        /// Expected length.
        expected: usize,
        /// Actual length.
        got: usize,
        /// "words" or "bytes".
        unit: &'static str,
    },
}

fn check_len(got: usize, expected: usize, unit: &'static str) -> Result<(), CodecError> {
    if got == expected {
        Ok(())
    } else {
        Err(CodecError::BadLength {
            expected,
            got,
            unit,
        })
    }
}

/// Splits the flag bits off an uncompressed encoding; `Ok(None)` for infinity.
fn strip_flags<const N: usize>(bytes: &[u8]) -> Result<Option<[u8; N]>, CodecError> {
    check_len(bytes.len(), N, "bytes")?;
    let mut body = [0u8; N];
    body.copy_from_slice(bytes);
    let flags = body[0] & 0xE0;
    body[0] &= 0x1F;
    match flags {
        0 => Ok(Some(body)),
        INFINITY_FLAG if body.iter().all(|b| *b == 0) => Ok(None),
        _ => Err(CodecError::BadFlags),
    }
}

fn be48(bytes: &[u8]) -> [u8; 48] {
    let mut out = [0u8; 48];
    out.copy_from_slice(bytes);
    out
}

/// Encodes an uncompressed G1 point (96 bytes) as the device's 36 projective words.
pub fn encode_g1(uncompressed: &[u8]) -> Result<Vec<u32>, CodecError> {
    let mut words = Vec::with_capacity(G1_WORDS);
    match strip_flags::<G1_UNCOMPRESSED>(uncompressed)? {
        None => {
            for c in [Fp::zero(), Fp::one(), Fp::zero()] {
                words.extend(c.to_mont_words());
            }
        }
        Some(body) => {
            let x = Fp::from_be(&be48(&body[..48]))?;
            let y = Fp::from_be(&be48(&body[48..]))?;
            for c in [x, y, Fp::one()] {
                words.extend(c.to_mont_words());
            }
        }
    }
    Ok(words)
}

/// Encodes a blst G1 point as the device's 36 projective words by copying its limbs: blst
/// holds coordinates in the device's Montgomery form, so nothing is converted (serialising to
/// bytes and back cost more than blst's whole key aggregation).
pub fn encode_g1_point(point: &blst_p1_affine) -> Vec<u32> {
    // SAFETY: a valid reference to an affine point.
    let coordinates = match unsafe { blst_p1_affine_is_inf(point) } {
        true => [Fp::zero(), Fp::one(), Fp::zero()],
        false => [Fp::from_blst(point.x), Fp::from_blst(point.y), Fp::one()],
    };
    coordinates
        .into_iter()
        .flat_map(Fp::to_mont_words)
        .collect()
}

/// Decodes 36 projective words from the device into an uncompressed, normalised G1 point.
/// Says nothing about whether the point is on the curve: the caller's deserialiser checks.
pub fn decode_g1(words: &[u32]) -> Result<[u8; G1_UNCOMPRESSED], CodecError> {
    check_len(words.len(), G1_WORDS, "words")?;
    let c = |i: usize| Fp::from_mont_words(&words[i * FP_WORDS..(i + 1) * FP_WORDS]);
    let (x, y, z) = (c(0)?, c(1)?, c(2)?);
    let mut out = [0u8; G1_UNCOMPRESSED];
    match z.inverse() {
        None => out[0] = INFINITY_FLAG,
        Some(zinv) => {
            out[..48].copy_from_slice(&x.mul(&zinv).to_be());
            out[48..].copy_from_slice(&y.mul(&zinv).to_be());
        }
    }
    Ok(out)
}

fn fp2_from_be(bytes: &[u8]) -> Result<Fp2, CodecError> {
    // Serialised as c1 then c0.
    Ok(Fp2 {
        c0: Fp::from_be(&be48(&bytes[48..96]))?,
        c1: Fp::from_be(&be48(&bytes[..48]))?,
    })
}

fn fp2_to_be(value: &Fp2, out: &mut [u8]) {
    out[..48].copy_from_slice(&value.c1.to_be());
    out[48..96].copy_from_slice(&value.c0.to_be());
}

fn push_fp2(words: &mut Vec<u32>, value: &Fp2) {
    words.extend(value.c0.to_mont_words());
    words.extend(value.c1.to_mont_words());
}

/// Encodes an uncompressed G2 point (192 bytes) as the device's 72 projective words.
pub fn encode_g2(uncompressed: &[u8]) -> Result<Vec<u32>, CodecError> {
    let mut words = Vec::with_capacity(G2_WORDS);
    match strip_flags::<G2_UNCOMPRESSED>(uncompressed)? {
        None => {
            for c in [Fp2::zero(), Fp2::one(), Fp2::zero()] {
                push_fp2(&mut words, &c);
            }
        }
        Some(body) => {
            let x = fp2_from_be(&body[..96])?;
            let y = fp2_from_be(&body[96..])?;
            for c in [x, y, Fp2::one()] {
                push_fp2(&mut words, &c);
            }
        }
    }
    Ok(words)
}

/// Encodes a blst G2 point as the device's 72 projective words (see [`encode_g1_point`]).
pub fn encode_g2_point(point: &blst_p2_affine) -> Vec<u32> {
    let fp2 = |c: &blst_fp2| Fp2 {
        c0: Fp::from_blst(c.fp[0]),
        c1: Fp::from_blst(c.fp[1]),
    };
    // SAFETY: a valid reference to an affine point.
    let coordinates = match unsafe { blst_p2_affine_is_inf(point) } {
        true => [Fp2::zero(), Fp2::one(), Fp2::zero()],
        false => [fp2(&point.x), fp2(&point.y), Fp2::one()],
    };
    let mut words = Vec::with_capacity(G2_WORDS);
    for c in &coordinates {
        push_fp2(&mut words, c);
    }
    words
}

/// Decodes 72 projective words from the device into an uncompressed, normalised G2 point.
pub fn decode_g2(words: &[u32]) -> Result<[u8; G2_UNCOMPRESSED], CodecError> {
    check_len(words.len(), G2_WORDS, "words")?;
    let c = |i: usize| -> Result<Fp2, CodecError> {
        let base = i * FP2_WORDS;
        Ok(Fp2 {
            c0: Fp::from_mont_words(&words[base..base + FP_WORDS])?,
            c1: Fp::from_mont_words(&words[base + FP_WORDS..base + FP2_WORDS])?,
        })
    };
    let (x, y, z) = (c(0)?, c(1)?, c(2)?);
    let mut out = [0u8; G2_UNCOMPRESSED];
    match z.inverse() {
        None => out[0] = INFINITY_FLAG,
        Some(zinv) => {
            fp2_to_be(&x.mul(&zinv), &mut out[..96]);
            fp2_to_be(&y.mul(&zinv), &mut out[96..]);
        }
    }
    Ok(out)
}

/// The x of a compressed G2 point (96 bytes) as DecodeG2's item (24 words), and its sort
/// flag: the checks the host keeps before the device decodes (the compression flag set,
/// not infinity, x < p).
pub fn compressed_g2_x(bytes: &[u8]) -> Result<(Vec<u32>, bool), CodecError> {
    check_len(bytes.len(), G2_COMPRESSED, "bytes")?;
    let flags = bytes[0] & 0xE0;
    if flags & COMPRESSION_FLAG == 0 || flags & INFINITY_FLAG != 0 {
        return Err(CodecError::BadFlags);
    }
    let mut c1 = be48(&bytes[..48]);
    c1[0] &= 0x1F;
    let x = Fp2 {
        c0: Fp::from_be(&be48(&bytes[48..]))?,
        c1: Fp::from_be(&c1)?,
    };
    Ok((fp2_words(&x), flags & SORT_FLAG != 0))
}

/// The affine G2 point (x, ±y) from DecodeG2's x (the item) and root y (24 words each), the
/// sign of y chosen so that y is the lexicographically largest root iff `largest` (a
/// compressed point's sort flag); checked to be on the curve.
pub fn g2_affine_with_sign(
    x: &[u32],
    y: &[u32],
    largest: bool,
) -> Result<blst_p2_affine, CodecError> {
    let (x, mut y) = (Fp2::from_mont_words(x)?, Fp2::from_mont_words(y)?);
    if y.is_lexicographically_largest() != largest {
        y = y.neg();
    }
    normalise::g2_point(&x, &y)
}

/// Whether the device's 24 words are the Fp2 element 0 (refusing words that are no element).
pub fn fp2_is_zero(words: &[u32]) -> Result<bool, CodecError> {
    Ok(Fp2::from_mont_words(words)?.is_zero())
}

/// Checks that the device's words are a projective G2 point's ([`G2_WORDS`] words of fully
/// reduced elements), without normalising it or checking it on the curve: for a point handed
/// back to the device as it came (the bucket job's S, "Jobs" in `tollgate_abi::buckets`).
pub fn check_g2_words(words: &[u32]) -> Result<(), CodecError> {
    check_len(words.len(), G2_WORDS, "words")?;
    words
        .chunks_exact(FP_WORDS)
        .try_for_each(|element| Fp::from_mont_words(element).map(drop))
}

fn fp2_words(value: &Fp2) -> Vec<u32> {
    [value.c0.to_mont_words(), value.c1.to_mont_words()].concat()
}

/// An Fp12 from the device (144 words, tower order) as blst's value: the same tower and the
/// same Montgomery form, so the limbs are the words in pairs.
pub fn decode_fp12(words: &[u32]) -> Result<blst_fp12, CodecError> {
    check_len(words.len(), FP12_WORDS, "words")?;
    let mut value = blst_fp12::default();
    let fps = value
        .fp6
        .iter_mut()
        .flat_map(|c| c.fp2.iter_mut())
        .flat_map(|c| c.fp.iter_mut());
    for (fp, w) in fps.zip(words.chunks_exact(FP_WORDS)) {
        *fp = Fp::from_mont_words(w)?.blst();
    }
    Ok(value)
}

/// Encodes a 64-bit scalar as its two words, low first.
pub fn encode_scalar(scalar: u64) -> [u32; 2] {
    [scalar as u32, (scalar >> 32) as u32]
}

/// Whether `bytes` is the compressed encoding of G2's identity (the compression and infinity
/// flags, then zeros): a valid signature encoding that needs no decoding.
pub fn is_compressed_identity(bytes: &[u8]) -> bool {
    bytes.len() == G2_COMPRESSED
        && bytes[0] == COMPRESSION_FLAG | INFINITY_FLAG
        && bytes[1..].iter().all(|b| *b == 0)
}

/// Whether the first byte of an encoding carries the compression flag (refused by the codec).
pub fn is_compressed(encoding: &[u8]) -> bool {
    encoding.first().is_some_and(|b| b & COMPRESSION_FLAG != 0)
}

#[cfg(test)]
mod tests;
