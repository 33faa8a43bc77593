//! blst as the independent reference of the tests that check hash to G2 (on the model here,
//! on the Verilated core in tollgate-hdl), in one place; behind the `blst-reference` feature,
//! which only dev-dependencies enable. Points are returned as arkworks values so that the
//! tests compare them with the model's outputs directly.

use std::path::PathBuf;

use ark_bls12_381::{Fq, Fq2, G2Affine};
use ark_ff::{BigInteger, PrimeField};

/// The min_pk schemes' DSTs (basic, message augmentation, proof of possession).
pub const DSTS: [&[u8]; 3] = [
    b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_",
    b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_AUG_",
    b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_",
];

/// The DST of the suite's hash_to_G2 vectors (RFC 9380 appendix J.10.1).
pub const VECTOR_DST: &[u8] = b"QUUX-V01-CS02-with-BLS12381G2_XMD:SHA-256_SSWU_RO_";

/// The Ethereum consensus-spec BLS test vectors: `TOLLGATE_VECTORS_DIR`, else the workspace's
/// `../shared/vectors/bls12-381-tests`.
pub fn vectors_dir() -> PathBuf {
    std::env::var_os("TOLLGATE_VECTORS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../../shared/vectors/bls12-381-tests")
        })
}

fn fq_to_blst(x: &Fq) -> blst::blst_fp {
    let mut out = blst::blst_fp::default();
    let bytes = x.into_bigint().to_bytes_be();
    // SAFETY: `bytes` is 48 bytes, `out` a valid blst_fp.
    unsafe { blst::blst_fp_from_bendian(&mut out, bytes.as_ptr()) };
    out
}

fn fq2_to_blst(u: &Fq2) -> blst::blst_fp2 {
    blst::blst_fp2 {
        fp: [fq_to_blst(&u.c0), fq_to_blst(&u.c1)],
    }
}

fn from_blst(p: &blst::blst_p2) -> G2Affine {
    let mut a = blst::blst_p2_affine::default();
    let mut bytes = [0u8; 192];
    // SAFETY: valid pointers to initialised blst values and a 192-byte buffer.
    unsafe {
        blst::blst_p2_to_affine(&mut a, p);
        blst::blst_p2_affine_serialize(bytes.as_mut_ptr(), &a);
    }
    if bytes[0] & 0x40 != 0 {
        return G2Affine::identity();
    }
    let fq = |i: usize| Fq::from_be_bytes_mod_order(&bytes[48 * i..48 * (i + 1)]);
    // Serialised as x.c1, x.c0, y.c1, y.c0.
    G2Affine::new(Fq2::new(fq(1), fq(0)), Fq2::new(fq(3), fq(2)))
}

/// blst's hash_to_G2 of `msg` under `dst`.
pub fn hash_to_g2(msg: &[u8], dst: &[u8]) -> G2Affine {
    let mut p = blst::blst_p2::default();
    // SAFETY: pointers and lengths of live slices; no augmentation.
    unsafe {
        blst::blst_hash_to_g2(
            &mut p,
            msg.as_ptr(),
            msg.len(),
            dst.as_ptr(),
            dst.len(),
            std::ptr::null(),
            0,
        )
    };
    from_blst(&p)
}

/// blst's clear_cofactor(map(u0) + map(u1)), or clear_cofactor(map(u0)) without u1.
pub fn map_to_g2(u0: &Fq2, u1: Option<&Fq2>) -> G2Affine {
    let mut p = blst::blst_p2::default();
    let u0 = fq2_to_blst(u0);
    let u1 = u1.map(fq2_to_blst);
    let u1_ptr = u1.as_ref().map_or(std::ptr::null(), |u| u as *const _);
    // SAFETY: valid pointers; blst accepts a null second element.
    unsafe { blst::blst_map_to_g2(&mut p, &u0, u1_ptr) };
    from_blst(&p)
}

/// hash_to_field(msg, 2) of RFC 9380 §5.2 (the host's part): expand_message_xmd by blst,
/// each 64-byte block reduced mod p.
pub fn hash_to_field(msg: &[u8], dst: &[u8]) -> [Fq2; 2] {
    let mut bytes = [0u8; 256];
    // SAFETY: pointers and lengths of live slices.
    unsafe {
        blst::blst_expand_message_xmd(
            bytes.as_mut_ptr(),
            bytes.len(),
            msg.as_ptr(),
            msg.len(),
            dst.as_ptr(),
            dst.len(),
        )
    };
    let e = |j: usize| Fq::from_be_bytes_mod_order(&bytes[64 * j..64 * (j + 1)]);
    [Fq2::new(e(0), e(1)), Fq2::new(e(2), e(3))]
}
