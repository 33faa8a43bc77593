//! hash_to_field (RFC 9380 §5.2, two elements of Fp2, m = 2, L = 64) for hashing to G2: the
//! host's share of the device's HashToG2 (the measurement: SHA-256 is cheap on the
//! CPU and costly in the curve engine). expand_message_xmd is blst's; each 64-byte block is
//! reduced mod p as hi·2²⁵⁶ + lo with both halves below p, in blst's field arithmetic, whose
//! Montgomery form (R = 2³⁸⁴) is the device's: the limbs are the item's words.

use std::sync::LazyLock;

use blst::{blst_expand_message_xmd, blst_fp, blst_fp_add, blst_fp_from_bendian, blst_fp_mul};
use tollgate_abi::{FP2_WORDS, FP_BYTES, FP_WORDS};

/// Bytes of one field element's block (L of RFC 9380 for p and k = 128).
const BLOCK: usize = 64;
/// Fp elements per item: u0, u1 ∈ Fp2.
const ELEMENTS: usize = 4;
/// Words of one HashToG2 item.
pub const U_WORDS: usize = 2 * FP2_WORDS;
const _: () = assert!(U_WORDS == ELEMENTS * FP_WORDS);

/// An integer below 2²⁵⁶ (< p), big-endian, as a field element.
fn small(half: &[u8]) -> blst_fp {
    let mut bytes = [0u8; FP_BYTES];
    bytes[FP_BYTES - half.len()..].copy_from_slice(half);
    let mut fp = blst_fp::default();
    // SAFETY: `bytes` holds the 48 bytes blst reads; the value is below p.
    unsafe { blst_fp_from_bendian(&mut fp, bytes.as_ptr()) };
    fp
}

/// 2²⁵⁶ as a field element, converted once rather than for every block of every item.
static TWO_256: LazyLock<blst_fp> = LazyLock::new(|| {
    let mut two_256 = [0u8; BLOCK / 2 + 1];
    two_256[0] = 1;
    small(&two_256)
});

/// A 64-byte big-endian block mod p.
fn reduce(block: &[u8]) -> blst_fp {
    let (hi, lo) = block.split_at(BLOCK / 2);
    let (mut shifted, mut sum) = (blst_fp::default(), blst_fp::default());
    // SAFETY: valid field elements and outputs.
    unsafe {
        blst_fp_mul(&mut shifted, &small(hi), &*TWO_256);
        blst_fp_add(&mut sum, &shifted, &small(lo));
    }
    sum
}

/// hash_to_field(`message`, 2) under `dst`: u0.c0, u0.c1, u1.c0, u1.c1 as the device's
/// Montgomery words (HashToG2's item).
pub fn hash_to_field(message: &[u8], dst: &[u8]) -> Vec<u32> {
    let mut bytes = [0u8; ELEMENTS * BLOCK];
    // SAFETY: pointers and lengths of live slices.
    unsafe {
        blst_expand_message_xmd(
            bytes.as_mut_ptr(),
            bytes.len(),
            message.as_ptr(),
            message.len(),
            dst.as_ptr(),
            dst.len(),
        )
    };
    bytes
        .chunks_exact(BLOCK)
        .flat_map(|block| reduce(block).l)
        .flat_map(|limb| [limb as u32, (limb >> 32) as u32])
        .collect()
}

#[cfg(test)]
mod tests {
    //! Against blst's whole hash_to_G2: mapping these u0, u1 with blst's map_to_g2 must give
    //! the point blst hashes the message to.

    use blst::{
        blst_fp2, blst_hash_to_g2, blst_map_to_g2, blst_p2, blst_p2_affine, blst_p2_to_affine,
    };

    use super::*;

    fn element(words: &[u32]) -> blst_fp {
        let mut fp = blst_fp::default();
        for (limb, pair) in fp.l.iter_mut().zip(words.chunks_exact(2)) {
            *limb = u64::from(pair[0]) | u64::from(pair[1]) << 32;
        }
        fp
    }

    #[test]
    fn mapped_u_is_blsts_hash_to_g2() {
        let dsts: [&[u8]; 3] = [
            b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_",
            b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_",
            b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_AUG_",
        ];
        for dst in dsts {
            for message in [&b""[..], b"abc", &[0xff; 200]] {
                let u = hash_to_field(message, dst);
                assert_eq!(u.len(), U_WORDS);
                let fp2 = |i: usize| blst_fp2 {
                    fp: [
                        element(&u[2 * i * FP_WORDS..(2 * i + 1) * FP_WORDS]),
                        element(&u[(2 * i + 1) * FP_WORDS..(2 * i + 2) * FP_WORDS]),
                    ],
                };
                let (mut mapped, mut hashed) = (blst_p2::default(), blst_p2::default());
                let (mut a, mut b) = (blst_p2_affine::default(), blst_p2_affine::default());
                unsafe {
                    blst_map_to_g2(&mut mapped, &fp2(0), &fp2(1));
                    blst_hash_to_g2(
                        &mut hashed,
                        message.as_ptr(),
                        message.len(),
                        dst.as_ptr(),
                        dst.len(),
                        [].as_ptr(),
                        0,
                    );
                    blst_p2_to_affine(&mut a, &mapped);
                    blst_p2_to_affine(&mut b, &hashed);
                }
                assert_eq!(a, b, "{dst:?} {message:?}");
            }
        }
    }
}
