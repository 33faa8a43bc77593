//! hash_to_field (RFC 9380 §5.2, two elements of Fp2, m = 2, L = 64) for hashing to G2: the
//! host's share of the device's HashToG2 (the measurement: SHA-256 is cheap on the
//! CPU and costly in the curve engine). expand_message_xmd is blst's; each 64-byte block is
//! reduced mod p as hi·2³⁸⁴ + lo ([`reduce`]) in blst's field arithmetic, whose Montgomery form
//! (R = 2³⁸⁴) is the device's: the limbs are the item's words.

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

/// Bytes of the block's low part: one field element's width (an integer below 2³⁸⁴).
const LOW: usize = FP_BYTES;

/// R³ mod p as blst's limbs (R = 2³⁸⁴): blst_fp_mul of the plain limbs of an integer h < p by
/// it gives h·R³·R⁻¹ = (h·2³⁸⁴)·R, the Montgomery form of h·2³⁸⁴, in one multiplication.
/// Made once: (2¹²⁸)⁶ = 2⁷⁶⁸ = R², in Montgomery form R³.
static R_CUBED: LazyLock<blst_fp> = LazyLock::new(|| {
    let mut two_128 = [0u8; FP_BYTES];
    two_128[FP_BYTES - 17] = 1;
    let mut base = blst_fp::default();
    // SAFETY: `two_128` holds the 48 bytes blst reads; valid field elements in and out.
    unsafe { blst_fp_from_bendian(&mut base, two_128.as_ptr()) };
    let mut power = base;
    for _ in 1..6 {
        let previous = power;
        // SAFETY: valid field elements in and out.
        unsafe { blst_fp_mul(&mut power, &previous, &base) };
    }
    power
});

/// A 64-byte big-endian block mod p, as hi·2³⁸⁴ + lo with hi its top 16 bytes and lo the other
/// 48: two Montgomery multiplications (blst's conversion of lo, hi by [`R_CUBED`]), where
/// converting two 32-byte halves and shifting one by 2²⁵⁶ took three.
fn reduce(block: &[u8]) -> blst_fp {
    let (hi, lo) = block.split_at(BLOCK - LOW);
    let mut hi_limbs = blst_fp::default();
    for (limb, bytes) in hi_limbs.l.iter_mut().zip(hi.rchunks_exact(8)) {
        *limb = u64::from_be_bytes(bytes.try_into().expect("8 bytes"));
    }
    let (mut shifted, mut low, mut sum) =
        (blst_fp::default(), blst_fp::default(), blst_fp::default());
    // SAFETY: valid field elements and outputs; `lo` holds the 48 bytes blst reads. blst's
    // conversion is a Montgomery multiplication by R² mod p, exact for any input below 2³⁸⁴
    // (the product stays below p·R), so lo ≥ p is reduced too.
    unsafe {
        blst_fp_mul(&mut shifted, &hi_limbs, &*R_CUBED);
        blst_fp_from_bendian(&mut low, lo.as_ptr());
        blst_fp_add(&mut sum, &shifted, &low);
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
            // Random messages too: their blocks' low 48 bytes are mostly above p.
            let random: Vec<[u8; 32]> = (0..16).map(|_| rand::random()).collect();
            let fixed = [&b""[..], b"abc", &[0xff; 200]];
            for message in fixed.into_iter().chain(random.iter().map(|m| &m[..])) {
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
