//! The codec against arkworks (the independent reference): its Montgomery limbs (R = 2^384),
//! its uncompressed serialisation, and projective representatives with random Z.

use ark_bls12_381::{Fq, Fq2, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::{AffineRepr, CurveGroup, PrimeGroup};
use ark_ff::{Field, UniformRand};
use ark_serialize::CanonicalSerialize;
use ark_std::rand::{rngs::StdRng, SeedableRng};

use super::*;
use blst::blst_p2_affine;
use tollgate_abi::{G1_WORDS, G2_WORDS};

fn ark_mont_words(value: &Fq) -> Vec<u32> {
    // arkworks stores Fq in Montgomery form with R = 2^384, as six little-endian u64 limbs.
    value
        .0
         .0
        .iter()
        .flat_map(|limb| [*limb as u32, (limb >> 32) as u32])
        .collect()
}

fn uncompressed<T: CanonicalSerialize>(point: &T) -> Vec<u8> {
    let mut out = Vec::new();
    point.serialize_uncompressed(&mut out).unwrap();
    out
}

fn g1_projective_words(x: &Fq, y: &Fq, z: &Fq) -> Vec<u32> {
    [x * z, y * z, *z].iter().flat_map(ark_mont_words).collect()
}

fn fq2_words(value: &Fq2) -> Vec<u32> {
    let mut words = ark_mont_words(&value.c0);
    words.extend(ark_mont_words(&value.c1));
    words
}

#[test]
fn montgomery_words_match_arkworks_on_edges_and_random_elements() {
    let mut rng = StdRng::seed_from_u64(1);
    let mut values = vec![Fq::from(0u64), Fq::from(1u64), -Fq::from(1u64)];
    values.extend((0..50).map(|_| Fq::rand(&mut rng)));
    for value in values {
        let mut be = Vec::new();
        value.serialize_uncompressed(&mut be).unwrap();
        be.reverse(); // arkworks' field serialisation is little-endian
        let fp = Fp::from_be(&be48(&be)).unwrap();
        assert_eq!(fp.to_mont_words().to_vec(), ark_mont_words(&value));
        assert_eq!(Fp::from_mont_words(&ark_mont_words(&value)).unwrap(), fp);
    }
}

#[test]
fn g1_points_round_trip_through_random_projective_representatives() {
    let mut rng = StdRng::seed_from_u64(2);
    for _ in 0..20 {
        let point = G1Projective::rand(&mut rng).into_affine();
        let bytes = uncompressed(&point);
        assert_eq!(
            encode_g1(&bytes).unwrap(),
            g1_projective_words(&point.x, &point.y, &Fq::ONE)
        );
        let z = Fq::rand(&mut rng);
        let decoded = decode_g1(&g1_projective_words(&point.x, &point.y, &z)).unwrap();
        assert_eq!(decoded.to_vec(), bytes);
    }
}

#[test]
fn g2_points_round_trip_through_random_projective_representatives() {
    let mut rng = StdRng::seed_from_u64(3);
    for _ in 0..10 {
        let point = G2Projective::rand(&mut rng).into_affine();
        let bytes = uncompressed(&point);
        let mut expected = fq2_words(&point.x);
        expected.extend(fq2_words(&point.y));
        expected.extend(fq2_words(&Fq2::ONE));
        assert_eq!(encode_g2(&bytes).unwrap(), expected);
        let z = Fq2::rand(&mut rng);
        let mut words = fq2_words(&(point.x * z));
        words.extend(fq2_words(&(point.y * z)));
        words.extend(fq2_words(&z));
        assert_eq!(decode_g2(&words).unwrap().to_vec(), bytes);
    }
}

#[test]
fn infinity_travels_as_z_zero_both_ways() {
    let g1_inf = uncompressed(&G1Affine::identity());
    let words = encode_g1(&g1_inf).unwrap();
    let zero = Fq::from(0u64);
    let expected: Vec<u32> = [zero, Fq::ONE, zero]
        .iter()
        .flat_map(ark_mont_words)
        .collect();
    assert_eq!(words, expected);
    assert_eq!(decode_g1(&words).unwrap().to_vec(), g1_inf);
    // Any Z = 0 is infinity, whatever X and Y say.
    let g = G1Projective::generator().into_affine();
    let odd = g1_projective_words(&g.x, &g.y, &Fq::from(0u64));
    assert_eq!(decode_g1(&odd).unwrap().to_vec(), g1_inf);
    let g2_inf = uncompressed(&G2Affine::identity());
    assert_eq!(
        decode_g2(&encode_g2(&g2_inf).unwrap()).unwrap().to_vec(),
        g2_inf
    );
}

#[test]
fn malformed_inputs_are_refused_with_typed_errors() {
    let g = uncompressed(&G1Projective::generator().into_affine());
    let mut compressed = g.clone();
    compressed[0] |= 0x80;
    assert_eq!(encode_g1(&compressed), Err(CodecError::BadFlags));
    assert!(matches!(
        encode_g1(&g[..95]),
        Err(CodecError::BadLength { .. })
    ));
    let mut big = g.clone();
    big[..48].copy_from_slice(&[0x1f; 48]); // x ≥ p
    assert_eq!(encode_g1(&big), Err(CodecError::NotReduced));
    // x = p exactly, the boundary of the comparison.
    let p_be: Vec<u8> = tollgate_abi::P_WORDS
        .iter()
        .rev()
        .flat_map(|w| w.to_be_bytes())
        .collect();
    big[..48].copy_from_slice(&p_be);
    assert_eq!(encode_g1(&big), Err(CodecError::NotReduced));
    let mut words = encode_g1(&g).unwrap();
    words[..12].copy_from_slice(&tollgate_abi::P_WORDS); // device word string = p: not reduced
    assert_eq!(decode_g1(&words), Err(CodecError::NotReduced));
    assert_eq!(
        encode_scalar(0x1234_5678_9abc_def0),
        [0x9abc_def0, 0x1234_5678]
    );
}

#[test]
fn blst_points_encode_by_their_limbs_as_by_their_bytes() {
    use blst::{blst_p1_affine, blst_p2_affine, min_pk};
    for seed in 1..=20u8 {
        let sk = min_pk::SecretKey::key_gen(&[seed; 32], &[]).unwrap();
        let (pk, sig) = (sk.sk_to_pk(), sk.sign(&[seed], b"codec", &[]));
        assert_eq!(
            encode_g1_point((&pk).into()),
            encode_g1(&pk.serialize()).unwrap()
        );
        assert_eq!(
            encode_g2_point((&sig).into()),
            encode_g2(&sig.serialize()).unwrap()
        );
    }
    // blst's affine infinity is all zeros.
    let mut infinity_g1 = [0u8; 96];
    infinity_g1[0] = 0x40;
    let mut infinity_g2 = [0u8; 192];
    infinity_g2[0] = 0x40;
    assert_eq!(
        encode_g1_point(&blst_p1_affine::default()),
        encode_g1(&infinity_g1).unwrap()
    );
    assert_eq!(
        encode_g2_point(&blst_p2_affine::default()),
        encode_g2(&infinity_g2).unwrap()
    );
}

/// `points` as device words, each with a random Z (infinity: Z = 0, X and Y random).
fn g1_stage_words(points: &[G1Affine], rng: &mut StdRng) -> Vec<u32> {
    points
        .iter()
        .flat_map(|p| match p.xy() {
            Some((x, y)) => g1_projective_words(&x, &y, &Fq::rand(rng)),
            None => g1_projective_words(&Fq::rand(rng), &Fq::rand(rng), &Fq::from(0u64)),
        })
        .collect()
}

fn g2_stage_words(points: &[G2Affine], rng: &mut StdRng) -> Vec<u32> {
    points
        .iter()
        .flat_map(|p| {
            let (x, y, z) = match p.xy() {
                Some((x, y)) => (x, y, Fq2::rand(rng)),
                None => (Fq2::rand(rng), Fq2::rand(rng), Fq2::from(0u64)),
            };
            [fq2_words(&(x * z)), fq2_words(&(y * z)), fq2_words(&z)].concat()
        })
        .collect()
}

/// Random points with infinity first, inside and last; the same point twice.
fn stage_points<P: CurveGroup + UniformRand>(n: usize, rng: &mut StdRng) -> Vec<P::Affine> {
    let mut points: Vec<P::Affine> = (0..n).map(|_| P::rand(rng).into_affine()).collect();
    for at in [0, n / 2, n - 1] {
        points[at] = P::Affine::zero();
    }
    points[1] = points[2];
    points
}

#[test]
fn batch_normalisation_equals_the_per_point_path() {
    use blst::{blst_p1_affine, blst_p1_deserialize, blst_p2_deserialize, BLST_ERROR};
    let mut rng = StdRng::seed_from_u64(6);
    // Per point: one inversion, bytes, blst's deserialiser (which checks the curve).
    let g1_one = |w: &[u32]| {
        let mut p = blst_p1_affine::default();
        let bytes = decode_g1(w).unwrap();
        // SAFETY: 96 bytes in, a valid output.
        let e = unsafe { blst_p1_deserialize(&mut p, bytes.as_ptr()) };
        assert_eq!(e, BLST_ERROR::BLST_SUCCESS);
        p
    };
    let g2_one = |w: &[u32]| {
        let mut p = blst_p2_affine::default();
        let bytes = decode_g2(w).unwrap();
        // SAFETY: 192 bytes in, a valid output.
        let e = unsafe { blst_p2_deserialize(&mut p, bytes.as_ptr()) };
        assert_eq!(e, BLST_ERROR::BLST_SUCCESS);
        p
    };
    for n in [1, 2, 9, 40] {
        let g1 = if n < 4 {
            (0..n)
                .map(|_| G1Projective::rand(&mut rng).into_affine())
                .collect()
        } else {
            stage_points::<G1Projective>(n, &mut rng)
        };
        let words = g1_stage_words(&g1, &mut rng);
        let per_point: Vec<_> = words.chunks_exact(G1_WORDS).map(g1_one).collect();
        assert_eq!(g1_affine_points(&words).unwrap(), per_point, "G1, {n}");
        let g2 = if n < 4 {
            (0..n)
                .map(|_| G2Projective::rand(&mut rng).into_affine())
                .collect()
        } else {
            stage_points::<G2Projective>(n, &mut rng)
        };
        let words = g2_stage_words(&g2, &mut rng);
        let per_point: Vec<_> = words.chunks_exact(G2_WORDS).map(g2_one).collect();
        assert_eq!(g2_affine_points(&words).unwrap(), per_point, "G2, {n}");
    }
    // A single infinity, and no points at all.
    let inf = g1_stage_words(&[G1Affine::zero()], &mut rng);
    assert_eq!(
        g1_affine_points(&inf).unwrap(),
        vec![blst_p1_affine::default()]
    );
    assert!(g2_affine_points(&[]).unwrap().is_empty());
}

#[test]
fn batch_normalisation_refuses_device_faults() {
    let mut rng = StdRng::seed_from_u64(7);
    let points = stage_points::<G1Projective>(8, &mut rng);
    let good = g1_stage_words(&points, &mut rng);
    // A flipped bit of one coordinate: off the curve.
    let mut flipped = good.clone();
    flipped[G1_WORDS * 3 + 5] ^= 1 << 7;
    assert_eq!(g1_affine_points(&flipped), Err(CodecError::NotOnCurve));
    // (0 : 0 : Z) is no point (blst's check alone would read it as infinity).
    let mut zeros = good.clone();
    zeros[G1_WORDS * 3..G1_WORDS * 3 + 2 * FP_WORDS].fill(0);
    assert_eq!(g1_affine_points(&zeros), Err(CodecError::NotOnCurve));
    // A word string that is not a field element, and a ragged stage.
    let mut unreduced = good.clone();
    unreduced[..FP_WORDS].copy_from_slice(&tollgate_abi::P_WORDS);
    assert_eq!(g1_affine_points(&unreduced), Err(CodecError::NotReduced));
    assert!(matches!(
        g1_affine_points(&good[1..]),
        Err(CodecError::BadLength { .. })
    ));
    let g2 = stage_points::<G2Projective>(8, &mut rng);
    let mut words = g2_stage_words(&g2, &mut rng);
    words[G2_WORDS + 30] ^= 1;
    assert_eq!(g2_affine_points(&words), Err(CodecError::NotOnCurve));
}

#[test]
fn compressed_signatures_give_x_and_the_sign_picks_arkworks_y() {
    use blst::min_pk;
    let mut rng = StdRng::seed_from_u64(5);
    for _ in 0..16 {
        let point = G2Projective::rand(&mut rng).into_affine();
        let mut bytes = Vec::new();
        point.serialize_compressed(&mut bytes).unwrap();
        let (x, largest) = compressed_g2_x(&bytes).unwrap();
        assert_eq!(
            x,
            [ark_mont_words(&point.x.c0), ark_mont_words(&point.x.c1)].concat()
        );
        // Either root in, arkworks' point out (as blst reads its bytes).
        let want = *<&blst_p2_affine>::from(
            &min_pk::Signature::deserialize(&uncompressed(&point)).unwrap(),
        );
        for y in [point.y, -point.y] {
            let y = [ark_mont_words(&y.c0), ark_mont_words(&y.c1)].concat();
            assert_eq!(g2_affine_with_sign(&x, &y, largest).unwrap(), want);
        }
        // A root the device got wrong is caught.
        let y = fq2_words(&(point.y + Fq2::ONE));
        assert_eq!(
            g2_affine_with_sign(&x, &y, largest),
            Err(CodecError::NotOnCurve)
        );
    }
    // The compressed identity (0xc0, then zeros) is told apart from every other encoding.
    let mut identity = [0u8; G2_COMPRESSED];
    identity[0] = 0xc0;
    assert!(is_compressed_identity(&identity));
    for bad in [&identity[..95], &[0xe0; 96][..], &[0x80; 96][..]] {
        assert!(!is_compressed_identity(bad));
    }
    let mut not_zero = identity;
    not_zero[95] = 1;
    assert!(!is_compressed_identity(&not_zero));
    // Refused before the device: not compressed, infinity, x not below p, wrong length.
    let mut bytes = Vec::new();
    G2Affine::generator()
        .serialize_compressed(&mut bytes)
        .unwrap();
    let mut uncompressed_flag = bytes.clone();
    uncompressed_flag[0] &= 0x7F;
    let mut infinity = bytes.clone();
    infinity[0] |= 0x40;
    let mut x_is_p = bytes.clone();
    let p: Vec<u8> = P_BE.to_vec();
    x_is_p[48..].copy_from_slice(&p);
    for bad in [uncompressed_flag, infinity] {
        assert_eq!(compressed_g2_x(&bad), Err(CodecError::BadFlags));
    }
    assert_eq!(compressed_g2_x(&x_is_p), Err(CodecError::NotReduced));
    assert!(matches!(
        compressed_g2_x(&bytes[..95]),
        Err(CodecError::BadLength { .. })
    ));
}

#[test]
fn fp12_words_are_blsts_limbs() {
    let words: Vec<u32> = (0..12u32)
        .flat_map(|i| ark_mont_words(&Fq::from(i + 2)))
        .collect();
    let value = decode_fp12(&words).unwrap();
    assert_eq!(
        value.fp6[1].fp2[2].fp[1],
        Fp::from_mont_words(&words[11 * 12..]).unwrap().blst()
    );
    assert_eq!(
        value.fp6[0].fp2[0].fp[0],
        Fp::from_mont_words(&words[..12]).unwrap().blst()
    );
    assert!(decode_fp12(&words[..12]).is_err());
}

/// p, big-endian.
const P_BE: [u8; 48] = {
    let mut out = [0u8; 48];
    let mut i = 0;
    while i < 12 {
        let w = tollgate_abi::P_WORDS[11 - i].to_be_bytes();
        out[4 * i] = w[0];
        out[4 * i + 1] = w[1];
        out[4 * i + 2] = w[2];
        out[4 * i + 3] = w[3];
        i += 1;
    }
    out
};
