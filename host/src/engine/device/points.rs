//! The glue between blst points and the device's words: encoding validated points, decoding
//! and checking what the device returns, and the blinding scalars.

use blst::{blst_p1_affine, blst_p2_affine, min_pk, min_sig};
use rand_core::{OsRng, RngCore};
use tollgate_abi::{G1_WORDS, G2_WORDS};
use tollgate_drivers::codec;

use super::super::fallback::FallbackReason;
use super::super::EngineError;
use crate::suite::Variant;

/// Non-zero 64-bit blinding scalars from the OS CSPRNG, never from request data: one read for
/// the whole batch (a read per scalar cost ≈ 0.26 µs an item, a quarter of a microsecond the
/// device path's host share cannot spare; bench canary_cost --whole).
pub fn blinding_scalars(n: usize) -> Result<Vec<u64>, EngineError> {
    let fill = |bytes: &mut [u8]| {
        OsRng
            .try_fill_bytes(bytes)
            .map_err(|e| EngineError::Rng(e.to_string()))
    };
    let mut bytes = vec![0u8; 8 * n];
    fill(&mut bytes)?;
    let mut scalars = Vec::with_capacity(n);
    for chunk in bytes.chunks_exact(8) {
        let mut r = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        // A zero scalar would drop its item from the check: draw again.
        while r == 0 {
            let mut again = [0u8; 8];
            fill(&mut again)?;
            r = u64::from_le_bytes(again);
        }
        scalars.push(r);
    }
    Ok(scalars)
}

pub(super) fn push_g1(words: &mut Vec<u32>, point: &blst_p1_affine) {
    words.extend(codec::encode_g1_point(point));
}

pub(super) fn push_g2(words: &mut Vec<u32>, point: &blst_p2_affine) {
    words.extend(codec::encode_g2_point(point));
}

/// A G1 point from the device: on the curve (deserialisation checks), subgroup optional.
pub(super) fn result_g1(words: &[u32], subgroup: bool) -> Result<blst_p1_affine, FallbackReason> {
    let bytes = codec::decode_g1(words).map_err(|_| FallbackReason::BadResult)?;
    // min_sig signatures live in G1: their decoder and group check serve for any G1 point.
    let point = min_sig::Signature::deserialize(&bytes).map_err(|_| FallbackReason::BadResult)?;
    if subgroup && point.validate(false).is_err() {
        return Err(FallbackReason::BadResult);
    }
    Ok(point.into())
}

/// A G2 point from the device (see [`result_g1`]).
pub(super) fn result_g2(words: &[u32], subgroup: bool) -> Result<blst_p2_affine, FallbackReason> {
    let bytes = codec::decode_g2(words).map_err(|_| FallbackReason::BadResult)?;
    let point = min_pk::Signature::deserialize(&bytes).map_err(|_| FallbackReason::BadResult)?;
    if subgroup && point.validate(false).is_err() {
        return Err(FallbackReason::BadResult);
    }
    Ok(point.into())
}

/// Decodes the device's partial sums of G1 points (K per device job, see
/// [`JobOutput::words`]) and adds them up with blst (infinity included). Every partial must be
/// on the curve; the subgroup check, when asked for, is made on the sum, the value used.
pub(super) fn sum_g1(words: &[u32], subgroup: bool) -> Result<blst_p1_affine, FallbackReason> {
    if words.is_empty() || !words.len().is_multiple_of(G1_WORDS) {
        return Err(FallbackReason::BadResult);
    }
    let partials: Vec<min_sig::Signature> = words
        .chunks_exact(G1_WORDS)
        .map(|w| result_g1(w, false).map(min_sig::Signature::from))
        .collect::<Result<_, _>>()?;
    let refs: Vec<&min_sig::Signature> = partials.iter().collect();
    let sum = min_sig::AggregateSignature::aggregate(&refs, false)
        .map_err(|_| FallbackReason::BadResult)?
        .to_signature();
    if subgroup && sum.validate(false).is_err() {
        return Err(FallbackReason::BadResult);
    }
    Ok(sum.into())
}

/// [`sum_g1`] for G2.
pub(super) fn sum_g2(words: &[u32], subgroup: bool) -> Result<blst_p2_affine, FallbackReason> {
    if words.is_empty() || !words.len().is_multiple_of(G2_WORDS) {
        return Err(FallbackReason::BadResult);
    }
    let partials: Vec<min_pk::Signature> = words
        .chunks_exact(G2_WORDS)
        .map(|w| result_g2(w, false).map(min_pk::Signature::from))
        .collect::<Result<_, _>>()?;
    let refs: Vec<&min_pk::Signature> = partials.iter().collect();
    let sum = min_pk::AggregateSignature::aggregate(&refs, false)
        .map_err(|_| FallbackReason::BadResult)?
        .to_signature();
    if subgroup && sum.validate(false).is_err() {
        return Err(FallbackReason::BadResult);
    }
    Ok(sum.into())
}

/// The device's per-item points (ScalarMul*), one per item or the result is not trusted.
pub(super) fn item_points<P>(
    words: &[u32],
    point_words: usize,
    items: usize,
    decode: impl Fn(&[u32], bool) -> Result<P, FallbackReason>,
) -> Result<Vec<P>, FallbackReason> {
    if words.len() != items * point_words {
        return Err(FallbackReason::BadResult);
    }
    words
        .chunks_exact(point_words)
        .map(|w| decode(w, false))
        .collect()
}

/// Words of one point of the public keys (`keys`) or the signatures of a variant.
pub(super) fn variant_words(variant: Variant, keys: bool) -> usize {
    match (variant, keys) {
        (Variant::MinPk, true) | (Variant::MinSig, false) => G1_WORDS,
        (Variant::MinPk, false) | (Variant::MinSig, true) => G2_WORDS,
    }
}

#[cfg(test)]
mod tests {
    //! The host's half of the sums (adding the device's partial points) against arkworks.

    use ark_bls12_381::{G1Projective, G2Projective};
    use ark_ec::{CurveGroup, PrimeGroup};
    use ark_ff::UniformRand;
    use ark_serialize::CanonicalSerialize;
    use rand::{rngs::StdRng, SeedableRng};

    use super::*;

    fn uncompressed<T: CanonicalSerialize>(point: &T) -> Vec<u8> {
        let mut out = Vec::new();
        point.serialize_uncompressed(&mut out).unwrap();
        out
    }

    /// Partials the way a device reports them: random points, infinity, P and −P, P twice.
    fn partial_sets<G: PrimeGroup + UniformRand>() -> Vec<Vec<G>> {
        let mut rng = StdRng::seed_from_u64(5);
        let p = G::rand(&mut rng);
        let random: Vec<G> = (0..40).map(|_| G::rand(&mut rng)).collect();
        let mut with_infinity = random.clone();
        with_infinity[0] = G::zero();
        with_infinity[39] = G::zero();
        vec![
            random,
            with_infinity,
            vec![p, -p],
            vec![p, p],
            vec![G::zero(); 40],
            vec![p],
        ]
    }

    #[test]
    fn g1_partial_sums_add_up_like_arkworks() {
        for partials in partial_sets::<G1Projective>() {
            let mut words = Vec::new();
            for point in &partials {
                words.extend(codec::encode_g1(&uncompressed(&point.into_affine())).unwrap());
            }
            let sum = sum_g1(&words, true).unwrap();
            let expected: G1Projective = partials.iter().sum();
            assert_eq!(
                min_sig::Signature::from(sum).serialize().to_vec(),
                uncompressed(&expected.into_affine())
            );
        }
    }

    #[test]
    fn g2_partial_sums_add_up_like_arkworks() {
        for partials in partial_sets::<G2Projective>() {
            let mut words = Vec::new();
            for point in &partials {
                words.extend(codec::encode_g2(&uncompressed(&point.into_affine())).unwrap());
            }
            let sum = sum_g2(&words, true).unwrap();
            let expected: G2Projective = partials.iter().sum();
            assert_eq!(
                min_pk::Signature::from(sum).serialize().to_vec(),
                uncompressed(&expected.into_affine())
            );
        }
    }

    #[test]
    fn a_corrupted_or_missing_partial_is_a_bad_result() {
        let mut rng = StdRng::seed_from_u64(6);
        let points: Vec<G1Projective> = (0..3).map(|_| G1Projective::rand(&mut rng)).collect();
        let mut words = Vec::new();
        for point in &points {
            words.extend(codec::encode_g1(&uncompressed(&point.into_affine())).unwrap());
        }
        let mut flipped = words.clone();
        // Partial 1's X, low bit: off the curve.
        flipped[G1_WORDS] ^= 1;
        assert_eq!(sum_g1(&flipped, false), Err(FallbackReason::BadResult));
        assert_eq!(
            sum_g1(&words[..G1_WORDS + 5], false),
            Err(FallbackReason::BadResult)
        );
        assert_eq!(sum_g1(&[], false), Err(FallbackReason::BadResult));
        // Per-item results must be exactly one per item.
        assert_eq!(
            item_points(&words, G1_WORDS, 3, result_g1).map(|p| p.len()),
            Ok(3)
        );
        assert_eq!(
            item_points(&words, G1_WORDS, 4, result_g1).map(|p| p.len()),
            Err(FallbackReason::BadResult)
        );
    }
}
